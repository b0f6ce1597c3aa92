#include "monitor/dlq/dead_letter_record.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "events/envelope.hpp"

namespace shopflow::monitor {
namespace {

constexpr size_t kMaxCauseLength = 200;

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// A word that identifies one message rather than a kind of failure: a long number, or a long
// token mixing letters and digits (ULIDs, UUIDs, order numbers such as "ord-20261129-17").
std::string_view Placeholder(std::string_view word) {
  const bool has_digit =
      std::any_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (!has_digit) return {};
  const bool all_digits =
      std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  if (all_digits) return word.size() >= 4 ? "<n>" : "";
  return word.size() >= 8 ? "<id>" : "";
}

int64_t ParseCount(std::string_view text, int64_t fallback) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return fallback;
  return value;
}

}  // namespace

std::string_view StatusName(DeadLetterStatus status) {
  switch (status) {
    case DeadLetterStatus::kDead:
      return "dead";
    case DeadLetterStatus::kRedriving:
      return "redriving";
    case DeadLetterStatus::kRedriven:
      return "redriven";
    case DeadLetterStatus::kDiscarded:
      return "discarded";
  }
  return "dead";
}

std::optional<DeadLetterStatus> ParseDeadLetterStatus(std::string_view name) {
  for (auto status : {DeadLetterStatus::kDead, DeadLetterStatus::kRedriving,
                      DeadLetterStatus::kRedriven, DeadLetterStatus::kDiscarded}) {
    if (StatusName(status) == name) return status;
  }
  return std::nullopt;
}

json::object DeadLetterRecord::ToJson() const {
  return json::object{{"recordId", record_id},
                      {"messageId", message_id},
                      {"eventType", event_type},
                      {"queue", queue},
                      {"originalQueue", original_queue},
                      {"routingKey", routing_key},
                      {"reason", reason},
                      {"attempts", attempts},
                      {"firstFailure", first_failure},
                      {"lastFailure", last_failure},
                      {"status", StatusName(status)},
                      {"envelope", envelope},
                      {"deadLetteredAt", dead_lettered_at},
                      {"updatedAt", updated_at},
                      {"occurrences", occurrences}};
}

Result<DeadLetterRecord> DeadLetterRecord::FromJson(const json::object& doc) {
  DeadLetterRecord r;
  r.record_id = GetString(doc, "recordId");
  r.message_id = GetString(doc, "messageId");
  r.event_type = GetString(doc, "eventType");
  r.queue = GetString(doc, "queue");
  r.original_queue = GetString(doc, "originalQueue");
  r.routing_key = GetString(doc, "routingKey");
  r.reason = GetString(doc, "reason");
  r.attempts = GetInt(doc, "attempts");
  r.first_failure = GetString(doc, "firstFailure");
  r.last_failure = GetString(doc, "lastFailure");
  const std::string status = GetString(doc, "status");
  auto parsed = ParseDeadLetterStatus(status);
  if (!parsed) {
    return InternalError("dead letter " + r.record_id + " has an unknown status '" + status + "'");
  }
  r.status = *parsed;
  if (const json::object* envelope = GetObject(doc, "envelope")) r.envelope = *envelope;
  r.dead_lettered_at = GetString(doc, "deadLetteredAt");
  r.updated_at = GetString(doc, "updatedAt");
  r.occurrences = GetInt(doc, "occurrences", 1);
  return r;
}

json::object DeadLetterRecord::ToApiJson() const {
  json::object out{{"messageId", message_id},
                   {"eventType", event_type},
                   {"reason", reason},
                   {"cause", CauseOf(reason)},
                   {"attempts", attempts},
                   {"firstFailure", first_failure},
                   {"lastFailure", last_failure},
                   {"status", StatusName(status)},
                   {"deadLetteredAt", dead_lettered_at},
                   {"updatedAt", updated_at},
                   {"occurrences", occurrences},
                   {"queue", queue},
                   {"originalQueue", original_queue},
                   {"routingKey", routing_key}};
  std::string correlation_id;
  if (const json::object* metadata = GetObject(envelope, "metadata")) {
    correlation_id = GetString(*metadata, "correlationId");
  }
  out["correlationId"] = correlation_id;
  if (const json::object* data = GetObject(envelope, "data")) out["data"] = *data;
  return out;
}

std::optional<std::string> NormalizeTime(std::string_view text) {
  auto parsed = ParseRfc3339(text);
  if (!parsed) return std::nullopt;
  return FormatRfc3339(*parsed);
}

DeadLetterRecord RecordFromDelivery(const Delivery& delivery, const Topology& topology,
                                    TimePoint now) {
  namespace h = dead_letter_headers;
  DeadLetterRecord r;
  r.message_id = delivery.envelope.metadata.message_id;
  r.event_type = delivery.envelope.event_type;
  r.queue = delivery.queue;
  r.original_queue = std::string(delivery.Header(h::kOriginalQueue));
  if (r.original_queue.empty()) {
    if (const ModuleQueues* module = topology.ModuleOfQueue(delivery.queue)) {
      r.original_queue = module->queue;
    }
  }
  r.routing_key = std::string(delivery.Header(h::kRoutingKey));
  if (r.routing_key.empty()) r.routing_key = delivery.routing_key;
  r.reason = std::string(delivery.Header(h::kReason));
  if (r.reason.empty()) r.reason = "unknown";
  r.attempts = ParseCount(delivery.Header(h::kAttempts), 0);
  const std::string stamp = FormatRfc3339(now);
  r.last_failure = NormalizeTime(delivery.Header(h::kLastFailure)).value_or(stamp);
  r.first_failure = NormalizeTime(delivery.Header(h::kFirstFailure)).value_or(r.last_failure);
  r.status = DeadLetterStatus::kDead;
  r.envelope = EnvelopeToJson(delivery.envelope);
  r.dead_lettered_at = stamp;
  r.updated_at = stamp;
  return r;
}

std::string CauseOf(std::string_view reason) {
  std::string out;
  size_t i = 0;
  while (i < reason.size() && out.size() < kMaxCauseLength) {
    if (!IsWordChar(reason[i])) {
      out.push_back(reason[i++]);
      continue;
    }
    size_t end = i;
    while (end < reason.size() && IsWordChar(reason[end])) ++end;
    const std::string_view word = reason.substr(i, end - i);
    const std::string_view placeholder = Placeholder(word);
    out.append(placeholder.empty() ? word : placeholder);
    i = end;
  }
  if (out.size() > kMaxCauseLength) out.resize(kMaxCauseLength);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

}  // namespace shopflow::monitor
