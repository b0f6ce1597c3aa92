#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/json.hpp"
#include "events/topology.hpp"
#include "monitor/dlq/dead_letter_record.hpp"

namespace shopflow::monitor {

/// The GET /api/dlq document for `records` (every match of the query, newest first):
///   {queues: [{queue, originalQueue, module, count, messages: [ToApiJson()...]}],
///    total, byReason: [{reason, count, example}], limit, offset}
/// Every dead-letter queue of `topology` is listed, in topology order and also when empty (only
/// `only_queue` when set). `count` and `total` count all matches; `page` selects each queue's
/// messages. byReason groups all matches by CauseOf(reason), largest group first; `example` is
/// the newest full reason of the group.
json::object BuildOverview(const std::vector<DeadLetterRecord>& records, const Topology& topology,
                           const std::optional<std::string>& only_queue, const Page& page);

}  // namespace shopflow::monitor
