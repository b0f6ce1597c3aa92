#include "monitor/dlq/dead_letter_records.hpp"

#include <algorithm>

#include "core/ids.hpp"
#include "monitor/dlq/audit_log.hpp"

namespace shopflow::monitor {
namespace {

Result<std::vector<DeadLetterRecord>> ParseAll(const std::vector<json::object>& docs) {
  std::vector<DeadLetterRecord> records;
  records.reserve(docs.size());
  for (const auto& doc : docs) {
    auto record = DeadLetterRecord::FromJson(doc);
    if (!record) return std::move(record).error();
    records.push_back(std::move(*record));
  }
  return records;
}

FieldFilter Eq(std::string field, std::string value) {
  return FieldFilter{std::move(field), FieldFilter::Op::kEq, std::move(value)};
}

}  // namespace

std::vector<CollectionSpec> DlqCollections() {
  return {CollectionSpec{std::string(kDeadLettersCollection),
                         {"messageId", "eventType", "queue", "reason", "status", "lastFailure"},
                         {}},
          AuditLogCollection()};
}

Result<std::vector<DeadLetterRecord>> FindByMessageId(ReadTransaction& txn,
                                                      std::string_view message_id,
                                                      const std::optional<std::string>& queue) {
  FindQuery query;
  query.filters.push_back(Eq("messageId", std::string(message_id)));
  if (queue) query.filters.push_back(Eq("queue", *queue));
  query.limit = -1;
  query.newest_first = false;
  auto page = txn.Find(kDeadLettersCollection, query);
  if (!page) return std::move(page).error();
  return ParseAll(page->docs);
}

Result<MatchedRecords> FindMatching(ReadTransaction& txn, const DeadLetterFilter& filter,
                                    int64_t limit, bool newest_first) {
  FindQuery query;
  query.filters = filter.StoreFilters();
  // The store cannot match substrings: with a reason condition every candidate is read.
  query.limit = filter.reason ? -1 : limit;
  query.offset = 0;
  query.newest_first = newest_first;
  auto page = txn.Find(kDeadLettersCollection, query);
  if (!page) return std::move(page).error();
  auto records = ParseAll(page->docs);
  if (!records) return std::move(records).error();

  MatchedRecords matched;
  if (!filter.reason) {
    matched.records = std::move(*records);
    matched.total = page->total;
    return matched;
  }
  for (auto& r : *records) {
    if (!filter.MatchesReason(r.reason)) continue;
    ++matched.total;
    if (limit < 0 || static_cast<int64_t>(matched.records.size()) < limit) {
      matched.records.push_back(std::move(r));
    }
  }
  return matched;
}

Result<bool> StoreDeadLetter(Transaction& txn, DeadLetterRecord record) {
  FindQuery query;
  query.filters = {Eq("messageId", record.message_id), Eq("queue", record.queue),
                   Eq("status", std::string(StatusName(DeadLetterStatus::kDead)))};
  query.limit = 1;
  query.newest_first = false;
  auto page = txn.Find(kDeadLettersCollection, query);
  if (!page) return std::move(page).error();
  if (!page->docs.empty()) {
    auto existing = DeadLetterRecord::FromJson(page->docs.front());
    if (!existing) return std::move(existing).error();
    DeadLetterRecord& merged = *existing;
    merged.occurrences += 1;
    merged.reason = std::move(record.reason);
    merged.attempts = record.attempts;
    merged.first_failure = std::min(merged.first_failure, record.first_failure);
    merged.last_failure = std::max(merged.last_failure, record.last_failure);
    merged.updated_at = std::move(record.updated_at);
    if (auto replaced = txn.Replace(kDeadLettersCollection, merged.record_id, merged.ToJson());
        !replaced) {
      return std::move(replaced).error();
    }
    return false;
  }
  record.record_id = NewId();
  if (auto inserted = txn.Insert(kDeadLettersCollection, record.record_id, record.ToJson());
      !inserted) {
    return std::move(inserted).error();
  }
  return true;
}

Result<std::optional<DeadLetterRecord>> TransitionRecord(Transaction& txn,
                                                         std::string_view record_id,
                                                         DeadLetterStatus from, DeadLetterStatus to,
                                                         TimePoint now) {
  auto doc = txn.Get(kDeadLettersCollection, record_id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return std::optional<DeadLetterRecord>();
  auto record = DeadLetterRecord::FromJson(**doc);
  if (!record) return std::move(record).error();
  if (record->status != from) return std::optional<DeadLetterRecord>();
  record->status = to;
  record->updated_at = FormatRfc3339(now);
  if (auto replaced = txn.Replace(kDeadLettersCollection, record_id, record->ToJson()); !replaced) {
    return std::move(replaced).error();
  }
  return std::optional<DeadLetterRecord>(std::move(*record));
}

Result<int64_t> CountDead(ReadTransaction& txn) {
  const FieldFilter dead = Eq("status", std::string(StatusName(DeadLetterStatus::kDead)));
  return txn.Count(kDeadLettersCollection, std::span<const FieldFilter>(&dead, 1));
}

Result<std::vector<std::pair<std::string, int64_t>>> CountDeadByQueue(ReadTransaction& txn,
                                                                      const Topology& topology) {
  std::vector<std::pair<std::string, int64_t>> counts;
  for (const auto& m : topology.modules) {
    if (m.dead_letter_queue.empty()) continue;
    const FieldFilter filters[] = {Eq("status", std::string(StatusName(DeadLetterStatus::kDead))),
                                   Eq("queue", m.dead_letter_queue)};
    auto count = txn.Count(kDeadLettersCollection, filters);
    if (!count) return std::move(count).error();
    counts.emplace_back(m.dead_letter_queue, *count);
  }
  return counts;
}

}  // namespace shopflow::monitor
