#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/topology.hpp"
#include "monitor/dlq/dead_letter_record.hpp"
#include "monitor/dlq/dlq_options.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// Which dead letters a query or a retry-all means. Every condition set must hold.
struct DeadLetterFilter {
  std::optional<std::string> queue;        // a dead-letter queue of the topology
  std::optional<std::string> event_type;   // exact eventType
  std::optional<std::string> reason;       // case-insensitive substring of the reason
  std::optional<TimePoint> since;          // lastFailure >= since
  std::optional<TimePoint> until;          // lastFailure <= until
  std::optional<DeadLetterStatus> status;  // nullopt: any status

  /// The conditions the store evaluates: all but `reason`.
  std::vector<FieldFilter> StoreFilters() const;
  /// Whether `reason` satisfies the reason condition (always true without one).
  bool MatchesReason(std::string_view reason) const;
  /// The conditions set, for audit details: {queue?, eventType?, reason?, since?, until?, status?}.
  json::object ToJson() const;
};

/// POST /api/dlq/retry-all, validated.
struct RedriveAllRequest {
  DeadLetterFilter filter;  // status is always `dead`
  bool dry_run = false;
  int64_t limit = 100;
};

/// The dead-letter queue a client means by `name`: a dead-letter queue's own name, the module
/// queue it belongs to ("payments.events.queue") or the module ("payments").
std::optional<std::string> ResolveDeadLetterQueue(const Topology& topology, std::string_view name);

/// The GET /api/dlq filters from the query string: queue, eventType, reason, since, until
/// (RFC 3339), status (one of kStatusList or "all"; default "dead"). Every bad value is named in
/// one kValidationFailed. Other parameters (limit, offset) are left to ReadPage.
Result<DeadLetterFilter> FilterFromQuery(const ApiRequest& request, const Topology& topology);

/// The body of POST /api/dlq/retry-all: {queue?, eventType?, reason?, since?, until?,
/// dryRun?: bool, limit?: 1..options.retry_all_max_limit}. Unknown fields and bad values →
/// kValidationFailed naming every one.
Result<RedriveAllRequest> ParseRedriveAll(const json::object& body, const Topology& topology,
                                          const DlqOptions& options);

}  // namespace shopflow::monitor
