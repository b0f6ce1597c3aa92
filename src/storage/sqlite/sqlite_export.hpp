#pragma once

// The export API of SqliteStore data files: everything a migration to another store needs and
// the Store interface does not give (documents with their ids, every collection, the inbox
// marks), read without a running SqliteStore. It lives here so that <sqlite3.h> stays inside
// src/storage/sqlite (ARCHITECTURE.md); `shopflow migrate` (src/app/migrate.cpp) is its user.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/result.hpp"
#include "storage/store.hpp"

namespace shopflow {

/// A read-only, consistent view of a database file written by SqliteStore.
///
/// Open starts one read transaction that lasts as long as the snapshot: every page read comes
/// from the same committed state even while a shopflow process keeps writing to the file (WAL
/// mode lets that writer go on; it only cannot checkpoint past the snapshot meanwhile). Nothing
/// is ever written to the database.
///
/// Reads page by key (`after` + `limit`), so a large file is exported in bounded memory.
///
/// Not thread-safe: use it from one thread at a time. Destruction ends the read transaction
/// and closes the file.
class SqliteSnapshot {
 public:
  struct Document {
    std::string id;
    json::object doc;  // exactly as stored (the id is not added to it)
  };
  struct InboxMark {
    std::string consumer;
    std::string message_id;
  };

  /// Opens `path` read-only and takes the snapshot. kUnavailable, naming the path, when the
  /// file is missing, is not a SQLite database, or is not a shopflow one (no outbox and inbox
  /// tables).
  static Result<std::unique_ptr<SqliteSnapshot>> Open(const std::string& path);

  ~SqliteSnapshot();
  SqliteSnapshot(const SqliteSnapshot&) = delete;
  SqliteSnapshot& operator=(const SqliteSnapshot&) = delete;

  /// The file this snapshot reads.
  const std::string& path() const { return path_; }
  /// The document collections in the file (every table but outbox and inbox), sorted by name.
  const std::vector<std::string>& collections() const { return collections_; }

  /// Up to `limit` documents of `collection` ordered by id, those after the id `after` (""
  /// starts at the first). An empty page means the end. kNotFound for a collection not in
  /// collections(); kInternal naming the collection and id when a stored document is not a
  /// JSON object.
  Result<std::vector<Document>> Documents(const std::string& collection, const std::string& after,
                                          int64_t limit);

  /// Up to `limit` unsent outbox events in append order, those whose sequence is above
  /// `after_sequence` (0 starts at the first). kInternal naming the row when one is unreadable.
  Result<std::vector<OutboxRecord>> PendingOutbox(int64_t after_sequence, int64_t limit);

  /// Up to `limit` inbox marks ordered by (consumer, message id), those after `after` ({}
  /// starts at the first).
  Result<std::vector<InboxMark>> Inbox(const InboxMark& after, int64_t limit);

 private:
  struct Connection;
  SqliteSnapshot(std::string path, std::unique_ptr<Connection> connection,
                 std::vector<std::string> collections);

  std::string path_;
  std::unique_ptr<Connection> connection_;
  std::vector<std::string> collections_;
};

}  // namespace shopflow
