#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "events/topology.hpp"

/// The RabbitMQ transport's message model and header policy, as plain C++ (no rabbitmq-c): what
/// goes on the wire for an event, how a delivery is read back, and which headers a retry or a
/// dead letter carries. Internal to src/transport/amqp; everything here is pure and thread-safe.
namespace shopflow::amqp {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Header counting the deliveries of a message that failed in a dead-letter queue (a DLQ
/// consumer's own attempts; x-attempts keeps the count of the module queue).
inline constexpr std::string_view kDeadLetterAttemptsHeader = "x-dlq-attempts";
/// Header naming the bus instance (one per process) that put a message on the broker: a
/// publication, a retry copy or a dead-letter copy. The tap uses it to skip its own traffic.
inline constexpr std::string_view kOriginHeader = "x-shopflow-origin";

/// One queue argument: x-message-ttl is an integer, the dead-letter ones are strings.
struct QueueArgument {
  std::string name;
  std::variant<int64_t, std::string> value;
};

/// The arguments `spec` is declared with, in a fixed order. The single source for the AMQP
/// declarations and the definitions file, so that both always agree (RabbitMQ refuses to
/// re-declare a queue with different arguments).
std::vector<QueueArgument> QueueArguments(const QueueSpec& spec);

/// The AMQP basic properties the transport reads and writes (any other is ignored).
struct MessageProperties {
  std::string content_type;
  std::string message_id;
  std::string correlation_id;
  std::string type;
  std::string app_id;
  std::optional<uint64_t> timestamp;  // seconds since the Unix epoch (AMQP timestamp)
  std::string expiration;             // per-message TTL in milliseconds, as text; "" = none
  bool persistent = true;             // delivery_mode 2
  Headers headers;                    // string-valued view of the headers table
};

/// A message to publish.
struct OutgoingMessage {
  std::string exchange;
  std::string routing_key;
  MessageProperties properties;
  std::string body;
  /// Whether a basic.return of this message is an error. Events nobody is bound for (e.g.
  /// NOTIFICATION_*) are not; a retry, a dead letter or a SendToQueue that reaches no queue is.
  bool must_route = false;
};

/// A message delivered to a consumer (basic.deliver plus its content).
struct InboundMessage {
  uint16_t channel = 0;
  uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::string exchange;
  std::string routing_key;
  MessageProperties properties;
  std::string body;
};

/// The message for publishing `envelope` to `exchange` with `routing_key`: persistent JSON whose
/// properties mirror the envelope (EVENTS.md): message_id, correlation_id, type = eventType,
/// timestamp, content_type application/json, app_id = source.
OutgoingMessage EventMessage(const Envelope& envelope, std::string exchange,
                             std::string routing_key, Headers headers = {});

/// The value of header `name`, or nullptr.
const std::string* FindHeader(const Headers& headers, std::string_view name);
/// Replaces or appends header `name`.
void SetHeader(Headers& headers, std::string_view name, std::string value);
/// A positive integer header (an attempt count), or 1 when absent or not a positive integer.
int CountHeader(const Headers& headers, std::string_view name);

/// What a handler sees for `message` consumed from `queue`:
/// - attempt: x-attempts (module and retry queues) or x-dlq-attempts (dead-letter queues, whose
///   x-attempts is the count of the failed module-queue deliveries); 1 when absent;
/// - routing_key: x-original-routing-key when present, else the delivery's routing key;
/// - headers: the message's headers without those the broker adds (x-death, x-first-death-*);
/// - envelope.metadata.retry_count: the body's value plus the retries x-attempts counts, as the
///   embedded bus increments it.
/// A body that is not a valid envelope → its parse error.
Result<Delivery> ToDelivery(const InboundMessage& message, std::string_view queue,
                            bool dead_letter_queue);

/// One failed delivery (input of the header builders below).
struct Failure {
  std::string_view queue;        // the queue it was consumed from
  std::string_view routing_key;  // the publisher's routing key
  std::string_view reason;
  int attempt = 1;  // the delivery that failed, 1-based
  TimePoint now;
};

/// Headers of the copy sent to a retry tier: `current` without broker-added headers, plus
/// x-attempts = attempt + 1 (the next delivery's number), x-first-failure (kept when present),
/// x-last-failure, x-failure-reason, x-original-queue, x-original-routing-key.
Headers RetryHeaders(const Headers& current, const Failure& failure);
/// Headers of the dead-lettered copy: `current` without broker-added headers, plus every
/// dead_letter_headers entry, with x-attempts = attempt (the deliveries made).
Headers DeadLetterHeaders(const Headers& current, const Failure& failure);
/// Headers of a message put on `queue` by SendToQueue: a first delivery there, so the retry
/// state (x-attempts, x-first-failure, x-dlq-attempts) is dropped unless the target is a
/// dead-letter queue, and x-original-routing-key is set to the eventType's routing key when
/// missing (so the consumer sees the publisher's key, not the queue name).
Headers SendToQueueHeaders(Headers headers, const Envelope& envelope, bool dead_letter_queue);

/// The retry tier holding messages after delivery number `attempt` failed (tier i holds
/// DelayAfter(i + 1)), or nullptr when `module` has no tier for it.
const std::string* RetryTierFor(const ModuleQueues& module, int attempt);
/// The per-message `expiration` for a tier whose TTL is `tier_ttl`: RabbitMQ expires a message
/// at the smaller of its own and its queue's TTL, so the jitter can only shorten the delay; the
/// delay is drawn in [(1 - jitter) * tier_ttl, tier_ttl] from `unit` in [0, 1).
std::string RetryExpiration(std::chrono::milliseconds tier_ttl, double jitter, double unit);

}  // namespace shopflow::amqp
