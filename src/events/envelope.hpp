#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"

namespace shopflow {

/// The metadata block of every event (EVENTS.md "Envelope").
struct EventMetadata {
  std::string message_id;
  std::string source;  // publishing module: "orders", "payments", ...
  std::string correlation_id;
  std::string causation_id;  // messageId of the event that caused this one; "" if none
  TimePoint timestamp{};
  std::string version = "1";
  int retry_count = 0;
};

/// One event as it travels on the bus: {"eventType", "data", "metadata"}.
struct Envelope {
  std::string event_type;
  json::object data;
  EventMetadata metadata;
};

/// Builds a new event with a fresh messageId and the given causal links.
Envelope MakeEvent(std::string event_type, json::object data, std::string source,
                   std::string correlation_id, std::string causation_id, TimePoint now);

/// Builds an event caused by `cause` (a consumed event): same correlationId, causationId =
/// cause's messageId.
Envelope MakeCausedEvent(std::string event_type, json::object data, std::string source,
                         const Envelope& cause, TimePoint now);

json::object EnvelopeToJson(const Envelope& envelope);
std::string SerializeEnvelope(const Envelope& envelope);
/// Parses a message body. Unknown fields are accepted (forward compatibility); a missing or
/// mistyped eventType, data or metadata.messageId → kValidationFailed; bad JSON → kMalformedJson.
Result<Envelope> ParseEnvelope(std::string_view body);
Result<Envelope> EnvelopeFromJson(const json::object& obj);

}  // namespace shopflow
