#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace shopflow {

/// How to open a MongoStore.
struct MongoStoreOptions {
  /// mongodb://user:pass@host:27017/ecommerce?authSource=admin (see mongo/mongo_url.hpp for the
  /// timeouts added when the URL sets none).
  std::string url;
  /// Overrides the URL's database (the conformance tests use one database per test).
  std::string database;
  /// Appended to the database name (the app gives a module subset its own database, as it
  /// gives it its own SQLite file).
  std::string database_suffix;
  /// Collections and their indexed/unique fields, as for SqliteStore: names and fields match
  /// [A-Za-z0-9_]+; "outbox", "inbox" and "sequences" are reserved.
  std::vector<CollectionSpec> collections;
  /// Threads running writes and reads (each holds one pooled client while it works); the
  /// client pool holds workers + 4 clients.
  size_t workers = 8;
  /// How long one Write may keep retrying transient transaction errors (write conflicts,
  /// elections, an unknown commit result) before it fails with kUnavailable.
  std::chrono::milliseconds retry_budget{30'000};
  /// How often the background ping refreshes Status().
  std::chrono::milliseconds ping_interval{2'000};
};

/// The MongoDB document store (issue 9): one MongoDB collection per CollectionSpec with `_id` =
/// the document id and the document's own fields (keys escaped by mongo/bson_codec.hpp only when
/// MongoDB could not store them); unique indexes on unique fields, {field, _id} indexes on
/// indexed fields; the outbox as the "outbox" collection keyed by a sequence drawn from a
/// counter document inside the same transaction (so sequence order is commit order), the inbox
/// as "inbox" keyed by {consumer, messageId}.
///
/// Every Write runs on a worker thread inside a multi-document transaction (snapshot reads on
/// the transaction's session, so the fn sees its own writes; majority write concern) and is
/// retried whole on TransientTransactionError and its commit on UnknownTransactionCommitResult,
/// so a WriteFn may run more than once before `done`: it must not have effects outside the
/// transaction that a retry would repeat. Reads run on the same workers inside a read-only
/// snapshot transaction; `done` is called on the worker (or inline when Read is called from a
/// worker, e.g. inside a done callback). No driver call ever runs on the caller's thread except
/// in PendingOutbox and MarkOutboxSent (called by the relay's own thread), which are bounded by
/// the URL's timeouts; CountPendingOutbox answers the count the monitor thread made at its last
/// ping (up to ping_interval old), so health, stats and metrics never wait on the server.
///
/// Transactions need a replica set (or a sharded cluster): Open refuses a standalone server with
/// an error that says how to start one. The driver's pool reconnects by itself after a server
/// restart or failover; writes in between fail with kUnavailable (after retries).
///
/// Thread-safe. Destruction finishes queued work, then joins the workers.
class MongoStore final : public Store {
 public:
  /// Connects, checks that the server supports transactions, creates collections and indexes
  /// and starts the workers. kValidationFailed for a bad URL or collection spec; kUnavailable,
  /// with the cause, when the server is unreachable, refuses the credentials or is standalone.
  static Result<std::unique_ptr<MongoStore>> Open(MongoStoreOptions options);

  ~MongoStore() override;
  MongoStore(const MongoStore&) = delete;
  MongoStore& operator=(const MongoStore&) = delete;

  void Write(WriteFn fn, DoneFn done) override;
  void Read(ReadFn fn, DoneFn done) override;
  Result<std::vector<OutboxRecord>> PendingOutbox(size_t limit) override;
  Result<size_t> CountPendingOutbox(size_t cap) override;
  Result<void> MarkOutboxSent(std::span<const int64_t> sequences) override;
  void SetOutboxListener(OutboxListener listener) override;
  /// {"mongodb", last background ping succeeded, redacted URL and database}. No I/O: health
  /// checks call it on HTTP threads.
  StoreStatus Status() const override;

  /// Drops the store's whole database (tests clean up with it). Blocking.
  Result<void> DropDatabase();

 private:
  struct Impl;
  explicit MongoStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shopflow
