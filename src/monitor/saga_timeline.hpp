#pragma once

#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "events/topology.hpp"

namespace shopflow::monitor {

/// Orders event-log rows (ToMessageRow documents) causally: an event's first "published" row
/// before the rows of its deliveries; a delivery's attempts in attempt order; an event's rows
/// after the row of its cause (causationId) that produced it (the cause's consumption by the
/// event's source module, else the cause's publication). Rows are otherwise ordered by
/// createdAt, then id. So a log whose rows were written out of order (buffering, clock skew
/// between processes, an outbox relay faster than the observer) still reads as the saga ran.
/// Causation cycles (corrupt data) cannot hang it: what remains is appended in time order.
std::vector<json::object> CausalOrder(std::vector<json::object> rows);

/// The timeline of one order's saga from its event-log rows (GET /api/orders/:id/timeline):
/// {orderId, events:[{messageId, eventType, module, source, status, causationId,
/// correlationId, at, queue?, attempt?, durationMs?, reason?}], settled, pendingSteps?,
/// startedAt, lastEventAt}.
///
/// `settled` holds when the saga reached an end and nothing is in flight:
/// - an end: ORDER_CONFIRMED with INVENTORY_CONFIRMED; or ORDER_FAILED / ORDER_CANCELLED with
///   its compensations (INVENTORY_RELEASED when stock was reserved; PAYMENT_FAILED or
///   PAYMENT_REFUNDED when a payment was requested);
/// - nothing in flight: every published event has a final row ("consumed" or "dead_lettered")
///   in every queue the topology routes it to.
/// Otherwise `pendingSteps` names what is missing ("INVENTORY_CONFIRMED",
/// "ORDER_CONFIRMED -> inventory.events.queue", ...).
json::object BuildTimeline(std::string_view order_id, std::vector<json::object> rows,
                           const Topology& topology);

}  // namespace shopflow::monitor
