#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "events/topology.hpp"
#include "monitor/dlq/dead_letter_filter.hpp"
#include "monitor/dlq/dead_letter_record.hpp"
#include "storage/store.hpp"

// Transaction-level building blocks of the dead-letter manager: reading, storing and moving
// dead-letter records. None of them blocks beyond the transaction it is given.

namespace shopflow::monitor {

inline constexpr std::string_view kDeadLettersCollection = "dead_letters";

/// The collections the manager stores: "dead_letters" (messageId, eventType, queue, reason,
/// status and lastFailure indexed) and "audit_log" (AuditLogCollection()).
std::vector<CollectionSpec> DlqCollections();

/// Every record of `message_id` (only those in `queue` when given), oldest first.
Result<std::vector<DeadLetterRecord>> FindByMessageId(ReadTransaction& txn,
                                                      std::string_view message_id,
                                                      const std::optional<std::string>& queue);

struct MatchedRecords {
  std::vector<DeadLetterRecord> records;
  int64_t total = 0;  // all matches, ignoring the limit
};

/// The records matching `filter`, at most `limit` (negative: all) in id order (creation time).
/// The reason condition is evaluated here, on every record the store conditions select.
Result<MatchedRecords> FindMatching(ReadTransaction& txn, const DeadLetterFilter& filter,
                                    int64_t limit, bool newest_first);

/// Stores the record of one dead-letter delivery: merged into the `dead` record of the same
/// messageId in the same queue when there is one (occurrences + 1; reason, attempts and
/// lastFailure of the latest copy; the earliest firstFailure), else inserted under a new id.
/// Returns true when a record was inserted.
Result<bool> StoreDeadLetter(Transaction& txn, DeadLetterRecord record);

/// Moves record `record_id` from `from` to `to` (stamping updatedAt) when it still is `from`.
/// Returns the moved record, or nullopt when it is missing or in another status.
Result<std::optional<DeadLetterRecord>> TransitionRecord(Transaction& txn,
                                                         std::string_view record_id,
                                                         DeadLetterStatus from, DeadLetterStatus to,
                                                         TimePoint now);

/// The number of `dead` records.
Result<int64_t> CountDead(ReadTransaction& txn);
/// The number of `dead` records of each dead-letter queue of `topology`, in topology order.
Result<std::vector<std::pair<std::string, int64_t>>> CountDeadByQueue(ReadTransaction& txn,
                                                                      const Topology& topology);

}  // namespace shopflow::monitor
