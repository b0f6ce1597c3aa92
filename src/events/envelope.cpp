#include "events/envelope.hpp"

#include "core/ids.hpp"
#include "core/json_writer.hpp"

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

namespace {
json::object MetadataJson(const EventMetadata& m) {
  json::object metadata{{"messageId", m.message_id},
                        {"source", m.source},
                        {"correlationId", m.correlation_id},
                        {"timestamp", FormatRfc3339(m.timestamp)},
                        {"version", m.version},
                        {"retryCount", m.retry_count}};
  if (!m.causation_id.empty()) metadata["causationId"] = m.causation_id;
  return metadata;
}
}  // namespace

json::object EnvelopeToJson(const Envelope& e) {
  return json::object{
      {"eventType", e.event_type}, {"data", e.data}, {"metadata", MetadataJson(e.metadata)}};
}

std::string SerializeEnvelope(const Envelope& e) {
  // Written member by member (same members and order as MetadataJson's object would give):
  // every outbox row and every AMQP message goes through here, and building the metadata
  // object first, then copying nothing but reading it back, cost as much as writing it.
  const EventMetadata& m = e.metadata;
  std::string out;
  out.reserve(512);
  JsonObjectWriter envelope(out);
  envelope.String("eventType", e.event_type);
  envelope.Key("metadata");
  {
    JsonObjectWriter metadata(out);
    metadata.String("messageId", m.message_id);
    metadata.String("source", m.source);
    metadata.String("correlationId", m.correlation_id);
    metadata.String("timestamp", FormatRfc3339(m.timestamp));
    metadata.String("version", m.version);
    metadata.Number("retryCount", m.retry_count);
    if (!m.causation_id.empty()) metadata.String("causationId", m.causation_id);
    metadata.Close();
  }
  envelope.Key("data");
  AppendJsonObject(out, e.data);
  envelope.Close();
  return out;
}

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
  json::object& object = parsed->get_object();
  // Take the data out before reading the rest, so that it is moved, not copied.
  json::value data;
  if (auto* found = object.if_contains("data"); found && found->is_object()) {
    data = std::move(*found);
    *found = json::object();
  }
  auto envelope = EnvelopeFromJson(object);
  if (envelope && data.is_object()) envelope->data = std::move(data.get_object());
  return envelope;
}

}  // namespace shopflow
