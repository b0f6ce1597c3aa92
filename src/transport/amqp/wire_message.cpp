#include "transport/amqp/wire_message.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "events/event_types.hpp"

namespace shopflow::amqp {
namespace {

// Headers RabbitMQ adds when it dead-letters a message (our retry tiers expire into the module
// queue): arrays and tables growing with each cycle, not part of the message's meaning.
bool IsBrokerHeader(std::string_view name) {
  return name == "x-death" || name.starts_with("x-first-death-") ||
         name.starts_with("x-last-death-");
}

Headers WithoutBrokerHeaders(const Headers& headers) {
  Headers out;
  out.reserve(headers.size() + 6);
  for (const auto& [k, v] : headers) {
    if (!IsBrokerHeader(k)) out.emplace_back(k, v);
  }
  return out;
}

void SetFailureHeaders(Headers& headers, const Failure& failure) {
  namespace h = dead_letter_headers;
  const std::string now = FormatRfc3339(failure.now);
  if (!FindHeader(headers, h::kFirstFailure)) SetHeader(headers, h::kFirstFailure, now);
  SetHeader(headers, h::kLastFailure, now);
  SetHeader(headers, h::kReason, std::string(failure.reason));
  SetHeader(headers, h::kOriginalQueue, std::string(failure.queue));
  SetHeader(headers, h::kRoutingKey, std::string(failure.routing_key));
}

void EraseHeader(Headers& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& kv) { return kv.first == name; });
}

}  // namespace

std::vector<QueueArgument> QueueArguments(const QueueSpec& spec) {
  std::vector<QueueArgument> args;
  if (spec.message_ttl) args.push_back({"x-message-ttl", int64_t{spec.message_ttl->count()}});
  if (spec.dead_letter_exchange) {
    args.push_back({"x-dead-letter-exchange", *spec.dead_letter_exchange});
  }
  if (spec.dead_letter_routing_key) {
    args.push_back({"x-dead-letter-routing-key", *spec.dead_letter_routing_key});
  }
  return args;
}

OutgoingMessage EventMessage(const Envelope& envelope, std::string exchange,
                             std::string routing_key, Headers headers) {
  OutgoingMessage m;
  m.exchange = std::move(exchange);
  m.routing_key = std::move(routing_key);
  m.properties.content_type = "application/json";
  m.properties.message_id = envelope.metadata.message_id;
  m.properties.correlation_id = envelope.metadata.correlation_id;
  m.properties.type = envelope.event_type;
  m.properties.app_id = envelope.metadata.source;
  const int64_t millis = ToUnixMillis(envelope.metadata.timestamp);
  if (millis > 0) m.properties.timestamp = static_cast<uint64_t>(millis / 1000);
  m.properties.persistent = true;
  m.properties.headers = std::move(headers);
  m.body = SerializeEnvelope(envelope);
  return m;
}

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

void SetHeader(Headers& headers, std::string_view name, std::string value) {
  for (auto& [k, v] : headers) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

int CountHeader(const Headers& headers, std::string_view name) {
  const std::string* text = FindHeader(headers, name);
  if (!text) return 1;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 1) return 1;
  return value;
}

Result<Delivery> ToDelivery(const InboundMessage& message, std::string_view queue,
                            bool dead_letter_queue) {
  auto envelope = ParseEnvelope(message.body);
  if (!envelope) return std::move(envelope).error();
  const Headers& headers = message.properties.headers;
  Delivery d;
  d.envelope = std::move(envelope).value();
  d.queue = std::string(queue);
  const std::string* original = FindHeader(headers, dead_letter_headers::kRoutingKey);
  d.routing_key = original && !original->empty() ? *original : message.routing_key;
  const int module_attempts = CountHeader(headers, dead_letter_headers::kAttempts);
  d.attempt = dead_letter_queue ? CountHeader(headers, kDeadLetterAttemptsHeader) : module_attempts;
  d.envelope.metadata.retry_count += module_attempts - 1;
  d.headers = WithoutBrokerHeaders(headers);
  return d;
}

Headers RetryHeaders(const Headers& current, const Failure& failure) {
  Headers headers = WithoutBrokerHeaders(current);
  SetFailureHeaders(headers, failure);
  SetHeader(headers, dead_letter_headers::kAttempts, std::to_string(failure.attempt + 1));
  return headers;
}

Headers DeadLetterHeaders(const Headers& current, const Failure& failure) {
  Headers headers = WithoutBrokerHeaders(current);
  SetFailureHeaders(headers, failure);
  SetHeader(headers, dead_letter_headers::kAttempts, std::to_string(failure.attempt));
  return headers;
}

Headers SendToQueueHeaders(Headers headers, const Envelope& envelope, bool dead_letter_queue) {
  headers = WithoutBrokerHeaders(headers);
  if (!dead_letter_queue) {
    EraseHeader(headers, dead_letter_headers::kAttempts);
    EraseHeader(headers, dead_letter_headers::kFirstFailure);
  }
  EraseHeader(headers, kDeadLetterAttemptsHeader);
  const std::string* original = FindHeader(headers, dead_letter_headers::kRoutingKey);
  if (!original || original->empty()) {
    if (auto key = RoutingKeyFor(envelope.event_type)) {
      SetHeader(headers, dead_letter_headers::kRoutingKey, std::string(*key));
    }
  }
  return headers;
}

const std::string* RetryTierFor(const ModuleQueues& module, int attempt) {
  if (attempt < 1 || static_cast<size_t>(attempt) > module.retry_queues.size()) return nullptr;
  return &module.retry_queues[static_cast<size_t>(attempt) - 1];
}

std::string RetryExpiration(std::chrono::milliseconds tier_ttl, double jitter, double unit) {
  const double j = std::clamp(jitter, 0.0, 1.0);
  const double u = std::clamp(unit, 0.0, 1.0);
  const double ms = static_cast<double>(std::max<int64_t>(0, tier_ttl.count())) * (1.0 - j * u);
  return std::to_string(static_cast<int64_t>(std::llround(ms)));
}

}  // namespace shopflow::amqp
