#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "events/observed_event_bus.hpp"
#include "events/topology.hpp"
#include "transport/amqp/amqp_url.hpp"

namespace shopflow {

struct AmqpBusOptions {
  /// Prefix of the connection_name client property ("shopflow publisher", "shopflow
  /// orders.events.queue #1", ...), shown by `rabbitmqctl list_connections client_properties`.
  std::string connection_name = "shopflow";
  /// AMQP heartbeat: a broker that stays silent for two intervals is considered gone.
  std::chrono::seconds heartbeat{10};
  /// TCP connect plus AMQP handshake.
  std::chrono::milliseconds connect_timeout{5000};
  /// Deadline of one synchronous method (declare, ...) and of the publisher confirms of one
  /// publish round; past it the connection is dropped and the publish fails.
  std::chrono::milliseconds operation_timeout{30000};
  /// Reconnection backoff: initial_delay * 2^n, capped at max_delay, scaled by a random factor
  /// in [1 - jitter, 1 + jitter].
  std::chrono::milliseconds reconnect_initial_delay{100};
  std::chrono::milliseconds reconnect_max_delay{10000};
  double reconnect_jitter = 0.2;
  /// Longest time an idle transport thread blocks before it checks for Stop() (and, for the
  /// publisher, services heartbeats and notices a dropped connection). Bounds Stop()'s latency.
  std::chrono::milliseconds poll_interval{100};
  /// Consumer acks are batched (basic.ack multiple=true): sent when this many are pending, when
  /// the oldest waited this long, or as soon as no further delivery is already buffered.
  int max_ack_batch = 64;
  std::chrono::milliseconds max_ack_delay{50};
  /// Seed of the jitter generators (retry expirations, reconnection backoff); random when empty.
  std::optional<uint64_t> seed;
};

/// What happened on the bus since construction (monotonic counts).
struct AmqpBusCounters {
  uint64_t published = 0;         // messages confirmed by the broker (Publish and SendToQueue)
  uint64_t unroutable = 0;        // published events no queue was bound for (basic.return)
  uint64_t delivered = 0;         // handler invocations
  uint64_t acked = 0;             // deliveries the handler acknowledged
  uint64_t ack_frames = 0;        // basic.ack frames sent (multiple=true: each settles a batch)
  uint64_t retried = 0;           // copies confirmed on a retry tier
  uint64_t dead_lettered = 0;     // copies confirmed on the dead-letter exchange
  uint64_t dropped = 0;           // failures in a dead-letter queue given up (logged)
  uint64_t connections_lost = 0;  // connections dropped after having been established
};

/// The RabbitMQ event bus (EVENTS.md) on rabbitmq-c.
///
/// Topology: every connection declares the whole `topology` (idempotently) when it opens, so
/// the broker's exchanges, queues (with TTL and dead-letter arguments) and bindings always
/// match the description the embedded bus routes by, also after a broker reset.
///
/// Threads and connections (rabbitmq-c connections are not thread-safe; none is shared):
/// - one publisher thread with its own connection and one confirm-mode channel, for Publish
///   and SendToQueue. Callers hand it their batch and wait; it pipelines: it publishes every
///   message waiting (of all callers), then collects the confirms (basic.ack multiple=true).
/// - per subscription, `concurrency` consumer threads, each with its own connection, one
///   channel consuming with basic.qos(prefetch) and manual acks, and one confirm-mode channel
///   for its retries and dead letters. Handlers run on these threads, never under a lock.
///
/// Publishing: persistent, mandatory, with properties mirroring the envelope. Publish returns
/// once every message is confirmed. A returned (unroutable) event is not an error: nobody
/// consumes it (e.g. NOTIFICATION_*), which is counted as `unroutable`. A nack, a missing
/// confirm, a broker blocking publishers (resource alarm) or a lost connection → kUnavailable
/// (callers re-publish; consumers dedupe). While the publisher is disconnected, Publish fails
/// at once with kUnavailable.
///
/// Consuming, retries and dead letters (all broker-side; no message is held in process):
/// - Delivery::attempt is the x-attempts header (1 when absent); Delivery::routing_key the
///   x-original-routing-key header when present, else the delivery's routing key.
/// - kAck: acknowledged (batched: see AmqpBusOptions::max_ack_batch).
/// - kRetry (or an exception) on delivery n < max_attempts: a copy (same body and properties,
///   retry headers: x-attempts n+1, x-first-failure, x-last-failure, x-failure-reason,
///   x-original-queue, x-original-routing-key) is published to the retry exchange with the
///   routing key of tier n, whose TTL is DelayAfter(n) and which dead-letters back into the
///   module queue; the copy's `expiration` draws the jittered delay in
///   [(1 - jitter) * DelayAfter(n), DelayAfter(n)] (a message TTL can only shorten the queue's).
///   Once it is confirmed the original is acknowledged.
/// - kRetry on the last attempt, or kDeadLetter: a copy with dead_letter_headers goes to the
///   dead-letter exchange with the module queue's name as routing key (→ its DLQ), confirmed,
///   then the original is acknowledged. A body that is not an envelope goes there directly.
/// - In a dead-letter queue, Delivery::attempt counts the DLQ consumer's own attempts
///   (x-dlq-attempts; x-attempts keeps the module's count): kRetry re-queues the message at the
///   DLQ's tail (no delay), and after max_attempts, or on kDeadLetter, it is dropped with a log
///   line (no dead-letter loops), as the embedded bus does.
/// - If a copy cannot be confirmed, the consumer's connection is dropped and the broker
///   redelivers the original (same attempt) after reconnection.
///
/// Resilience: every thread reconnects by itself with exponential backoff and jitter,
/// re-declares the topology and re-subscribes. Deliveries unacknowledged when a connection
/// drops are redelivered by the broker (at least once; consumers dedupe by messageId).
///
/// Thread-safety: all methods may be called from any thread, including Publish, SendToQueue and
/// Subscribe from inside a handler; Stop() (and destruction) must not be called from a handler.
/// Lifetime: `clock` must outlive the bus; handlers are destroyed by Stop() at the latest.
class AmqpEventBus final : public EventBus {
 public:
  /// Connects nothing yet (see Start). `topology` is declared as given: DefaultTopology(retry)
  /// in production; its RetryPolicy drives the retries.
  AmqpEventBus(AmqpUrl url, Topology topology, const Clock& clock, AmqpBusOptions options = {});
  /// Calls Stop().
  ~AmqpEventBus() override;

