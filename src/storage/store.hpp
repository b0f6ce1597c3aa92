#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"

namespace shopflow {

/// A collection of JSON documents keyed by a string id (the seed's MongoDB collections).
/// `indexed_fields` are top-level string fields that queries filter on; `unique_fields` are
/// top-level fields whose values must be unique across the collection (e.g. a product's sku).
struct CollectionSpec {
  std::string name;
  std::vector<std::string> indexed_fields;
  std::vector<std::string> unique_fields;
  /// Retention: documents may be dropped once `expire_after` has passed since the RFC 3339 time
  /// in their top-level `expire_field` (the seed's TTL on messages). Backends with a native TTL
  /// (MongoDB) apply it; the others keep documents until their owner prunes them (the message
  /// logger prunes by age and count on every backend). Empty field: no TTL.
  std::string expire_field;
  std::chrono::seconds expire_after{0};
  /// Fields queries filter on whose few distinct values make an index cost more to keep than it
  /// saves (a log row's status, 4 values, written ~30,000 times a second at the peak: every
  /// insert rewrote the tail page of each value's range). SQLite keeps them in plain columns
  /// filled on write, without an index, so a filter compares a column instead of parsing each
  /// document; MongoDB filters on the document's field. A field also in indexed_fields or
  /// unique_fields is indexed.
  std::vector<std::string> column_fields;
};

/// The collections of several services, each name once (services share some, such as
/// idempotency keys): the first spec of a name wins.
std::vector<CollectionSpec> MergeCollections(std::vector<std::vector<CollectionSpec>> groups);

/// A filter on one top-level field: equality, or a string range (ISO timestamps and ULIDs sort
/// as strings).
struct FieldFilter {
  enum class Op { kEq, kGte, kLte };
  std::string field;
  Op op = Op::kEq;
  std::string value;
};

/// List query: all filters must hold (AND); results ordered by id (ULIDs: creation time).
struct FindQuery {
  std::vector<FieldFilter> filters;
  int64_t limit = 50;
  int64_t offset = 0;
  bool newest_first = true;
  /// Whether FoundPage::total is wanted. Counting reads every match (O(matches) in SQLite and
  /// MongoDB), so callers that only want a page (retention passes) turn it off.
  bool count_total = true;
};

struct FoundPage {
  std::vector<json::object> docs;
  int64_t total = 0;  // matches ignoring limit/offset; -1 when the query did not count them
};

/// Reads within one consistent snapshot. Not thread-safe; lives only inside Store::Read/Write.
class ReadTransaction {
 public:
  virtual ~ReadTransaction() = default;
  virtual Result<std::optional<json::object>> Get(std::string_view collection,
                                                  std::string_view id) = 0;
  /// The document `id` as JSON text, for answering a read as stored without parsing it and
  /// serializing it again. The text is the document Get returns (the same fields and values;
  /// the SQLite store returns the bytes it stored). The default serializes Get's document.
  virtual Result<std::optional<std::string>> GetText(std::string_view collection,
                                                     std::string_view id);
  /// The document whose `field` (a unique or indexed field) equals `value`, if any.
  virtual Result<std::optional<json::object>> FindOne(std::string_view collection,
                                                      std::string_view field,
                                                      std::string_view value) = 0;
  virtual Result<FoundPage> Find(std::string_view collection, const FindQuery& query) = 0;
  virtual Result<int64_t> Count(std::string_view collection,
                                std::span<const FieldFilter> filters) = 0;
};

/// The value of a document's top-level string field, as its writer knows it (see
/// Transaction::InsertTextIndexed). nullopt: the document has no such field.
struct KnownField {
  std::string_view name;
  std::optional<std::string_view> value;
};

/// Writes within one atomic unit: all of a transaction's writes, outbox rows and inbox marks
/// commit together or not at all.
class Transaction : public ReadTransaction {
 public:
  /// kConflict when the id or a unique field value already exists.
  virtual Result<void> Insert(std::string_view collection, std::string_view id,
                              const json::object& doc) = 0;
  /// Insert of a document given as JSON text, for a writer that has it serialized already
  /// (e.g. by ToJsonText): the SQLite store stores the text as it is, without writing it
  /// again. The text must be one JSON object. kValidationFailed when it is not; the SQLite
  /// store checks that it is braced and, when it parses it for its indexed fields' values, that
  /// it parses, so malformed braced text in a collection without indexed fields (or given to
  /// InsertTextIndexed) is stored and fails when read. The default parses it and calls Insert.
  virtual Result<void> InsertText(std::string_view collection, std::string_view id,
                                  std::string_view json_text);
  /// InsertText for a writer that also knows the values of the collection's indexed fields
  /// (each a string, or absent): a store that indexes them beside the document (SQLite) takes
  /// them from `known` instead of parsing the text. Precondition: each value is exactly what
  /// the document holds in that top-level field. Fields missing from `known` are taken from
  /// the document. The default ignores `known`.
  virtual Result<void> InsertTextIndexed(std::string_view collection, std::string_view id,
                                         std::string_view json_text,
                                         std::span<const KnownField> known);
  /// Replaces an existing document; kNotFound when absent; kConflict on a unique clash.
  virtual Result<void> Replace(std::string_view collection, std::string_view id,
                               const json::object& doc) = 0;
  virtual Result<void> Remove(std::string_view collection, std::string_view id) = 0;
  /// Removes up to `limit` documents matching every filter, lowest ids first (with ULIDs: the
  /// oldest), and returns how many it removed. For bulk retention: no document is read or
  /// parsed, and one statement replaces a find-then-remove round per document. Filters should
  /// be selective and on indexed fields: the matches are found through them, then ordered.
  virtual Result<int64_t> RemoveFirst(std::string_view collection,
                                      std::span<const FieldFilter> filters, int64_t limit) = 0;
  /// Removes every document of `collection` and returns how many it removed: for a collection
  /// emptied whole (a partition of the message log), which costs far less than removing its
  /// documents one by one (SQLite frees the table's and its indexes' pages without visiting
  /// each row's index entries).
  virtual Result<int64_t> Clear(std::string_view collection) = 0;

