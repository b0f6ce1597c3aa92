#include "monitor/dlq/audit_log.hpp"

#include <utility>

#include "core/ids.hpp"
#include "storage/await.hpp"

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

boost::asio::awaitable<Result<json::value>> ReadAuditLog(Store& store,
                                                         std::optional<std::string> action,
                                                         Page page) {
  FoundPage found;
  auto read = co_await AwaitRead(store, [&](ReadTransaction& txn) -> Result<void> {
    FindQuery query;
    if (action) query.filters.push_back({"action", FieldFilter::Op::kEq, *action});
    query.limit = page.limit;
    query.offset = page.offset;
    query.newest_first = true;
    auto result = txn.Find(kAuditLogCollection, query);
    if (!result) return std::move(result).error();
    found = std::move(*result);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  json::array data;
  for (auto& doc : found.docs) data.emplace_back(std::move(doc));
  co_return ListBody(std::move(data), found.total, page);
}

}  // namespace shopflow::monitor
