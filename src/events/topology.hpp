#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shopflow {

enum class ExchangeKind { kTopic, kFanout, kDirect };
std::string_view ExchangeKindName(ExchangeKind kind);  // "topic", "fanout", "direct"

struct ExchangeSpec {
  std::string name;
  ExchangeKind kind = ExchangeKind::kTopic;
  bool durable = true;
};

enum class QueueRole { kModule, kRetry, kDeadLetter };

struct QueueSpec {
  std::string name;
  QueueRole role = QueueRole::kModule;
  std::string module;  // owning module ("orders", ...) for every role
  bool durable = true;
  /// x-message-ttl: dead letters expire after 24 h; retry tiers hold a message for their delay.
  std::optional<std::chrono::milliseconds> message_ttl;
  /// x-dead-letter-exchange / x-dead-letter-routing-key: retry tiers expire back into the
  /// module queue through the default exchange ("" + queue name).
  std::optional<std::string> dead_letter_exchange;
  std::optional<std::string> dead_letter_routing_key;
};

/// source exchange → destination queue (or exchange, for exchange-to-exchange bindings).
struct BindingSpec {
  std::string source;
  std::string destination;
  bool destination_is_exchange = false;
  std::string routing_key;  // topic pattern, direct key, or "" (ignored by fanout)
};

/// Exponential backoff with jitter: attempt n (n >= 1 failures so far) waits
/// initial_delay * multiplier^(n-1), capped at max_delay, then scaled by a random factor in
/// [1 - jitter, 1 + jitter]. After max_attempts deliveries the message is dead-lettered.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_delay{1000};
  double multiplier = 2.0;
  std::chrono::milliseconds max_delay{60000};
  double jitter = 0.2;

  /// The un-jittered delay before delivery number `failures + 1`.
  std::chrono::milliseconds DelayAfter(int failures) const;
};

/// Where one module's messages live.
struct ModuleQueues {
  std::string module;
  std::string queue;                      // e.g. "orders.events.queue"
  std::string dead_letter_queue;          // e.g. "dlq.orders.created.failed"
  std::vector<std::string> retry_queues;  // tier i holds messages for DelayAfter(i + 1)
};

/// The whole broker topology as data (ARCHITECTURE.md principle 8): the embedded bus routes by
/// it and the RabbitMQ transport declares it.
struct Topology {
  std::string events_exchange = "ecommerce.events";
  std::string notifications_exchange = "ecommerce.notifications";
  std::string dead_letter_exchange = "ecommerce.deadletter";
  std::string retry_exchange = "ecommerce.retry";

  std::vector<ExchangeSpec> exchanges;
  std::vector<QueueSpec> queues;
  std::vector<BindingSpec> bindings;
  std::vector<ModuleQueues> modules;
  RetryPolicy retry;

  const ExchangeSpec* FindExchange(std::string_view name) const;
  const QueueSpec* FindQueue(std::string_view name) const;
  const ModuleQueues* FindModule(std::string_view module) const;
  /// The module whose queue, retry tier or dead-letter queue is `queue`.
  const ModuleQueues* ModuleOfQueue(std::string_view queue) const;

  /// The queues a message published to `exchange` with `routing_key` lands in, as RabbitMQ would
  /// route it: topic patterns with `*` and `#`, fanout, direct, exchange-to-exchange bindings
  /// followed transitively (cycles cut), each queue at most once, in declaration order.
  std::vector<std::string> Route(std::string_view exchange, std::string_view routing_key) const;
};

/// The topology of EVENTS.md with retry tiers for `retry`.
Topology DefaultTopology(const RetryPolicy& retry = {});

/// AMQP topic matching: words separated by '.', `*` matches exactly one word, `#` zero or more.
bool TopicMatches(std::string_view pattern, std::string_view routing_key);

}  // namespace shopflow