  AmqpEventBus(const AmqpEventBus&) = delete;
  AmqpEventBus& operator=(const AmqpEventBus&) = delete;

  /// Connects the publisher and declares the topology on the calling thread, then starts the
  /// publisher thread and the consumers of the subscriptions made so far. If the broker cannot
  /// be reached or the declaration fails, returns the error (kUnavailable, or kInternal for a
  /// topology the broker refuses, e.g. a queue declared before with other arguments) and
  /// starts nothing: Start may be called again. Idempotent once started; kUnavailable after
  /// Stop().
  Result<void> Start() override;
  /// Stops the consumers (each finishes the handler it runs, flushes its acks and closes its
  /// connection; prefetched deliveries go back to their queue) and the publisher (publishes in
  /// flight finish, queued ones fail with kUnavailable), and joins every thread. Takes at most
  /// about poll_interval plus the longest handler in flight. Idempotent; the bus cannot be
  /// restarted.
  void Stop() override;

  /// Validates the whole batch (unknown eventType → kValidationFailed, nothing published), then
  /// publishes it to the events exchange and waits for every confirm. kUnavailable before
  /// Start(), after Stop(), while the publisher is disconnected, or on a nack, timeout or
  /// connection loss (some messages may have been accepted: re-publish the batch).
  Result<void> Publish(std::span<const Envelope> batch) override;
  /// Publish, pipelined: the batch is queued for the publisher thread, which sends it at once,
  /// also while earlier batches still wait for their confirms, and calls `done` on that thread
  /// when its own confirms are in (or with the error Publish would have returned).
  void PublishAsync(std::span<const Envelope> batch, PublishDone done) override;