  /// Transactional outbox: the event is stored with this transaction and relayed after commit.
  /// Taken by value: a store that hands committed events to its outbox listener keeps it.
  virtual Result<void> AppendOutbox(Envelope event) = 0;
  /// Inbox: records that `consumer` applied `message_id`. Returns false (and records nothing)
  /// when it was already applied, so the caller skips the effect.
  virtual Result<bool> MarkApplied(std::string_view consumer, std::string_view message_id) = 0;
  /// Inbox retention: removes up to `limit` marks (of any consumer) applied before
  /// `applied_before` and returns how many it removed. A message delivered again after its mark
  /// is gone is applied again, so callers keep marks far longer than any redelivery can come
  /// (storage/store_retention.hpp). A mark goes only once its own applied time is before
  /// `applied_before`; how the store finds them is its own (SQLite: by the time prefix of ids
  /// that are ULIDs, with no index to maintain; MongoDB: an index on the applied time).
  virtual Result<int64_t> PruneInbox(TimePoint applied_before, int64_t limit) = 0;
};

/// One event waiting in the outbox.
struct OutboxRecord {
  int64_t sequence = 0;
  Envelope event;
};

/// Told, on the store's writer thread, of each commit that appended outbox events. `committed`
/// holds those events in sequence order when the store hands them over (SQLite: its relay then
/// publishes them without reading them back), or is empty (the relay reads PendingOutbox).
using OutboxListener = std::function<void(std::vector<OutboxRecord> committed)>;

struct StoreStatus {
  std::string backend;  // "sqlite" or "mongodb"
  bool connected = false;
  std::string detail;
};

using WriteFn = std::function<Result<void>(Transaction&)>;
using ReadFn = std::function<Result<void>(ReadTransaction&)>;
using DoneFn = std::function<void(Result<void>)>;

/// The document store with transactions, outbox and inbox (ARCHITECTURE.md principle 7).
/// Implementations: SqliteStore (embedded default) and MongoStore. Thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  /// Runs `fn` in a write transaction on the store's own writer thread; commits iff `fn`
  /// returns ok (and rolls back everything `fn` did otherwise). `done` is called exactly once,
  /// on the writer thread, after the commit is durable or the work rolled back. Concurrent
  /// writes may be grouped into one physical transaction, each isolated by a savepoint.
  /// `fn` must not block on anything but the transaction it is given.
  virtual void Write(WriteFn fn, DoneFn done) = 0;
  /// Runs `fn` against a consistent snapshot and calls `done` (possibly inline, on the caller's
  /// thread, when the backend's reads are in-process and fast, as SQLite's are).
  virtual void Read(ReadFn fn, DoneFn done) = 0;

  /// Oldest unsent outbox events, up to `limit`.
  virtual Result<std::vector<OutboxRecord>> PendingOutbox(size_t limit) = 0;
  virtual Result<void> MarkOutboxSent(std::span<const int64_t> sequences) = 0;
  /// The same without waiting: `done` gets the outcome (SQLite: on the writer thread, with the
  /// next group commit). The default marks inline and then calls `done`.
  virtual void MarkOutboxSentLater(std::vector<int64_t> sequences, DoneFn done) {
    done(MarkOutboxSent(sequences));
  }
  /// How many outbox events wait, counting at most `cap` (health, stats and metrics read it
  /// every second, some from HTTP threads: it must not wait on a remote server, so it may be a
  /// recent count rather than an exact one). The default reads the events; backends override
  /// it with a plain count (SQLite) or the count of a background round (MongoDB).
  virtual Result<size_t> CountPendingOutbox(size_t cap) {
    auto pending = PendingOutbox(cap);
    if (!pending) return std::move(pending).error();
    return pending->size();
  }
  /// Called (from the writer thread) after each commit that appended outbox rows and before
  /// that commit's writes complete, to wake a relay (see OutboxListener). Set once, before
  /// writes start.
  virtual void SetOutboxListener(OutboxListener listener) = 0;

  virtual StoreStatus Status() const = 0;
};

/// Blocking conveniences for threads that may block (bus consumers, the outbox relay, tests).
/// Never call them on an HTTP I/O thread: use the awaitable versions in storage/await.hpp.
Result<void> WriteAndWait(Store& store, WriteFn fn);
Result<void> ReadAndWait(Store& store, ReadFn fn);

}  // namespace shopflow
