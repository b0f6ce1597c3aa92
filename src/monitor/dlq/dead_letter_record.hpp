#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/event_bus.hpp"
#include "events/topology.hpp"

namespace shopflow::monitor {

/// Where a stored dead letter stands. `dead` → `redriving` → `redriven` (or back to `dead` when
/// the broker refused the re-drive); `dead` → `discarded`.
enum class DeadLetterStatus { kDead, kRedriving, kRedriven, kDiscarded };

/// "dead", "redriving", "redriven", "discarded".
std::string_view StatusName(DeadLetterStatus status);
std::optional<DeadLetterStatus> ParseDeadLetterStatus(std::string_view name);
/// For error messages: "dead, redriving, redriven, discarded".
inline constexpr std::string_view kStatusList = "dead, redriving, redriven, discarded";

/// One dead letter as stored in the "dead_letters" collection (one document per time a message
/// reached a dead-letter queue; a copy of the same message dead in the same queue is merged into
/// it). Times are RFC 3339 UTC strings as FormatRfc3339 writes them, so they compare as strings.
struct DeadLetterRecord {
  std::string record_id;  // the document id (a ULID), also stored as "recordId"
  std::string message_id;
  std::string event_type;
  std::string queue;           // the dead-letter queue it arrived on
  std::string original_queue;  // the module queue it failed on; a re-drive sends it there
  std::string routing_key;     // the publisher's routing key
  std::string reason;          // the last failure reason (x-failure-reason)
  int64_t attempts = 0;        // deliveries on the module queue before it was dead-lettered
  std::string first_failure;
  std::string last_failure;
  DeadLetterStatus status = DeadLetterStatus::kDead;
  json::object envelope;         // EnvelopeToJson of the message, exactly as dead-lettered
  std::string dead_lettered_at;  // when the manager stored it
  std::string updated_at;
  int64_t occurrences = 1;  // copies merged into this record

  /// The stored document.
  json::object ToJson() const;
  /// Parses a stored document; an unknown status → kInternal (a corrupt row).
  static Result<DeadLetterRecord> FromJson(const json::object& doc);
  /// The GET /api/dlq view: {messageId, eventType, reason, cause, attempts, firstFailure,
  /// lastFailure, status, deadLetteredAt, updatedAt, occurrences, queue, originalQueue,
  /// routingKey, correlationId, data}.
  json::object ToApiJson() const;
};

/// The record of one delivery consumed from a dead-letter queue, built from the
/// dead_letter_headers the transports set. Missing headers fall back to what is known: the
/// original queue of the DLQ's module, the delivery's routing key, reason "unknown", `now`.
/// Timestamps are normalized to FormatRfc3339 (other RFC 3339 spellings are accepted).
DeadLetterRecord RecordFromDelivery(const Delivery& delivery, const Topology& topology,
                                    TimePoint now);

/// `text` as RFC 3339 normalized by FormatRfc3339, or nullopt when it does not parse.
std::optional<std::string> NormalizeTime(std::string_view text);

/// The cause of a failure: `reason` with what varies from message to message (ids, long
/// numbers) replaced by placeholders, so that failures of one cause group together:
/// "order 01JD5Q... not found" → "order <id> not found". At most 200 characters.
std::string CauseOf(std::string_view reason);

}  // namespace shopflow::monitor