  /// Publishes `envelope` through the default exchange straight onto `queue`, confirmed, as a
  /// first delivery there (x-attempts and x-first-failure are dropped unless `queue` is a
  /// dead-letter queue; x-original-routing-key defaults to the eventType's routing key).
  /// Unknown queue → kValidationFailed; kUnavailable as for Publish, or if the queue does not
  /// exist on the broker.
  Result<void> SendToQueue(std::string_view queue, const Envelope& envelope,
                           std::vector<std::pair<std::string, std::string>> headers) override;

  /// Adds `options.concurrency` competing consumers of `queue` (each its own thread, connection
  /// and basic.qos(options.prefetch), clamped to 1..65535) running `handler`, which must be
  /// thread-safe when concurrency > 1. They start now if the bus is started, else at Start();
  /// after Stop() the subscription is ignored. Throws std::invalid_argument for a queue not in
  /// the topology, an empty handler or concurrency < 1 (programming errors).
  void Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) override;
  /// The same with a batch handler: a consumer hands it the delivery it waited for plus those
  /// the connection already received (up to options.max_batch >= 1, else
  /// std::invalid_argument), then settles each in delivery order.
  void SubscribeBatch(std::string queue, BatchEventHandler handler,
                      SubscribeOptions options) override;

  /// {"amqp", connected, detail}: connected while started and the publisher and every consumer
  /// have an open connection; detail is the latest connection error of a disconnected one (or
  /// "not started" / "stopped").
  BusStatus Status() const override;

  AmqpBusCounters Counters() const;

  /// Watching the rest of a deployment: while `wanted()` is true (polled every poll_interval,
  /// e.g. "a dashboard client is connected"), a tap connection consumes a private queue (server
  /// named, exclusive, auto-deleted, bounded: the oldest copies are dropped, never blocking
  /// anyone) bound to every publication, retry and dead letter on the broker, and reports those
  /// of OTHER bus instances to `observer`: a publication as OnPublished, a retry copy as
  /// OnHandled(Retry) of the failed attempt, a dead-letter copy as OnHandled(DeadLetter).
  /// Deliveries other processes acknowledge are not visible on the broker and are not
  /// reported. The queue goes away some seconds after `wanted()` turns false, so an unwatched
  /// process costs the broker nothing. Call before Start(); `observer` must outlive the bus.
  void SetTap(EventObserver* observer, std::function<bool()> wanted);
  /// This instance's id, carried by everything it puts on the broker (x-shopflow-origin).
  const std::string& instance_id() const { return instance_id_; }

 private:
  class Link;
  class Publisher;
  class Consumer;
  class Tap;
  struct Subscription {
    std::string queue;
    std::shared_ptr<const BatchEventHandler> handler;
    int concurrency;
    int prefetch;
    size_t max_batch;
  };
  void AddSubscription(Subscription subscription);
  struct AtomicCounters {
    std::atomic<uint64_t> published{0}, unroutable{0}, delivered{0}, acked{0}, ack_frames{0},
        retried{0}, dead_lettered{0}, dropped{0}, connections_lost{0};
  };

  /// Waits up to `d` or until Stop(); returns false when stopping.
  bool WaitUnlessStopping(std::chrono::milliseconds d);
  bool stopping() const { return stopping_flag_.load(std::memory_order_acquire); }
  std::shared_ptr<Publisher> PublisherIfStarted(Result<void>& error) const;
  void StartConsumersLocked(const Subscription& subscription);
  uint64_t NextSeed();

  const AmqpUrl url_;
  const Topology topology_;
  const Clock& clock_;
  const AmqpBusOptions options_;
  AtomicCounters counters_;

  std::mutex lifecycle_mu_;  // serializes Start() and Stop(); never taken while mu_ is held
  mutable std::mutex mu_;    // guards what follows
  std::condition_variable stop_cv_;
  bool started_ = false;
  bool stopping_ = false;
  std::atomic<bool> stopping_flag_{false};
  std::vector<Subscription> subscriptions_;
  std::shared_ptr<Publisher> publisher_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  uint64_t seed_state_;
  const std::string instance_id_;
  std::unique_ptr<Tap> tap_;  // set before Start(), joined by Stop()
};

}  // namespace shopflow
