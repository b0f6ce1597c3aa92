#include "monitor/dlq/audit_log.hpp"

#include "core/ids.hpp"

namespace shopflow::monitor {

CollectionSpec AuditLogCollection() {
  return CollectionSpec{std::string(kAuditLogCollection), {"action", "at"}, {}};
}

Result<void> AppendAudit(Transaction& txn, const AuditEntry& entry, TimePoint at) {
  const std::string id = NewId();
  json::array ids;
  for (const auto& m : entry.message_ids) ids.emplace_back(m);
  json::object doc{{"auditId", id},
                   {"action", entry.action},
                   {"messageIds", std::move(ids)},
                   {"actor", entry.actor.name},
                   {"correlationId", entry.actor.correlation_id},
                   {"at", FormatRfc3339(at)},
                   {"details", entry.details}};
  return txn.Insert(kAuditLogCollection, id, doc);
}

}  // namespace shopflow::monitor
