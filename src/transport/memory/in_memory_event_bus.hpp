#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "events/topology.hpp"

namespace shopflow {

struct InMemoryBusOptions {
  /// Seed of the retry-jitter generator; a random seed when empty. Fix it for reproducible tests.
  std::optional<uint64_t> seed;
  /// Longest real-time wait of the timer thread between two checks of the injected clock for
  /// due redeliveries. It bounds how late a redelivery is noticed after a FakeClock is advanced
  /// (a FakeClock notifies nobody). The timer sleeps without timeout when nothing is scheduled.
  std::chrono::milliseconds timer_poll_interval{5};
  /// Publish waits while a queue it routes to holds this many ready messages and has running
  /// consumers: a module slower than the rest then slows the outbox relay (the events wait,
  /// durable, in the outbox) instead of filling memory. Queues without consumers never make it
  /// wait (they keep what they get). 0: no bound.
  size_t max_queue_depth = 10'000;
};

/// What happened on the bus since construction (monotonic counts).
struct InMemoryBusCounters {
  uint64_t published = 0;      // envelopes accepted by Publish (one per envelope, not per copy)
  uint64_t delivered = 0;      // handler invocations
  uint64_t acked = 0;          // deliveries settled with kAck
  uint64_t retried = 0;        // redeliveries scheduled after kRetry or an exception
  uint64_t dead_lettered = 0;  // messages moved to their module's dead-letter queue
  uint64_t unroutable = 0;     // envelopes published that no queue was bound for (dropped)
  uint64_t dropped = 0;        // failed messages with nowhere to go (e.g. failed in a DLQ)
};

/// A redelivery waiting for the injected clock to reach `due`.
struct ScheduledDelivery {
  TimePoint due;
  Delivery delivery;
};

/// The embedded event bus: routes like RabbitMQ by `Topology` (events exchange, exchange-to-
/// exchange bindings, dead-letter exchange) and delivers at least once to each bound queue, with
/// retry after jittered exponential backoff (timed by the injected Clock) and dead letters.
///
/// Semantics:
/// - Every queue of the topology exists from construction and keeps its messages until they are
///   consumed (a queue without consumer buffers them). A published envelope no queue is bound for
///   is dropped and counted as unroutable.
/// - Each subscription runs `options.concurrency` worker threads that compete for the queue's
///   messages (FIFO among messages ready at the same time). `prefetch` is ignored. A batch
///   subscription's worker takes up to `max_batch` of the messages ready at once.
/// - Handlers are never called while the bus holds a lock: they may Publish or SendToQueue.
/// - kRetry (or an exception) redelivers the message after RetryPolicy::DelayAfter(attempt)
///   scaled by a random factor in [1 - jitter, 1 + jitter], with `attempt` and
///   `metadata.retry_count` incremented; after `max_attempts` deliveries, and at once on
///   kDeadLetter, the message goes to the dead-letter queue(s) routed from the dead-letter
///   exchange with the module queue's name, carrying dead_letter_headers. Deliveries keep the
///   routing key the envelope was published with. A message that fails for good in a
///   dead-letter queue is dropped with a log line (no dead-letter loops).
/// - Nothing is persisted: messages still queued or scheduled at Stop() (or destruction) are
///   dropped. Publish after Stop() fails with kUnavailable; the bus cannot be restarted.
///
/// Thread-safety: every method may be called concurrently from any thread, including from
/// inside a handler, except Stop() (and destruction), which must not be called from a handler
/// (it joins the handler threads). Lifetime: `clock` must outlive the bus; handlers are
/// destroyed by Stop() at the latest.
class InMemoryEventBus final : public EventBus {
 public:
  InMemoryEventBus(Topology topology, const Clock& clock, InMemoryBusOptions options = {});
  /// Calls Stop().
  ~InMemoryEventBus() override;

  InMemoryEventBus(const InMemoryEventBus&) = delete;
  InMemoryEventBus& operator=(const InMemoryEventBus&) = delete;

  /// Starts the timer thread and the workers of the subscriptions made so far. Idempotent;
  /// kUnavailable after Stop().
  Result<void> Start() override;
  /// Stops the timer and the workers, waits for the handlers in flight to return (unbounded:
  /// in-process handlers cannot be abandoned), joins every thread and drops the messages left.
  /// Idempotent; concurrent callers all return once the bus is stopped.
  void Stop() override;

  /// Validates the whole batch first (unknown eventType → kValidationFailed, nothing
  /// published), then enqueues a copy of each envelope into every queue it routes to, all under
  /// one lock (the batch is atomic). First waits while a consumed queue it routes to is at
  /// options.max_queue_depth. Works before Start(); kUnavailable after Stop().
  Result<void> Publish(std::span<const Envelope> batch) override;

