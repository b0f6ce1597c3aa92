#pragma once

// `shopflow migrate --from sqlite://... --to mongodb://...` (issue 9): copies a SQLite data
// directory into another store, normally MongoDB.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>

#include "core/result.hpp"
#include "storage/sqlite/sqlite_export.hpp"
#include "storage/store.hpp"

namespace shopflow {

struct MigrationCounts {
  struct Collection {
    int64_t inserted = 0;  // missing in the target, added
    int64_t updated = 0;   // present in the target, replaced by the source's version
  };
  std::map<std::string, Collection> collections;
  int64_t outbox_appended = 0;
  int64_t outbox_already_pending = 0;  // the target already waits to publish them
  int64_t inbox_marked = 0;
  int64_t inbox_already_marked = 0;
};

/// Copies every document (upsert by id), every pending outbox event (skipping those whose
/// message id already waits in the target's outbox) and every inbox mark of `source` (a
/// snapshot from the SQLite export API) into `target`, a store opened with the snapshot's
/// collections, reading and writing at most `batch` items per page and transaction. Re-running it
/// is harmless: a second run inserts nothing, marks nothing and appends nothing that is still
/// pending. Events the target already relayed are appended again (consumers drop duplicates
/// through their inbox). Stops at the first failing batch, naming it.
Result<MigrationCounts> CopySnapshot(SqliteSnapshot& source, Store& target, int64_t batch = 200);

/// The database file a --from value names: sqlite://FILE, sqlite://DIR (its shopflow.db), or a
/// plain path. kValidationFailed naming the problem.
Result<std::string> SqliteSourcePath(const std::string& from);

/// The whole command: opens the source and the target (mongodb://... or sqlite://FILE), copies
/// and prints the counts to `out`. Returns the process exit code (0 ok, 1 failure).
int RunMigrate(const std::string& from, const std::string& to, std::ostream& out,
               std::ostream& err);

}  // namespace shopflow
