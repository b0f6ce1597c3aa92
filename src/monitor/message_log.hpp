#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "events/envelope.hpp"
#include "events/message_status.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// The event log of the seed ("Messages Collection"): one row per event and per thing that
/// happened to it (published, or handled by one queue's consumer).
inline constexpr std::string_view kMessagesCollection = "messages";

/// Row statuses: the message_status names (events/message_status.hpp).

/// The "messages" collection with its indexed fields (messageId, eventType, correlationId,
/// status, orderId, createdAt). The composition root declares it with the other collections.
CollectionSpec MessageLogCollection();

/// What happened to one event (the row's own fields), without the event.
struct MessageFacts {
  std::string row_id;  // a ULID: rows sort by the time they were observed
  std::string status;  // a message_status name
  std::string exchange;
  std::string routing_key;
  std::string queue;                  // the consuming queue; "" for published
  std::string module;                 // the publisher for published rows, else the queue's owner
  int attempt = 0;                    // delivery number (1 = first); 0 for published
  std::string reason;                 // the handler's reason for failed and dead_lettered
  std::optional<double> duration_ms;  // handler time for handled rows
  TimePoint at{};
};

/// One observation of one event, before it becomes a row.
struct MessageObservation : MessageFacts {
  Envelope envelope;
};

/// The order an event belongs to: data.orderId, else data.metadata.orderId (notifications carry
/// it there); "" when neither is a string.
std::string OrderIdOf(const json::object& data);

/// The stored row: {id, messageId, eventType, exchange, routingKey, data, metadata{source,
/// correlationId, causationId, timestamp, version, retryCount}, status, createdAt, plus the
/// top-level copies correlationId, causationId, source, orderId (when known), module, and for
/// handled rows queue, attempt, durationMs, reason (when not empty)}.
json::object ToMessageRow(const MessageObservation& observation);
/// The same, taking the observation's data instead of copying it.
json::object ToMessageRow(MessageObservation&& observation);
/// A row's values of MessageLogCollection's indexed fields, as its text holds them.
struct MessageRowKeys {
  std::string message_id;
  std::string event_type;
  std::string correlation_id;
  std::string status;
  std::string order_id;  // "" when the row has none
  std::string created_at;
  /// The values for Transaction::InsertTextIndexed (they point into *this), so that the store
  /// does not parse the row to index it.
  std::array<KnownField, 6> Known() const;
};

/// The row of `facts` about `event` as JSON text (the same document as ToMessageRow, with
/// `data` written last), serialized straight from the event: what the logger stores, so that
/// an observation costs one serialization instead of a copy of the event, a row object built
/// around it and that object's serialization by the store. With `keys`, also its indexed
/// values.
std::string ToMessageRowText(const MessageFacts& facts, const Envelope& event,
                             MessageRowKeys* keys = nullptr);

}  // namespace shopflow::monitor