  /// Enqueues `envelope` on `queue` with `headers`, as a first delivery (attempt 1). The routing
  /// key is the x-original-routing-key header if present, else the eventType's routing key.
  /// Unknown queue → kValidationFailed; kUnavailable after Stop().
  Result<void> SendToQueue(std::string_view queue, const Envelope& envelope,
                           std::vector<std::pair<std::string, std::string>> headers) override;

  /// Adds `options.concurrency` competing consumers of `queue` running `handler` (which must be
  /// thread-safe when concurrency > 1). They start now if the bus is started, else at Start();
  /// after Stop() the subscription is ignored. Throws std::invalid_argument for a queue not in
  /// the topology, an empty handler or concurrency < 1 (programming errors).
  void Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) override;
  /// The same with a batch handler: each worker takes every message ready on the queue, up to
  /// options.max_batch (>= 1, else std::invalid_argument), and settles each with its outcome.
  void SubscribeBatch(std::string queue, BatchEventHandler handler,
                      SubscribeOptions options) override;

  /// {"memory", connected = not stopped, ""}.
  std::vector<QueueDepth> QueueDepths() override;
  BusStatus Status() const override;

  /// Messages ready plus scheduled for redelivery on `queue` (not those being handled); 0 for an
  /// unknown queue.
  size_t DepthOf(std::string_view queue) const;
  /// Copies of the messages ready on `queue`, oldest first (e.g. to inspect a dead-letter queue);
  /// empty for an unknown queue.
  std::vector<Delivery> PeekQueue(std::string_view queue) const;
  /// Copies of the redeliveries scheduled for `queue`, earliest first.
  std::vector<ScheduledDelivery> PeekScheduled(std::string_view queue) const;
  InMemoryBusCounters Counters() const;

 private:
  struct Message {
    Delivery delivery;
    std::optional<TimePoint> first_failure;  // carried through retries for the DLQ headers
  };
  struct QueueState {
    std::string name;
    bool is_dead_letter_queue = false;
    std::deque<Message> ready;
    size_t scheduled = 0;  // entries of scheduled_ for this queue
    std::condition_variable ready_cv;
    int consumers = 0;                             // running worker threads
    std::vector<QueueState*> dead_letter_targets;  // not owned: nodes of queues_
  };
  struct ScheduledMessage {
    QueueState* queue;  // not owned: a node of queues_
    Message message;
  };
  /// Where the events exchange sends one event type.
  struct EventRoute {
    std::string_view routing_key;     // EventInfo's (static storage)
    std::vector<QueueState*> queues;  // not owned: nodes of queues_
  };
  struct Subscription {
    QueueState* queue;  // not owned: a node of queues_
    std::shared_ptr<const BatchEventHandler> handler;
    int concurrency;
    size_t max_batch;
  };

  QueueState* FindQueueState(std::string_view name);
  const QueueState* FindQueueState(std::string_view name) const;

  // All of these require mu_ to be held.
  void StartWorkersLocked(const Subscription& subscription);
  void EnqueueLocked(QueueState& queue, Message message);
  /// Settles one delivery; returns a line to log (after unlocking) when the message was dropped.
  std::optional<std::string> SettleLocked(QueueState& queue, Message message,
                                          HandlerOutcome outcome);
  std::optional<std::string> DeadLetterLocked(QueueState& queue, Message message,
                                              const std::string& reason, TimePoint now);
  Duration JitteredDelayLocked(int failures);

  void AddSubscription(Subscription subscription);
  void WorkerLoop(QueueState& queue, std::shared_ptr<const BatchEventHandler> handler,
                  size_t max_batch);
  void TimerLoop();

  const Topology topology_;
  const Clock& clock_;
  const InMemoryBusOptions options_;

  std::mutex stop_mu_;  // serializes Stop(); never taken while mu_ is held
  mutable std::mutex mu_;
  // The map itself is immutable after construction (lookups need no lock); QueueState contents
  // are guarded by mu_.
  std::map<std::string, QueueState, std::less<>> queues_;
  // Every known event type's route, resolved once at construction (immutable; no lock): matching
  // the routing key against every binding on each publish was ~8 % of the relay thread.
  std::map<std::string_view, EventRoute, std::less<>> routes_;
  // Guarded by mu_. Equal due times keep insertion order (multimap inserts at the end of the
  // equal range), so redeliveries due together stay FIFO.
  std::multimap<TimePoint, ScheduledMessage> scheduled_;
  std::condition_variable timer_cv_;
  std::condition_variable space_cv_;  // publishers waiting for a full queue to drain
  size_t waiting_publishers_ = 0;
  std::vector<Subscription> subscriptions_;
  std::vector<std::thread> threads_;
  std::mt19937_64 rng_;
  InMemoryBusCounters counters_;
  bool started_ = false;
  bool stopping_ = false;
};

}  // namespace shopflow
