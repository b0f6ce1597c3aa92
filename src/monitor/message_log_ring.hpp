#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "monitor/message_log.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// The message log is a ring of kLogPartitions collections written in turn. New rows go to the
/// current partition; once it holds its share of the log's cap, the next one is emptied whole
/// (Transaction::Clear) and becomes the current. Dropping a partition at once costs a fraction
/// of deleting its rows one by one through the table and its seven indexes, which was ~16 % of
/// the process's CPU at the peak (docs/PERFORMANCE.md). The partitions and the ring's state are
/// ordinary collections declared at open, so processes sharing the log (scale-out) never see
/// the schema change under them, and every backend works the same way.
inline constexpr int kLogPartitions = 4;
/// One document ("ring"): {current, rows}: the partition taking new rows and how many it holds.
inline constexpr std::string_view kLogRingCollection = "messages_ring";

/// Partition `index`'s collection: "messages" for 0 (the log's one collection in earlier
/// versions, whose rows thus stay readable and in the ring), "messages_p<index>" for the others.
const std::string& LogPartition(int index);

/// Every collection of the log: its partitions, each like `partition` (MessageLogCollection's
/// indexed fields, plus any TTL the caller set) but named by LogPartition, and the ring's state.
std::vector<CollectionSpec> MessageLogCollections(
    const CollectionSpec& partition = MessageLogCollection());

/// Rows a partition takes before the next one is emptied and used, for a log kept to at most
/// `max_count` rows (so the log holds between (kLogPartitions - 1) and kLogPartitions times
/// this); 0 when `max_count` <= 0 (no cap: the current partition takes every row).
int64_t LogPartitionRows(int64_t max_count);

/// The ring's state as `txn` sees it. `rows` is -1 when no state has been written yet (a new
/// log, or one an earlier version wrote into "messages" alone): partition 0 is then current.
struct LogRing {
  int current = 0;
  int64_t rows = -1;
};
Result<LogRing> ReadLogRing(ReadTransaction& txn);

/// The partitions from the oldest rows to the newest (the one after the current first).
std::vector<int> LogPartitionsOldestFirst(const LogRing& ring);

/// Inserts `count` rows into the log within `txn`: `insert(txn, partition, i)` writes the i-th
/// into `partition`. Each goes to the current partition; when that holds `partition_rows` (> 0)
/// the next is emptied and becomes the current. Returns how many rows emptying removed.
using LogRowInserter =
    std::function<Result<void>(Transaction& txn, std::string_view partition, size_t i)>;
Result<int64_t> AppendToLog(Transaction& txn, size_t count, int64_t partition_rows,
                            const LogRowInserter& insert);

/// ReadTransaction::Find over the whole log: rows matching every filter, newest first (or
/// oldest), paged by offset and limit (< 0: all), with the total when asked. Rows are ordered
/// by id within a partition and partitions by the ring, which is the order of their ids when
/// one process writes the log (several processes sharing it may interleave a few rows around a
/// partition's boundary).
Result<FoundPage> FindInLog(ReadTransaction& txn, const FindQuery& query);
/// Rows of the whole log matching every filter.
Result<int64_t> CountInLog(ReadTransaction& txn, std::span<const FieldFilter> filters);

}  // namespace shopflow::monitor
