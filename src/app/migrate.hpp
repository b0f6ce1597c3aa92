#pragma once

// `shopflow migrate --from sqlite://... --to mongodb://...` (issue 9): copies a SQLite data
// directory into another store, normally MongoDB.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "storage/store.hpp"

namespace shopflow {

/// A read-only, consistent view of a SqliteStore database file. It reads the file directly
/// (SQLite only, in migrate.cpp) because the Store interface returns documents without their
/// ids and cannot list inbox marks, and a migration needs both.
class SqliteSnapshot {
 public:
  struct Document {
    std::string id;
    json::object doc;
  };
  struct InboxMark {
    std::string consumer;
    std::string message_id;
  };

  /// Opens `path` read-only and starts one read transaction, so everything read comes from the
  /// same committed state even while shopflow keeps writing to the file. kUnavailable when the
  /// file is missing or is not a shopflow database.
  static Result<std::unique_ptr<SqliteSnapshot>> Open(const std::string& path);
  ~SqliteSnapshot();
  SqliteSnapshot(const SqliteSnapshot&) = delete;
  SqliteSnapshot& operator=(const SqliteSnapshot&) = delete;

  /// The document collections in the file, by name.
  const std::vector<std::string>& collections() const { return collections_; }
  /// Documents of `collection` ordered by id, `limit` of them after the id `after` ("" first).
  Result<std::vector<Document>> Documents(const std::string& collection, const std::string& after,
                                          int64_t limit);
  /// Inbox marks ordered by (consumer, message id), `limit` after the given one.
  Result<std::vector<InboxMark>> Inbox(const InboxMark& after, int64_t limit);
  /// Unsent outbox events in append order.
  Result<std::vector<Envelope>> PendingOutbox();

 private:
  struct Handle;
  SqliteSnapshot(std::unique_ptr<Handle> handle, std::vector<std::string> collections);
  std::unique_ptr<Handle> handle_;
  std::vector<std::string> collections_;
};

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
/// message id already waits in the target's outbox) and every inbox mark into `target`, a store
/// opened with the snapshot's collections, `batch` items per transaction. Re-running it is
/// harmless: a second run inserts nothing, marks nothing and appends nothing that is still
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
