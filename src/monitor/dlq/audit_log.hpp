#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

inline constexpr std::string_view kAuditLogCollection = "audit_log";

/// The actions the dead-letter manager records in the "audit_log" collection.
namespace audit_actions {
inline constexpr std::string_view kRedrive = "redrive";  // one message claimed for a re-drive
inline constexpr std::string_view kRedriveAll = "redrive_all";  // retry-all claimed messages
inline constexpr std::string_view kRedriveAllDryRun = "redrive_all_dry_run";
inline constexpr std::string_view kRedriveCompleted = "redrive_completed";  // sent, redriven
inline constexpr std::string_view kRedriveFailed = "redrive_failed";  // broker refused: dead again
inline constexpr std::string_view kRedriveRecovered = "redrive_recovered";  // re-sent at start-up
inline constexpr std::string_view kDiscard = "discard";
inline constexpr std::string_view kAlert = "alert";
}  // namespace audit_actions

/// Who caused an action: an API client (its address) or the manager itself ("system").
struct Actor {
  std::string name;
  std::string correlation_id;

  static Actor System() { return Actor{"system", ""}; }
};

/// One row of the audit log: {auditId, action, messageIds, actor, correlationId, at, details}.
struct AuditEntry {
  std::string action;
  std::vector<std::string> message_ids;
  Actor actor;
  json::object details;
};

/// The collection spec of the audit log ("action" and "at" indexed).
CollectionSpec AuditLogCollection();

/// Appends `entry`, stamped `at`, inside `txn` (so it commits with the state change it records).
Result<void> AppendAudit(Transaction& txn, const AuditEntry& entry, TimePoint at);

/// The rows of the audit log, newest first, optionally of one `action`, in the list shape: what
/// GET /api/dlq/audit (the manager's) and GET /api/audit (security's) answer alike.
boost::asio::awaitable<Result<json::value>> ReadAuditLog(Store& store,
                                                         std::optional<std::string> action,
                                                         Page page);

}  // namespace shopflow::monitor
