#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"

namespace shopflow {

namespace sqlite {
class Connection;
class SqlTransaction;
class WalCheckpointer;
struct Schema;
}  // namespace sqlite

/// How to open a SqliteStore.
struct SqliteStoreOptions {
  /// Database file. Its parent directory is created when missing. ":memory:" is rejected: the
  /// writer and the readers use separate connections, which must share one file.
  std::string path;
  /// Collections and their indexed/unique fields. Names and fields must match [A-Za-z0-9_]+
  /// (they become SQL identifiers); "outbox", "inbox" and "sqlite_*" are reserved.
  std::vector<CollectionSpec> collections;
  /// Most writes grouped into one physical transaction (group commit).
  size_t max_batch = 256;
  /// synchronous=FULL (durable across power loss) instead of NORMAL (durable across process
  /// crashes; the last commits may be lost on power loss, as WAL mode allows).
  bool synchronous_full = false;
  /// How long a connection waits for a lock held by another connection before failing.
  std::chrono::milliseconds busy_timeout{5000};
  /// Reader connections kept open between reads; more are opened on demand under load.
  size_t max_idle_readers = 8;
  /// WAL pages written before a checkpoint copies them into the database (SQLite's default is
  /// 1,000). Larger: fewer copies of pages that change often, a longer WAL file between
  /// checkpoints (pages × 4 KiB, 40 MB here), which journal_size_limit trims back afterwards.
  /// 10,000 vs 1,000 at c32: 601–646 vs 546–559 settled orders/s (docs/PERFORMANCE.md).
  int64_t wal_autocheckpoint_pages = 10000;
  /// Checkpoints run on a thread and a connection of their own (sqlite/wal_checkpointer.hpp)
  /// instead of inside the writer's commits: a pass every quarter of wal_autocheckpoint_pages
  /// or every 1,000 pages, whichever comes first, and the writer's own (short) pass when the WAL
  /// reaches wal_autocheckpoint_pages.
  bool background_checkpoints = true;
  /// The writer connection's page cache in KiB (0: SQLite's default, 2 MiB).
  int64_t writer_cache_kib = 0;
};

/// Counters for tests and metrics.
struct SqliteStoreStats {
  uint64_t batches = 0;                 // physical transactions committed
  uint64_t writes_committed = 0;        // Write calls whose fn succeeded and committed
  uint64_t writes_failed = 0;           // Write calls that rolled back (fn error or batch failure)
  uint64_t checkpoints_background = 0;  // background_checkpoints: passes of its thread
  uint64_t checkpoints_by_writer = 0;   // background_checkpoints: the writer's passes at the cap
};

/// The embedded document store (ARCHITECTURE.md principles 3 and 7): SQLite in WAL mode, one
/// table per collection holding JSON documents, with plain columns (filled by the store) and
/// indexes for the indexed/unique fields, plus the outbox and inbox tables.
///
/// Writes run on one writer thread with its own connection; queued writes are grouped into one
/// BEGIN IMMEDIATE … COMMIT (up to max_batch), each isolated by a SAVEPOINT (whose sub-journal
/// stays in memory: temp_store=MEMORY), so a failing write rolls back only itself. Connections
/// open through the WAL write VFS (wal_write_buffer.hpp): a commit's WAL frames reach the file
/// in one write instead of two per page, before the commit returns. Reads run inline on the
/// caller's thread on pooled reader connections, each inside one read transaction (a consistent
/// snapshot); WAL lets them run concurrently with the writer.
///
/// Documents are returned exactly as stored (the id is not added to the document). Filters
/// compare JSON strings as strings; a number never equals a string.
///
/// Thread-safe. Destruction stops accepting writes, finishes the queued ones, joins the writer
/// thread and closes every connection; no Read may be running on another thread by then.
class SqliteStore final : public Store {
 public:
  /// Opens (creating when missing) the database, applies the schema and starts the writer
  /// thread. Every start-up failure (bad collection spec, unusable path, not a database, ...)
  /// is returned as kUnavailable with a message naming the cause.
  static Result<std::unique_ptr<SqliteStore>> Open(SqliteStoreOptions options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  /// See Store::Write. An fn that throws is rolled back and reported as kInternal. After the
  /// destructor has begun, `done` gets kUnavailable inline on the caller's thread.
  void Write(WriteFn fn, DoneFn done) override;
  /// See Store::Read: runs `fn` and then `done` inline on the caller's thread.
  void Read(ReadFn fn, DoneFn done) override;

  /// Oldest unsent outbox events, in append order, read on a reader connection.
  Result<std::vector<OutboxRecord>> PendingOutbox(size_t limit) override;
  Result<size_t> CountPendingOutbox(size_t cap) override;
  /// Deletes the given outbox rows (the highest is kept, marked sent, until a higher one is
  /// sent: sequences are never reused). Goes through the writer thread and blocks until committed;
  /// calling it on the writer thread (from a write fn or a done callback) returns kInternal
  /// instead of deadlocking.
  Result<void> MarkOutboxSent(std::span<const int64_t> sequences) override;
  /// Queues the deletion with the other writes; `done` runs on the writer thread.
  void MarkOutboxSentLater(std::vector<int64_t> sequences, DoneFn done) override;
  /// Replaces the listener; it runs on the writer thread after each commit that appended outbox
  /// rows (before the writes' completions), with those rows (sequences and events), and must be
  /// quick (wake a relay). May be called at any time.
  void SetOutboxListener(OutboxListener listener) override;

  /// {"sqlite", true, path}.
  StoreStatus Status() const override;
  SqliteStoreStats Stats() const;

 private:
  struct WriteItem {
    std::function<Result<void>(sqlite::SqlTransaction&)> fn;
    DoneFn done;
  };
  class ReaderLease;

  SqliteStore(SqliteStoreOptions options, std::unique_ptr<sqlite::Schema> schema,
              std::unique_ptr<sqlite::Connection> writer,
              std::unique_ptr<sqlite::Connection> first_reader,
              std::unique_ptr<sqlite::WalCheckpointer> checkpointer);

  void Enqueue(WriteItem item);
  void WriterLoop();
  void RunBatch(std::vector<WriteItem>& batch);
  Result<ReaderLease> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::Connection> connection);

  const SqliteStoreOptions options_;
  const std::unique_ptr<sqlite::Schema> schema_;
  const std::unique_ptr<sqlite::Connection> writer_;       // used only by writer_thread_
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;  // null: SQLite's own checkpoints

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<sqlite::Connection>> idle_readers_;

  std::mutex listener_mutex_;
  OutboxListener outbox_listener_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<WriteItem> queue_;
  bool stopping_ = false;

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> writes_committed_{0};
  std::atomic<uint64_t> writes_failed_{0};

  // The outbox row DeleteOutbox last kept as the highest (-1: none); writer thread only.
  int64_t kept_outbox_sequence_ = -1;
  std::thread writer_thread_;  // last: starts after every other member is constructed
};

}  // namespace shopflow
