#pragma once

#include <vector>

#include "core/api.hpp"
#include "monitor/dlq/dead_letter_manager.hpp"

namespace shopflow::monitor {

/// The /api/dlq routes (API.md "System"):
///   GET    /api/dlq                   dead letters per queue; query queue, eventType, reason
///                                     (substring), since, until (RFC 3339 on lastFailure),
///                                     status (dead by default, or all), limit, offset
///   GET    /api/dlq/audit             the audit log, newest first; query action, limit, offset
///   POST   /api/dlq/retry-all         {queue?, eventType?, reason?, since?, until?, dryRun?,
///                                     limit?}; an empty body means {}
///   POST   /api/dlq/:messageId/retry  re-drives one message; optional ?queue= (or {queue})
///   DELETE /api/dlq/:messageId        discards one message; optional ?queue=
/// `queue` may name a dead-letter queue, its module queue or its module. `manager` must outlive
/// the routes.
std::vector<Route> DlqRoutes(DeadLetterManager& manager);

}  // namespace shopflow::monitor
