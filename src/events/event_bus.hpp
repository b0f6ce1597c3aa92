#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "events/envelope.hpp"

namespace shopflow {

/// Headers a dead-lettered message carries (both transports use these names).
namespace dead_letter_headers {
inline constexpr std::string_view kReason = "x-failure-reason";
inline constexpr std::string_view kAttempts = "x-attempts";
inline constexpr std::string_view kOriginalQueue = "x-original-queue";
inline constexpr std::string_view kRoutingKey = "x-original-routing-key";
inline constexpr std::string_view kFirstFailure = "x-first-failure";  // RFC 3339
inline constexpr std::string_view kLastFailure = "x-last-failure";    // RFC 3339
}  // namespace dead_letter_headers

/// One message handed to a consumer.
struct Delivery {
  Envelope envelope;
  std::string queue;  // the queue it was consumed from
  /// The publisher's routing key, also after retries and dead-lettering (transports keep it in
  /// the x-original-routing-key header rather than exposing the retry or dead-letter key).
  std::string routing_key;
  int attempt = 1;  // 1 on first delivery, n on the n-th
  std::vector<std::pair<std::string, std::string>> headers;

  std::string_view Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

/// What a handler decided about one delivery.
struct HandlerOutcome {
  enum class Kind { kAck, kRetry, kDeadLetter };
  Kind kind = Kind::kAck;
  std::string reason;

  static HandlerOutcome Ack() { return {}; }
  /// A transient failure: redeliver after backoff; dead-letter after the last attempt.
  static HandlerOutcome Retry(std::string reason) { return {Kind::kRetry, std::move(reason)}; }
  /// A permanent failure (poison message): dead-letter now.
  static HandlerOutcome DeadLetter(std::string reason) {
    return {Kind::kDeadLetter, std::move(reason)};
  }
};

/// Called for each delivery. Runs on a bus-owned thread, never on an HTTP I/O thread and never
/// while the bus holds a lock, so it may block on the store. An exception counts as
/// Retry(what()).
using EventHandler = std::function<HandlerOutcome(const Delivery&)>;

/// Called with deliveries taken together from one queue (1 to SubscribeOptions::max_batch, in
/// queue order); returns one outcome per delivery, in the same order. It lets a consumer settle
/// many deliveries with one store transaction instead of one each. Same thread rules as
/// EventHandler. An exception counts as Retry(what()) for every delivery of the batch, and a
/// delivery left without an outcome (too few returned) as Retry.
using BatchEventHandler = std::function<std::vector<HandlerOutcome>(std::span<const Delivery>)>;

struct SubscribeOptions {
  int concurrency = 1;  // handler threads for this queue (competing consumers in-process)
  int prefetch = 200;   // unacknowledged messages in flight (AMQP basic.qos)
  /// Most deliveries a BatchEventHandler is given at once: those already waiting when a handler
  /// thread takes work (it never waits for a batch to fill). Ignored by Subscribe.
  int max_batch = 1;
};

/// Runs `handler` on `deliveries`, applying BatchEventHandler's rules for exceptions and
/// missing outcomes: always exactly one outcome per delivery.
std::vector<HandlerOutcome> InvokeBatch(const BatchEventHandler& handler,
                                        std::span<const Delivery> deliveries);
/// A batch handler calling `handler` for each delivery in turn (an exception counting as
/// Retry(what()) for that delivery only): how a transport runs a Subscribe handler.
BatchEventHandler OneAtATime(EventHandler handler);

/// How many messages wait in one queue (for stats, health and metrics).
struct QueueDepth {
  std::string queue;
  int64_t messages = 0;   // ready (and, for the embedded bus, scheduled for retry)
  int64_t consumers = 0;  // -1 when unknown
};

/// Connection state for health checks.
struct BusStatus {
  std::string transport;  // "memory" or "amqp"
  bool connected = false;
  std::string detail;
};

/// The event bus (EVENTS.md): publishes envelopes to the events exchange with the routing key of
/// their eventType, and delivers at least once to each bound queue's consumer, with retry,
/// backoff and dead letters as described by the topology. Implementations: InMemoryEventBus
/// (embedded default) and AmqpEventBus (RabbitMQ). All methods are thread-safe.
class EventBus {
 public:
  virtual ~EventBus() = default;

  /// Declares the topology (idempotently) and starts delivering to subscribed queues.
  /// Subscriptions may be made before or after Start.
  virtual Result<void> Start() = 0;
  /// Stops delivering and waits for handlers in flight to return (handlers are expected to be
  /// short; the bus cannot abandon a running one safely). Idempotent. Must not be called from
  /// inside a handler (it would wait for itself).
  virtual void Stop() = 0;

  /// Publishes every envelope; returns once all are durably accepted (RabbitMQ: publisher
  /// confirms; memory: enqueued). On error some may have been accepted: callers re-publish
  /// the whole batch (consumers dedupe by messageId). Unknown eventType → kValidationFailed.
  virtual Result<void> Publish(std::span<const Envelope> batch) = 0;

  /// Called once with what Publish would have returned.
  using PublishDone = std::function<void(Result<void>)>;
  /// Publish without waiting for the outcome, so that a caller can keep several batches in
  /// flight: `batch` is read before the call returns; `done` is called exactly once, on a
  /// transport thread or inline, never under a lock of the bus. Batches go out in the order of the
  /// calls that made them; a batch may be confirmed while later ones are still on their way. The
  /// default publishes synchronously and then calls `done`; AmqpEventBus pipelines (a batch does
  /// not wait for the confirms of the one before it).
  virtual void PublishAsync(std::span<const Envelope> batch, PublishDone done);

  /// Puts one message straight onto `queue` (dead-letter re-drive), bypassing exchanges.
  virtual Result<void> SendToQueue(std::string_view queue, const Envelope& envelope,
                                   std::vector<std::pair<std::string, std::string>> headers) = 0;

  /// Consumes `queue` (a module queue or a dead-letter queue) with `handler`. An unknown queue,
  /// an empty handler or concurrency < 1 are programming errors: throws std::invalid_argument.
  virtual void Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) = 0;
  /// Consumes `queue` with a handler that takes the deliveries waiting together, up to
  /// options.max_batch at a time (same rules as Subscribe otherwise). The default hands them
  /// over one at a time through Subscribe; InMemoryEventBus batches for real.
  virtual void SubscribeBatch(std::string queue, BatchEventHandler handler,
                              SubscribeOptions options);

  virtual BusStatus Status() const = 0;

  /// Depth of every queue of the topology, as the transport knows it (RabbitMQ: passive
  /// declares). Empty when unknown or disconnected. May block briefly; not for hot paths.
  virtual std::vector<QueueDepth> QueueDepths() { return {}; }
};

}  // namespace shopflow
