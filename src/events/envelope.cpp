#include "events/envelope.hpp"

#include "core/ids.hpp"

namespace shopflow {

Envelope MakeEvent(std::string event_type, json::object data, std::string source,
                   std::string correlation_id, std::string causation_id, TimePoint now) {
  Envelope e;
  e.event_type = std::move(event_type);
  e.data = std::move(data);
  e.metadata.message_id = NewId();
  e.metadata.source = std::move(source);
  e.metadata.correlation_id = std::move(correlation_id);
  e.metadata.causation_id = std::move(causation_id);
  e.metadata.timestamp = now;
  return e;
}

Envelope MakeCausedEvent(std::string event_type, json::object data, std::string source,
                         const Envelope& cause, TimePoint now) {
  return MakeEvent(std::move(event_type), std::move(data), std::move(source),
                   cause.metadata.correlation_id, cause.metadata.message_id, now);
}

json::object EnvelopeToJson(const Envelope& e) {
  json::object metadata{{"messageId", e.metadata.message_id},
                        {"source", e.metadata.source},
                        {"correlationId", e.metadata.correlation_id},
                        {"timestamp", FormatRfc3339(e.metadata.timestamp)},
                        {"version", e.metadata.version},
                        {"retryCount", e.metadata.retry_count}};
  if (!e.metadata.causation_id.empty()) metadata["causationId"] = e.metadata.causation_id;
  return json::object{
      {"eventType", e.event_type}, {"data", e.data}, {"metadata", std::move(metadata)}};
}

std::string SerializeEnvelope(const Envelope& e) { return ToJsonText(EnvelopeToJson(e)); }

Result<Envelope> EnvelopeFromJson(const json::object& obj) {
  Envelope e;
  const auto* type = obj.if_contains("eventType");
  if (!type || !type->is_string() || type->get_string().empty()) {
    return ValidationError("event has no eventType", {{"eventType", "is required"}});
  }
  e.event_type = std::string(type->get_string());
  if (const auto* data = obj.if_contains("data")) {
    if (!data->is_object())
      return ValidationError("event data must be an object", {{"data", "must be an object"}});
    e.data = data->get_object();
  }
  const auto* md = GetObject(obj, "metadata");
  if (!md) return ValidationError("event has no metadata", {{"metadata", "is required"}});
  e.metadata.message_id = GetString(*md, "messageId");
  if (e.metadata.message_id.empty()) {
    return ValidationError("event has no messageId", {{"metadata.messageId", "is required"}});
  }
  e.metadata.source = GetString(*md, "source");
  e.metadata.correlation_id = GetString(*md, "correlationId");
  e.metadata.causation_id = GetString(*md, "causationId");
  e.metadata.version = GetString(*md, "version", "1");
  e.metadata.retry_count = static_cast<int>(GetInt(*md, "retryCount", 0));
  if (auto ts = ParseRfc3339(GetString(*md, "timestamp"))) e.metadata.timestamp = *ts;
  return e;
}

Result<Envelope> ParseEnvelope(std::string_view body) {
  auto parsed = ParseJson(body);
  if (!parsed) return std::move(parsed).error();
  if (!parsed->is_object()) return ValidationError("event must be a JSON object");
  return EnvelopeFromJson(parsed->get_object());
}

}  // namespace shopflow
