#include "monitor/message_log_ring.hpp"

#include <algorithm>
#include <array>

namespace shopflow::monitor {
namespace {

constexpr std::string_view kRingId = "ring";

// Names built once: every inserted row names its partition.
const std::array<std::string, kLogPartitions>& PartitionNames() {
  static const auto names = [] {
    std::array<std::string, kLogPartitions> out;
    out[0] = std::string(kMessagesCollection);
    for (int i = 1; i < kLogPartitions; ++i) {
      out[static_cast<size_t>(i)] = std::string(kMessagesCollection) + "_p" + std::to_string(i);
    }
    return out;
  }();
  return names;
}

Result<void> WriteLogRing(Transaction& txn, const LogRing& ring, bool existed) {
  const json::object doc{{"id", kRingId}, {"current", ring.current}, {"rows", ring.rows}};
  return existed ? txn.Replace(kLogRingCollection, kRingId, doc)
                 : txn.Insert(kLogRingCollection, kRingId, doc);
}

}  // namespace

const std::string& LogPartition(int index) { return PartitionNames()[static_cast<size_t>(index)]; }

std::vector<CollectionSpec> MessageLogCollections(const CollectionSpec& partition) {
  std::vector<CollectionSpec> out;
  for (int i = 0; i < kLogPartitions; ++i) {
    CollectionSpec spec = partition;
    spec.name = LogPartition(i);
    out.push_back(std::move(spec));
  }
  out.push_back(CollectionSpec{std::string(kLogRingCollection), {}, {}});
  return out;
}

int64_t LogPartitionRows(int64_t max_count) {
  if (max_count <= 0) return 0;
  return std::max<int64_t>(max_count / kLogPartitions, 1);
}

Result<LogRing> ReadLogRing(ReadTransaction& txn) {
  auto doc = txn.Get(kLogRingCollection, kRingId);
  if (!doc) return std::move(doc).error();
  LogRing ring;
  if (!*doc) return ring;
  const int64_t current = GetInt(**doc, "current");
  // A state this version cannot have written (a different partition count, a hand edit)
  // restarts the ring at partition 0 rather than failing every log write.
  ring.current = current >= 0 && current < kLogPartitions ? static_cast<int>(current) : 0;
  ring.rows = std::max<int64_t>(GetInt(**doc, "rows"), 0);
  return ring;
}

std::vector<int> LogPartitionsOldestFirst(const LogRing& ring) {
  std::vector<int> out;
  for (int k = 1; k <= kLogPartitions; ++k) out.push_back((ring.current + k) % kLogPartitions);
  return out;
}

Result<int64_t> AppendToLog(Transaction& txn, size_t count, int64_t partition_rows,
                            const LogRowInserter& insert) {
  auto read = ReadLogRing(txn);
  if (!read) return std::move(read).error();
  LogRing ring = *read;
  const bool existed = ring.rows >= 0;
  if (!existed) {
    // First write of this log: the current partition may hold an earlier version's rows.
    auto n = txn.Count(LogPartition(ring.current), {});
    if (!n) return std::move(n).error();
    ring.rows = *n;
  }
  int64_t cleared = 0;
  for (size_t i = 0; i < count; ++i) {
    if (partition_rows > 0 && ring.rows >= partition_rows) {
      ring.current = (ring.current + 1) % kLogPartitions;
      auto n = txn.Clear(LogPartition(ring.current));
      if (!n) return std::move(n).error();
      cleared += *n;
      ring.rows = 0;
    }
    if (auto inserted = insert(txn, LogPartition(ring.current), i); !inserted) {
      return std::move(inserted).error();
    }
    ++ring.rows;
  }
  if (auto written = WriteLogRing(txn, ring, existed); !written) {
    return std::move(written).error();
  }
  return cleared;
}

Result<int64_t> CountInLog(ReadTransaction& txn, std::span<const FieldFilter> filters) {
  int64_t total = 0;
  for (int i = 0; i < kLogPartitions; ++i) {
    auto n = txn.Count(LogPartition(i), filters);
    if (!n) return std::move(n).error();
    total += *n;
  }
  return total;
}

Result<FoundPage> FindInLog(ReadTransaction& txn, const FindQuery& query) {
  auto ring = ReadLogRing(txn);
  if (!ring) return std::move(ring).error();
  std::vector<int> order = LogPartitionsOldestFirst(*ring);
  if (query.newest_first) std::reverse(order.begin(), order.end());

  // Skipping `offset` rows across partitions needs each one's count of matches; so does the
  // total. A first page without the total reads partitions until it is full.
  const bool counted = query.count_total || query.offset > 0;
  std::vector<int64_t> matches(order.size(), 0);
  FoundPage out;
  out.total = counted ? 0 : -1;
  if (counted) {
    for (size_t k = 0; k < order.size(); ++k) {
      auto n = txn.Count(LogPartition(order[k]), query.filters);
      if (!n) return std::move(n).error();
      matches[k] = *n;
      out.total += *n;
    }
  }
  int64_t skip = std::max<int64_t>(query.offset, 0);
  int64_t wanted = query.limit;  // < 0: all
  for (size_t k = 0; k < order.size() && wanted != 0; ++k) {
    if (counted) {
      if (matches[k] <= skip) {
        skip -= matches[k];
        continue;
      }
    }
    FindQuery part = query;
    part.offset = skip;
    part.limit = wanted;
    part.count_total = false;
    auto page = txn.Find(LogPartition(order[k]), part);
    if (!page) return std::move(page).error();
    skip = 0;
    if (wanted > 0) wanted -= std::min<int64_t>(wanted, static_cast<int64_t>(page->docs.size()));
    for (auto& doc : page->docs) out.docs.push_back(std::move(doc));
  }
  if (!query.count_total) out.total = -1;
  return out;
}

}  // namespace shopflow::monitor
