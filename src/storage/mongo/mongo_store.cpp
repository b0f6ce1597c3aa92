#include "storage/mongo/mongo_store.hpp"

#include <mongoc/mongoc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "core/clock.hpp"
#include "core/thread_name.hpp"
#include "storage/mongo/bson_codec.hpp"
#include "storage/mongo/mongo_url.hpp"

namespace shopflow {
namespace mongo {
namespace {

constexpr size_t kMaxIdentifierLength = 64;
// Server error codes this store reacts to.
constexpr uint32_t kDuplicateKey = 11000;
constexpr uint32_t kNamespaceExists = 48;
constexpr uint32_t kIndexNotFound = 27;
constexpr const char* kOutbox = "outbox";
constexpr const char* kInbox = "inbox";
constexpr const char* kSequences = "sequences";

/// A stack BSON document destroyed with its scope.
class Bson {
 public:
  Bson() { bson_init(&doc_); }
  ~Bson() { bson_destroy(&doc_); }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  bson_t* get() { return &doc_; }
  const bson_t* get() const { return &doc_; }

 private:
  bson_t doc_;
};

/// A reply the driver always initializes, success or not; destroyed with its scope.
class Reply {
 public:
  Reply() = default;
  ~Reply() {
    if (filled_) bson_destroy(&doc_);
  }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  bson_t* fill() {
    filled_ = true;
    return &doc_;
  }
  const bson_t* get() const { return &doc_; }

 private:
  bson_t doc_{};
  bool filled_ = false;
};

/// Releases a driver handle with the driver's destroy function for its type.
template <auto Destroy>
struct DriverDeleter {
  template <class T>
  void operator()(T* handle) const {
    Destroy(handle);
  }
};
using CollectionPtr =
    std::unique_ptr<mongoc_collection_t, DriverDeleter<mongoc_collection_destroy>>;
using CursorPtr = std::unique_ptr<mongoc_cursor_t, DriverDeleter<mongoc_cursor_destroy>>;
using DatabasePtr = std::unique_ptr<mongoc_database_t, DriverDeleter<mongoc_database_destroy>>;
using SessionPtr =
    std::unique_ptr<mongoc_client_session_t, DriverDeleter<mongoc_client_session_destroy>>;
using ClientPtr = std::unique_ptr<mongoc_client_t, DriverDeleter<mongoc_client_destroy>>;
using PoolPtr = std::unique_ptr<mongoc_client_pool_t, DriverDeleter<mongoc_client_pool_destroy>>;
using TxnOptsPtr =
    std::unique_ptr<mongoc_transaction_opt_t, DriverDeleter<mongoc_transaction_opts_destroy>>;

bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierLength) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HasLabel(const bson_t* reply, const char* label) {
  return reply != nullptr && mongoc_error_has_label(reply, label);
}

// Network trouble, server selection, elections and transient transaction failures are
// environmental (503); a duplicate key is a conflict; anything else is a bug (500).
Error DriverError(const bson_error_t& error, const bson_t* reply, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += error.message;
  if (error.code == kDuplicateKey) return ConflictError(std::move(message));
  if (error.domain == MONGOC_ERROR_STREAM || error.domain == MONGOC_ERROR_SERVER_SELECTION ||
      error.domain == MONGOC_ERROR_CLIENT || HasLabel(reply, "TransientTransactionError") ||
      HasLabel(reply, "UnknownTransactionCommitResult") || HasLabel(reply, "RetryableWriteError")) {
    return UnavailableError(std::move(message));
  }
  return InternalError(std::move(message));
}

// "E11000 duplicate key error collection: db.products index: ux_sku dup key: ..." names the
// index; its name ("ux_<field>", or "_id_") names the clashing field.
std::string DuplicateField(std::string_view message) {
  const size_t at = message.find("index: ");
  if (at == std::string_view::npos) return "id";
  std::string_view index = message.substr(at + 7);
  index = index.substr(0, index.find(' '));
  if (index.starts_with("ux_")) return std::string(index.substr(3));
  return "id";
}

Error Duplicate(std::string field) {
  return Error{ErrorCode::kConflict, field + " already exists", {{field, "already exists"}}};
}

int64_t NowMillis() { return ToUnixMillis(std::chrono::system_clock::now()); }

void AppendString(bson_t* doc, const char* key, std::string_view value) {
  bson_append_utf8(doc, key, -1, value.data(), static_cast<int>(value.size()));
}

std::optional<int64_t> IntField(const bson_t* doc, const char* key) {
  bson_iter_t iter;
  if (!bson_iter_init_find(&iter, doc, key) || !BSON_ITER_HOLDS_NUMBER(&iter)) return {};
  return bson_iter_as_int64(&iter);
}

// A stored document as the Store interface returns it: exactly the fields it was written with
// (the `_id` MongoDB keys it by and the TTL date are not among them).
Result<json::object> StoredDocument(const bson_t* doc) {
  auto object = FromBson(doc);
  if (!object) return std::move(object).error();
  object->erase("_id");
  object->erase(kExpiryField);
  return object;
}

template <class Fn, class Tx>
Result<void> InvokeGuarded(const Fn& fn, Tx& tx) {
  try {
    return fn(tx);
  } catch (const std::exception& e) {
    return InternalError(std::string("transaction function threw: ") + e.what());
  } catch (...) {
    return InternalError("transaction function threw a non-standard exception");
  }
}

// A throwing callback must not take down a worker thread.
template <class Fn, class... Args>
void CallbackGuarded(const char* what, const Fn& fn, Args&&... args) {
  try {
    fn(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    spdlog::error("MongoStore: {} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("MongoStore: {} threw a non-standard exception", what);
  }
}

}  // namespace

struct CollectionInfo {
  std::string name;
  std::set<std::string, std::less<>> indexed;  // every field with an index
  std::set<std::string, std::less<>> unique;
  std::string expire_field;  // empty: no TTL
  std::chrono::seconds expire_after{0};
};

struct Schema {
  std::map<std::string, CollectionInfo, std::less<>> collections;

  Result<const CollectionInfo*> Find(std::string_view name) const {
    auto it = collections.find(name);
    if (it == collections.end()) {
      return InternalError("unknown collection '" + std::string(name) + "'");
    }
    return &it->second;
  }
};

namespace {

Result<Schema> BuildSchema(const std::vector<CollectionSpec>& specs) {
  Schema schema;
  std::set<std::string> seen;
  for (const auto& spec : specs) {
    if (!IsValidIdentifier(spec.name)) {
      return ValidationError("invalid collection name '" + spec.name +
                             "': use 1-64 characters from [A-Za-z0-9_]");
    }
    const std::string lower = Lower(spec.name);
    if (lower == kOutbox || lower == kInbox || lower == kSequences || lower.starts_with("system")) {
      return ValidationError("collection name '" + spec.name + "' is reserved");
    }
    // MongoDB collection names are case-sensitive, but SQLite's are not: refusing names that
    // differ only in case keeps the two backends interchangeable (and migrate lossless).
    if (!seen.insert(lower).second) {
      return ValidationError("collection '" + spec.name + "' is declared twice");
    }
    CollectionInfo info{spec.name, {}, {}, {}, {}};
    if (!spec.expire_field.empty() && spec.expire_after.count() > 0) {
      info.expire_field = spec.expire_field;
      info.expire_after = spec.expire_after;
    }
    for (const auto* fields : {&spec.unique_fields, &spec.indexed_fields}) {
      for (const auto& field : *fields) {
        if (!IsValidIdentifier(field)) {
          return ValidationError("invalid field name '" + field + "' in collection '" + spec.name +
                                 "': use 1-64 characters from [A-Za-z0-9_]");
        }
        info.indexed.insert(field);
        if (fields == &spec.unique_fields) info.unique.insert(field);
      }
    }
    schema.collections.emplace(spec.name, std::move(info));
  }
  return schema;
}

/// Runs a command against the database; codes in `tolerated` count as success.
Result<void> RunCommand(mongoc_client_t* client, const std::string& database, const bson_t* command,
                        std::initializer_list<uint32_t> tolerated, std::string_view context) {
  DatabasePtr db(mongoc_client_get_database(client, database.c_str()));
  Reply reply;
  bson_error_t error;
  if (mongoc_database_write_command_with_opts(db.get(), command, nullptr, reply.fill(), &error)) {
    return Ok();
  }
  if (std::find(tolerated.begin(), tolerated.end(), error.code) != tolerated.end()) return Ok();
  return DriverError(error, reply.get(), context);
}

Result<void> CreateCollection(mongoc_client_t* client, const std::string& database,
                              const std::string& name) {
  Bson command;
  AppendString(command.get(), "create", name);
  return RunCommand(client, database, command.get(), {kNamespaceExists},
                    "cannot create collection " + name);
}

// Unique indexes are partial ({field: {$exists: true}}) so that, as in SQLite where a missing
// value is NULL, any number of documents may lack the field. Plain indexes are {field, _id}:
// every list query filters on fields and sorts by _id.
Result<void> CreateIndex(mongoc_client_t* client, const std::string& database,
                         const std::string& collection, const std::string& field, bool unique) {
  const std::string name = (unique ? "ux_" : "ix_") + field;
  const std::string stale = (unique ? "ix_" : "ux_") + field;
  {
    // A field that moved between unique and plain keeps no index of its old kind.
    Bson drop;
    AppendString(drop.get(), "dropIndexes", collection);
    AppendString(drop.get(), "index", stale);
    if (auto dropped = RunCommand(client, database, drop.get(), {kIndexNotFound, 26},
                                  "cannot drop index " + stale + " of " + collection);
        !dropped) {
      return dropped;
    }
  }
  Bson command;
  AppendString(command.get(), "createIndexes", collection);
  bson_t indexes, index, key;
  BSON_APPEND_ARRAY_BEGIN(command.get(), "indexes", &indexes);
  BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
  BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
  BSON_APPEND_INT32(&key, field.c_str(), 1);
  if (!unique) BSON_APPEND_INT32(&key, "_id", 1);
  bson_append_document_end(&index, &key);
  AppendString(&index, "name", name);
  if (unique) {
    BSON_APPEND_BOOL(&index, "unique", true);
    bson_t partial, exists;
    BSON_APPEND_DOCUMENT_BEGIN(&index, "partialFilterExpression", &partial);
    BSON_APPEND_DOCUMENT_BEGIN(&partial, field.c_str(), &exists);
    BSON_APPEND_BOOL(&exists, "$exists", true);
    bson_append_document_end(&partial, &exists);
    bson_append_document_end(&index, &partial);
  }
  bson_append_document_end(&indexes, &index);
  bson_append_array_end(command.get(), &indexes);
  return RunCommand(client, database, command.get(), {},
                    "cannot create index " + name + " on " + collection);
}

// The TTL index of a collection with a retention: MongoDB drops a document once its expiry
// date (kExpiryField) is `after` old. collMod first, so that a changed retention updates the
// existing index instead of clashing with it (createIndexes refuses other options).
Result<void> CreateTtlIndex(mongoc_client_t* client, const std::string& database,
                            const std::string& collection, std::chrono::seconds after) {
  {
    Bson command;
    AppendString(command.get(), "collMod", collection);
    bson_t index;
    BSON_APPEND_DOCUMENT_BEGIN(command.get(), "index", &index);
    AppendString(&index, "name", "ttl");
    BSON_APPEND_INT64(&index, "expireAfterSeconds", after.count());
    bson_append_document_end(command.get(), &index);
    if (auto changed = RunCommand(client, database, command.get(), {kIndexNotFound},
                                  "cannot change the TTL of " + collection);
        !changed) {
      return changed;
    }
  }
  Bson command;
  AppendString(command.get(), "createIndexes", collection);
  bson_t indexes, index, key;
  BSON_APPEND_ARRAY_BEGIN(command.get(), "indexes", &indexes);
  BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
  BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
  BSON_APPEND_INT32(&key, kExpiryField, 1);
  bson_append_document_end(&index, &key);
  AppendString(&index, "name", "ttl");
  BSON_APPEND_INT64(&index, "expireAfterSeconds", after.count());
  bson_append_document_end(&indexes, &index);
  bson_append_array_end(command.get(), &indexes);
  return RunCommand(client, database, command.get(), {},
                    "cannot create the TTL index on " + collection);
}

Result<void> ApplySchema(mongoc_client_t* client, const std::string& database,
                         const Schema& schema) {
  // Collections are created up front: MongoDB before 4.4 cannot create one inside a
  // transaction, and an index can only be declared on an existing collection.
  for (const char* name : {kOutbox, kInbox, kSequences}) {
    if (auto created = CreateCollection(client, database, name); !created) return created;
  }
  // Inbox retention (Transaction::PruneInbox) finds the oldest marks through it.
  if (auto indexed = CreateIndex(client, database, kInbox, "appliedAt", false); !indexed) {
    return indexed;
  }
  for (const auto& [name, info] : schema.collections) {
    if (auto created = CreateCollection(client, database, name); !created) return created;
    for (const auto& field : info.indexed) {
      if (auto indexed = CreateIndex(client, database, name, field, info.unique.contains(field));
          !indexed) {
        return indexed;
      }
    }
    if (!info.expire_field.empty()) {
      if (auto ttl = CreateTtlIndex(client, database, name, info.expire_after); !ttl) return ttl;
    }
  }
  return Ok();
}

/// {hello: 1} (or the legacy isMaster): reachable, authenticated, and able to run transactions.
Result<void> CheckServer(mongoc_client_t* client, const std::string& redacted) {
  Reply reply;
  bson_error_t error;
  Bson hello;
  BSON_APPEND_INT32(hello.get(), "hello", 1);
  bool ok =
      mongoc_client_command_simple(client, "admin", hello.get(), nullptr, reply.fill(), &error);
  Reply legacy_reply;
  const bson_t* answer = reply.get();
  if (!ok && error.domain == MONGOC_ERROR_SERVER) {
    // Servers before 4.4.2 do not know "hello".
    Bson is_master;
    BSON_APPEND_INT32(is_master.get(), "isMaster", 1);
    ok = mongoc_client_command_simple(client, "admin", is_master.get(), nullptr,
                                      legacy_reply.fill(), &error);
    answer = legacy_reply.get();
  }
  if (!ok) {
    return UnavailableError("cannot reach MongoDB at " + redacted + ": " + error.message +
                            " (is the server running and the URL right? timeouts come from "
                            "serverSelectionTimeoutMS/connectTimeoutMS)");
  }
  bson_iter_t iter;
  const bool replica_set = bson_iter_init_find(&iter, answer, "setName");
  bool mongos = false;
  if (bson_iter_init_find(&iter, answer, "msg") && BSON_ITER_HOLDS_UTF8(&iter)) {
    mongos = std::string_view(bson_iter_utf8(&iter, nullptr)) == "isdbgrid";
  }
  if (!replica_set && !mongos) {
    return UnavailableError(
        "MongoDB at " + redacted +
        " is a standalone server, but shopflow commits each state change with its outbox "
        "and inbox rows in one multi-document transaction, which MongoDB supports only on a "
        "replica set (or a sharded cluster). Start mongod with --replSet rs0 and run "
        "rs.initiate() once in mongosh (a one-member replica set is enough), then retry");
  }
  // A ping that needs authentication: hello answers even with wrong credentials.
  Bson ping;
  BSON_APPEND_INT32(ping.get(), "ping", 1);
  Reply ping_reply;
  if (!mongoc_client_command_simple(client, "admin", ping.get(), nullptr, ping_reply.fill(),
                                    &error)) {
    return UnavailableError("MongoDB at " + redacted + " refused shopflow: " + error.message);
  }
  return Ok();
}

}  // namespace

/// The Transaction handed to read and write fns: every operation runs on the session of the
/// transaction the worker opened around the fn, so reads see the fn's own writes.
class MongoTransaction final : public Transaction {
 public:
  MongoTransaction(mongoc_client_t* client, mongoc_client_session_t* session,
                   const std::string& database, const Schema& schema)
      : client_(client), session_(session), database_(database), schema_(schema) {}

  bool appended_outbox() const { return appended_outbox_; }
  /// An operation failed with TransientTransactionError: the attempt is doomed, retry it whole.
  bool transient() const { return transient_; }

  Result<std::optional<json::object>> Get(std::string_view collection,
                                          std::string_view id) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    Bson filter;
    AppendString(filter.get(), "_id", id);
    return FindFirst(**info, filter.get(), "get from " + (*info)->name);
  }

  Result<std::optional<json::object>> FindOne(std::string_view collection, std::string_view field,
                                              std::string_view value) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    const FieldFilter filter_spec{std::string(field), FieldFilter::Op::kEq, std::string(value)};
    Bson filter;
    if (auto built = BuildFilter(**info, std::span(&filter_spec, 1), filter.get()); !built) {
      return std::move(built).error();
    }
    // Oldest first, so a non-unique field gives a stable answer.
    return FindFirst(**info, filter.get(), "find one in " + (*info)->name);
  }

  Result<FoundPage> Find(std::string_view collection, const FindQuery& query) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    Bson filter;
    if (auto built = BuildFilter(**info, query.filters, filter.get()); !built) {
      return std::move(built).error();
    }
    FoundPage page;
    page.total = -1;
    if (query.count_total) {
      auto total = CountMatching(**info, filter.get(), -1);
      if (!total) return std::move(total).error();
      page.total = *total;
    }
    // SQLite reads LIMIT 0 as "nothing" and a negative limit as "no limit"; MongoDB reads 0 as
    // "no limit".
    if (query.limit == 0) return page;
    Bson opts;
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", query.newest_first ? -1 : 1);
    bson_append_document_end(opts.get(), &sort);
    if (query.offset > 0) BSON_APPEND_INT64(opts.get(), "skip", query.offset);
    if (query.limit > 0) BSON_APPEND_INT64(opts.get(), "limit", query.limit);
    auto docs = Query((*info)->name, filter.get(), opts.get(), "find in " + (*info)->name);
    if (!docs) return std::move(docs).error();
    page.docs = std::move(*docs);
    return page;
  }

  Result<int64_t> Count(std::string_view collection,
                        std::span<const FieldFilter> filters) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    Bson filter;
    if (auto built = BuildFilter(**info, filters, filter.get()); !built) {
      return std::move(built).error();
    }
    return CountMatching(**info, filter.get(), -1);
  }

  Result<void> Insert(std::string_view collection, std::string_view id,
                      const json::object& doc) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    // Checked first rather than left to the unique indexes: a duplicate-key error aborts the
    // whole MongoDB transaction, while the Store contract lets the fn go on after a conflict.
    Bson by_id;
    AppendString(by_id.get(), "_id", id);
    auto existing = Exists((*info)->name, by_id.get(), "insert into " + (*info)->name);
    if (!existing) return std::move(existing).error();
    if (*existing) return Duplicate("id");
    if (auto unique = CheckUnique(**info, id, doc); !unique) return unique;
    auto bson = ToStoredBson(**info, id, doc);
    if (!bson) return std::move(bson).error();
    if (auto usable = Usable(); !usable) return usable;
    Bson opts;
    if (auto joined = JoinSession(opts.get()); !joined) return joined;
    CollectionPtr coll = Collection((*info)->name);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_insert_one(coll.get(), bson->get(), opts.get(), reply.fill(), &error)) {
      return Failed(error, reply.get(), "insert into " + (*info)->name);
    }
    return Ok();
  }

  Result<void> Replace(std::string_view collection, std::string_view id,
                       const json::object& doc) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    if (auto unique = CheckUnique(**info, id, doc); !unique) return unique;
    auto bson = ToStoredBson(**info, id, doc);
    if (!bson) return std::move(bson).error();
    if (auto usable = Usable(); !usable) return usable;
    Bson filter, opts;
    AppendString(filter.get(), "_id", id);
    if (auto joined = JoinSession(opts.get()); !joined) return joined;
    CollectionPtr coll = Collection((*info)->name);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_replace_one(coll.get(), filter.get(), bson->get(), opts.get(),
                                       reply.fill(), &error)) {
      return Failed(error, reply.get(), "replace in " + (*info)->name);
    }
    if (IntField(reply.get(), "matchedCount").value_or(0) == 0) return Missing(**info, id);
    return Ok();
  }

  Result<void> Remove(std::string_view collection, std::string_view id) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    if (auto usable = Usable(); !usable) return usable;
    Bson filter, opts;
    AppendString(filter.get(), "_id", id);
    if (auto joined = JoinSession(opts.get()); !joined) return joined;
    CollectionPtr coll = Collection((*info)->name);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_delete_one(coll.get(), filter.get(), opts.get(), reply.fill(), &error)) {
      return Failed(error, reply.get(), "remove from " + (*info)->name);
    }
    if (IntField(reply.get(), "deletedCount").value_or(0) == 0) return Missing(**info, id);
    return Ok();
  }

  Result<int64_t> RemoveFirst(std::string_view collection, std::span<const FieldFilter> filters,
                              int64_t limit) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    if (limit <= 0) return int64_t{0};
    Bson filter;
    if (auto built = BuildFilter(**info, filters, filter.get()); !built) {
      return std::move(built).error();
    }
    return DeleteFirst((*info)->name, filter.get(), "_id", limit,
                       "remove first from " + (*info)->name);
  }

  Result<int64_t> Clear(std::string_view collection) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    if (auto usable = Usable(); !usable) return std::move(usable).error();
    Bson filter, opts;
    if (auto joined = JoinSession(opts.get()); !joined) return std::move(joined).error();
    CollectionPtr coll = Collection((*info)->name);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_delete_many(coll.get(), filter.get(), opts.get(), reply.fill(),
                                       &error)) {
      return Failed(error, reply.get(), "clear " + (*info)->name);
    }
    return IntField(reply.get(), "deletedCount").value_or(0);
  }

  Result<void> AppendOutbox(Envelope event) override {
    // Rejected here rather than when relayed: an unparsable row would never leave the outbox.
    if (event.event_type.empty() || event.metadata.message_id.empty()) {
      return ValidationError("outbox event needs an eventType and a messageId");
    }
    auto sequence = NextSequence(kOutbox);
    if (!sequence) return std::move(sequence).error();
    Bson doc;
    BSON_APPEND_INT64(doc.get(), "_id", *sequence);
    AppendString(doc.get(), "messageId", event.metadata.message_id);
    AppendString(doc.get(), "eventType", event.event_type);
    BSON_APPEND_DATE_TIME(doc.get(), "createdAt", NowMillis());
    bson_t body;
    BSON_APPEND_DOCUMENT_BEGIN(doc.get(), "event", &body);
    auto appended = AppendObject(&body, EnvelopeToJson(event));
    bson_append_document_end(doc.get(), &body);
    if (!appended) return appended;
    if (auto inserted = InsertRaw(kOutbox, doc.get(), "append to outbox"); !inserted) {
      return inserted;
    }
    appended_outbox_ = true;
    return Ok();
  }

  Result<bool> MarkApplied(std::string_view consumer, std::string_view message_id) override {
    Bson filter;
    AppendInboxId(filter.get(), consumer, message_id);
    auto existing = Exists(kInbox, filter.get(), "read inbox");
    if (!existing) return std::move(existing).error();
    if (*existing) return false;
    Bson doc;
    AppendInboxId(doc.get(), consumer, message_id);
    AppendString(doc.get(), "consumer", consumer);
    AppendString(doc.get(), "messageId", message_id);
    BSON_APPEND_DATE_TIME(doc.get(), "appliedAt", NowMillis());
    if (auto inserted = InsertRaw(kInbox, doc.get(), "mark applied"); !inserted) {
      return std::move(inserted).error();
    }
    return true;
  }

  // Through the inbox's appliedAt index (ApplySchema): the oldest marks' ids, then those.
  Result<int64_t> PruneInbox(TimePoint applied_before, int64_t limit) override {
    if (limit <= 0) return int64_t{0};
    Bson filter;
    bson_t range;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "appliedAt", &range);
    BSON_APPEND_DATE_TIME(&range, "$lt", ToUnixMillis(applied_before));
    bson_append_document_end(filter.get(), &range);
    return DeleteFirst(kInbox, filter.get(), "appliedAt", limit, "prune inbox");
  }

 private:
  // deleteMany has no sort or limit: take the first ids by `sort_field` (only the ids), then
  // delete those.
  Result<int64_t> DeleteFirst(const std::string& collection, const bson_t* filter,
                              const char* sort_field, int64_t limit, const std::string& context) {
    if (auto usable = Usable(); !usable) return std::move(usable).error();
    Bson find_opts;
    bson_t sort, projection;
    BSON_APPEND_DOCUMENT_BEGIN(find_opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, sort_field, 1);
    bson_append_document_end(find_opts.get(), &sort);
    BSON_APPEND_DOCUMENT_BEGIN(find_opts.get(), "projection", &projection);
    BSON_APPEND_INT32(&projection, "_id", 1);
    bson_append_document_end(find_opts.get(), &projection);
    BSON_APPEND_INT64(find_opts.get(), "limit", limit);
    if (auto joined = JoinSession(find_opts.get()); !joined) return std::move(joined).error();
    CollectionPtr coll = Collection(collection);
    Bson by_ids;
    bson_t id_doc, in;
    BSON_APPEND_DOCUMENT_BEGIN(by_ids.get(), "_id", &id_doc);
    BSON_APPEND_ARRAY_BEGIN(&id_doc, "$in", &in);
    uint32_t index = 0;
    {
      CursorPtr cursor(
          mongoc_collection_find_with_opts(coll.get(), filter, find_opts.get(), nullptr));
      const bson_t* doc = nullptr;
      while (mongoc_cursor_next(cursor.get(), &doc)) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, doc, "_id")) continue;
        char buffer[16];
        const char* key = nullptr;
        bson_uint32_to_string(index++, &key, buffer, sizeof buffer);
        bson_append_iter(&in, key, -1, &it);
      }
      bson_error_t error;
      const bson_t* reply = nullptr;
      if (mongoc_cursor_error_document(cursor.get(), &error, &reply)) {
        return Failed(error, reply, context);
      }
    }
    bson_append_array_end(&id_doc, &in);
    bson_append_document_end(by_ids.get(), &id_doc);
    if (index == 0) return int64_t{0};
    Bson delete_opts;
    if (auto joined = JoinSession(delete_opts.get()); !joined) return std::move(joined).error();
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_delete_many(coll.get(), by_ids.get(), delete_opts.get(), reply.fill(),
                                       &error)) {
      return Failed(error, reply.get(), context);
    }
    return IntField(reply.get(), "deletedCount").value_or(0);
  }

  static void AppendInboxId(bson_t* doc, std::string_view consumer, std::string_view message_id) {
    bson_t id;
    BSON_APPEND_DOCUMENT_BEGIN(doc, "_id", &id);
    AppendString(&id, "consumer", consumer);
    AppendString(&id, "messageId", message_id);
    bson_append_document_end(doc, &id);
  }

  CollectionPtr Collection(const std::string& name) {
    return CollectionPtr(mongoc_client_get_collection(client_, database_.c_str(), name.c_str()));
  }

  Result<void> JoinSession(bson_t* opts) {
    bson_error_t error;
    if (!mongoc_client_session_append(session_, opts, &error)) {
      return InternalError(std::string("cannot use the transaction's session: ") + error.message);
    }
    return Ok();
  }

  // After a server error MongoDB has aborted the transaction; later operations would fail with
  // NoSuchTransaction and hide the first error.
  Result<void> Usable() const {
    if (broken_) return *broken_;
    return Ok();
  }

  Error Failed(const bson_error_t& error, const bson_t* reply, std::string_view context) {
    if (HasLabel(reply, "TransientTransactionError")) transient_ = true;
    Error failure = error.code == kDuplicateKey ? Duplicate(DuplicateField(error.message))
                                                : DriverError(error, reply, context);
    broken_ = failure;
    return failure;
  }

  Result<BsonPtr> ToStoredBson(const CollectionInfo& info, std::string_view id,
                               const json::object& doc) {
    if (doc.contains("_id") || doc.contains(kExpiryField)) {
      return ValidationError(std::string("a document stored in MongoDB cannot have a top-level "
                                         "\"_id\" or \"") +
                             kExpiryField + "\" field: the store keeps the id and the TTL there");
    }
    BsonPtr bson(bson_new());
    AppendString(bson.get(), "_id", id);
    if (auto appended = AppendObject(bson.get(), doc); !appended) {
      return std::move(appended).error();
    }
    if (auto expiry = ExpiryMillis(doc, info.expire_field)) {
      BSON_APPEND_DATE_TIME(bson.get(), kExpiryField, *expiry);
    }
    return bson;
  }

  Result<void> InsertRaw(const char* collection, const bson_t* doc, std::string_view context) {
    if (auto usable = Usable(); !usable) return usable;
    Bson opts;
    if (auto joined = JoinSession(opts.get()); !joined) return joined;
    CollectionPtr coll = Collection(collection);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_insert_one(coll.get(), doc, opts.get(), reply.fill(), &error)) {
      return Failed(error, reply.get(), context);
    }
    return Ok();
  }

  // The counter document is updated inside the transaction: concurrent appenders conflict on it
  // and retry, so sequences are handed out in commit order and the relay never sees a smaller
  // sequence commit after a larger one.
  Result<int64_t> NextSequence(const char* name) {
    if (auto usable = Usable(); !usable) return std::move(usable).error();
    Bson query, update, extra;
    AppendString(query.get(), "_id", name);
    bson_t inc;
    BSON_APPEND_DOCUMENT_BEGIN(update.get(), "$inc", &inc);
    BSON_APPEND_INT64(&inc, "value", 1);
    bson_append_document_end(update.get(), &inc);
    if (auto joined = JoinSession(extra.get()); !joined) return std::move(joined).error();
    mongoc_find_and_modify_opts_t* opts = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(opts, update.get());
    mongoc_find_and_modify_opts_set_flags(
        opts, static_cast<mongoc_find_and_modify_flags_t>(MONGOC_FIND_AND_MODIFY_UPSERT |
                                                          MONGOC_FIND_AND_MODIFY_RETURN_NEW));
    mongoc_find_and_modify_opts_append(opts, extra.get());
    CollectionPtr coll = Collection(kSequences);
    Reply reply;
    bson_error_t error;
    const bool ok = mongoc_collection_find_and_modify_with_opts(coll.get(), query.get(), opts,
                                                                reply.fill(), &error);
    mongoc_find_and_modify_opts_destroy(opts);
    if (!ok) return Failed(error, reply.get(), "next outbox sequence");
    bson_iter_t iter, value;
    if (bson_iter_init(&iter, reply.get()) &&
        bson_iter_find_descendant(&iter, "value.value", &value) && BSON_ITER_HOLDS_NUMBER(&value)) {
      return bson_iter_as_int64(&value);
    }
    return InternalError("the outbox sequence counter is missing from " + DebugString(reply.get()));
  }

  // Equality, or a string range, per filter; several filters are ANDed. Like SQLite, a string
  // never equals a number (BSON comparison orders types first).
  static Result<void> BuildFilter(const CollectionInfo& info, std::span<const FieldFilter> filters,
                                  bson_t* out) {
    bson_t conditions;
    const bool several = filters.size() > 1;
    bson_t* target = out;
    if (several) {
      BSON_APPEND_ARRAY_BEGIN(out, "$and", &conditions);
      target = &conditions;
    }
    Result<void> result = Ok();
    uint32_t index = 0;
    for (const auto& filter : filters) {
      if (!IsValidIdentifier(filter.field)) {
        result =
            InternalError("invalid field name '" + filter.field + "' in a query on " + info.name);
        break;
      }
      bson_t item;
      bson_t* holder = target;
      if (several) {
        char buffer[16];
        const char* key = nullptr;
        bson_uint32_to_string(index++, &key, buffer, sizeof buffer);
        bson_append_document_begin(target, key, -1, &item);
        holder = &item;
      }
      if (filter.op == FieldFilter::Op::kEq) {
        AppendString(holder, filter.field.c_str(), filter.value);
      } else {
        bson_t range;
        bson_append_document_begin(holder, filter.field.c_str(), -1, &range);
        AppendString(&range, filter.op == FieldFilter::Op::kGte ? "$gte" : "$lte", filter.value);
        bson_append_document_end(holder, &range);
      }
      if (several) bson_append_document_end(target, &item);
    }
    if (several) bson_append_array_end(out, &conditions);
    return result;
  }

  Result<std::vector<json::object>> Query(const std::string& collection, const bson_t* filter,
                                          bson_t* opts, std::string_view context) {
    if (auto usable = Usable(); !usable) return std::move(usable).error();
    if (auto joined = JoinSession(opts); !joined) return std::move(joined).error();
    CollectionPtr coll = Collection(collection);
    CursorPtr cursor(mongoc_collection_find_with_opts(coll.get(), filter, opts, nullptr));
    std::vector<json::object> docs;
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) {
      auto object = StoredDocument(doc);
      if (!object) return std::move(object).error();
      docs.push_back(std::move(*object));
    }
    bson_error_t error;
    const bson_t* reply = nullptr;
    if (mongoc_cursor_error_document(cursor.get(), &error, &reply)) {
      return Failed(error, reply, context);
    }
    return docs;
  }

  Result<std::optional<json::object>> FindFirst(const CollectionInfo& info, const bson_t* filter,
                                                std::string_view context) {
    Bson opts;
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(opts.get(), &sort);
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    auto docs = Query(info.name, filter, opts.get(), context);
    if (!docs) return std::move(docs).error();
    if (docs->empty()) return std::optional<json::object>();
    return std::optional<json::object>(std::move(docs->front()));
  }

  Result<bool> Exists(const std::string& collection, const bson_t* filter,
                      std::string_view context) {
    if (auto usable = Usable(); !usable) return std::move(usable).error();
    Bson opts;
    bson_t projection;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "projection", &projection);
    BSON_APPEND_INT32(&projection, "_id", 1);
    bson_append_document_end(opts.get(), &projection);
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    if (auto joined = JoinSession(opts.get()); !joined) return std::move(joined).error();
    CollectionPtr coll = Collection(collection);
    CursorPtr cursor(mongoc_collection_find_with_opts(coll.get(), filter, opts.get(), nullptr));
    const bson_t* doc = nullptr;
    const bool found = mongoc_cursor_next(cursor.get(), &doc);
    bson_error_t error;
    const bson_t* reply = nullptr;
    if (!found && mongoc_cursor_error_document(cursor.get(), &error, &reply)) {
      return Failed(error, reply, context);
    }
    return found;
  }

  // Another document holding one of `doc`'s unique values is a conflict naming the field.
  Result<void> CheckUnique(const CollectionInfo& info, std::string_view id,
                           const json::object& doc) {
    for (const auto& field : info.unique) {
      const json::value* value = doc.if_contains(field);
      if (value == nullptr || value->is_null()) continue;
      Bson filter;
      if (auto appended = AppendObject(filter.get(), json::object{{field, *value}}); !appended) {
        return appended;
      }
      bson_t not_self;
      BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "_id", &not_self);
      AppendString(&not_self, "$ne", id);
      bson_append_document_end(filter.get(), &not_self);
      auto clash = Exists(info.name, filter.get(), "check " + field + " in " + info.name);
      if (!clash) return std::move(clash).error();
      if (*clash) return Duplicate(field);
    }
    return Ok();
  }

  Result<int64_t> CountMatching(const CollectionInfo& info, const bson_t* filter, int64_t cap) {
    if (auto usable = Usable(); !usable) return std::move(usable).error();
    Bson opts;
    if (cap >= 0) BSON_APPEND_INT64(opts.get(), "limit", cap);
    if (auto joined = JoinSession(opts.get()); !joined) return std::move(joined).error();
    CollectionPtr coll = Collection(info.name);
    Reply reply;
    bson_error_t error;
    const int64_t count = mongoc_collection_count_documents(coll.get(), filter, opts.get(), nullptr,
                                                            reply.fill(), &error);
    if (count < 0) return Failed(error, reply.get(), "count in " + info.name);
    return count;
  }

  static Error Missing(const CollectionInfo& info, std::string_view id) {
    return NotFoundError(info.name + " '" + std::string(id) + "' not found");
  }

  mongoc_client_t* client_;
  mongoc_client_session_t* session_;
  const std::string& database_;
  const Schema& schema_;
  bool appended_outbox_ = false;
  bool transient_ = false;
  std::optional<Error> broken_;
};

}  // namespace mongo

using mongo::Bson;
using mongo::Reply;

struct MongoStore::Impl {
  MongoStoreOptions options;
  mongo::MongoUrl url;
  mongo::Schema schema;
  mongo::PoolPtr pool;
  mongo::ClientPtr monitor_client;  // used only by the monitor thread (and Open before it)

  std::mutex listener_mutex;
  OutboxListener outbox_listener;

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::condition_variable monitor_cv;  // its own: a notify_one for work must reach a worker
  std::deque<std::function<void()>> queue;
  bool stopping = false;

  std::atomic<bool> connected{true};
  // The outbox backlog as of the monitor's last round (-1: not counted yet or the count
  // failed): health, stats and metrics read it from HTTP threads, which must not wait on
  // the server.
  std::atomic<int64_t> outbox_backlog{-1};
  mutable std::mutex status_mutex;
  std::string last_ping_error;

  std::vector<std::thread> workers;
  std::thread monitor;

  static thread_local const Impl* current_worker;

  /// A client borrowed from the pool (blocks while all are lent), returned on destruction.
  class Lease {
   public:
    explicit Lease(mongoc_client_pool_t* pool)
        : pool_(pool), client_(mongoc_client_pool_pop(pool)) {}
    ~Lease() { mongoc_client_pool_push(pool_, client_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    mongoc_client_t* get() const { return client_; }

   private:
    mongoc_client_pool_t* pool_;
    mongoc_client_t* client_;
  };

  /// Collection `name` of the store's database, through `client`.
  mongo::CollectionPtr Collection(mongoc_client_t* client, const char* name) const {
    return mongo::CollectionPtr(mongoc_client_get_collection(client, url.database.c_str(), name));
  }

  /// Collection `name` on a client leased from the pool (blocks while all are lent): for the
  /// calls made outside a worker's transaction. The handle goes before the client is returned.
  class LeasedCollection {
   public:
    LeasedCollection(const Impl& impl, const char* name)
        : client_(impl.pool.get()), collection_(impl.Collection(client_.get(), name)) {}
    mongoc_collection_t* get() const { return collection_.get(); }

   private:
    Lease client_;  // declared first, so destroyed last
    mongo::CollectionPtr collection_;
  };

  bool OnWorker() const { return current_worker == this; }

  void Enqueue(std::function<void()> job, const DoneFn& refuse) {
    {
      std::unique_lock lock(queue_mutex);
      if (!stopping) {
        queue.push_back(std::move(job));
        lock.unlock();
        queue_cv.notify_one();
        return;
      }
    }
    if (refuse) refuse(UnavailableError("the MongoDB store is shutting down"));
  }

  void WorkerLoop() {
    current_worker = this;
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(queue_mutex);
        queue_cv.wait(lock, [this] { return stopping || !queue.empty(); });
        // On shutdown the queue is drained first: queued work was accepted and must finish.
        if (queue.empty()) return;
        job = std::move(queue.front());
        queue.pop_front();
      }
      job();
    }
  }

  // Pending outbox events, counting at most kBacklogCap; -1 when the count fails.
  static constexpr int64_t kBacklogCap = 1'000'000;
  int64_t CountOutbox(mongoc_client_t* client) const {
    const mongo::CollectionPtr coll = Collection(client, mongo::kOutbox);
    Bson filter, opts;
    BSON_APPEND_INT64(opts.get(), "limit", kBacklogCap);
    Reply reply;
    bson_error_t error;
    return mongoc_collection_count_documents(coll.get(), filter.get(), opts.get(), nullptr,
                                             reply.fill(), &error);
  }

  void MonitorLoop() {
    outbox_backlog.store(CountOutbox(monitor_client.get()));  // known from the start
    std::unique_lock lock(queue_mutex);
    while (!monitor_cv.wait_for(lock, options.ping_interval, [this] { return stopping; })) {
      lock.unlock();
      Bson ping;
      BSON_APPEND_INT32(ping.get(), "ping", 1);
      Reply reply;
      bson_error_t error;
      const bool ok = mongoc_client_command_simple(monitor_client.get(), "admin", ping.get(),
                                                   nullptr, reply.fill(), &error);
      if (ok != connected.load()) {
        if (ok) {
          spdlog::info("MongoStore: {} reachable again", url.redacted);
        } else {
          spdlog::warn("MongoStore: {} unreachable: {}", url.redacted, error.message);
        }
      }
      {
        std::lock_guard status_lock(status_mutex);
        last_ping_error = ok ? "" : error.message;
      }
      connected.store(ok);
      outbox_backlog.store(ok ? CountOutbox(monitor_client.get()) : -1);
      lock.lock();
    }
  }

  mongo::TxnOptsPtr TransactionOptions(bool read_only) const;

  Result<void> RunWrite(const WriteFn& fn);
  Result<void> RunRead(const ReadFn& fn);

  void NotifyOutbox() {
    OutboxListener listener;
    {
      std::lock_guard lock(listener_mutex);
      listener = outbox_listener;
    }
    // No events handed over: the relay reads them (and their sequences) back from the server.
    if (listener) mongo::CallbackGuarded("outbox listener", listener, std::vector<OutboxRecord>{});
  }
};

thread_local const MongoStore::Impl* MongoStore::Impl::current_worker = nullptr;

mongo::TxnOptsPtr MongoStore::Impl::TransactionOptions(bool read_only) const {
  mongo::TxnOptsPtr opts(mongoc_transaction_opts_new());
  mongoc_read_concern_t* read_concern = mongoc_read_concern_new();
  mongoc_read_concern_set_level(read_concern, MONGOC_READ_CONCERN_LEVEL_SNAPSHOT);
  mongoc_transaction_opts_set_read_concern(opts.get(), read_concern);
  mongoc_read_concern_destroy(read_concern);
  if (!read_only) {
    // Majority: a commit acknowledged to the caller survives a failover (SQLite's durability).
    mongoc_write_concern_t* write_concern = mongoc_write_concern_new();
    mongoc_write_concern_set_wmajority(write_concern, 0);
    mongoc_transaction_opts_set_write_concern(opts.get(), write_concern);
    mongoc_write_concern_destroy(write_concern);
  }
  return opts;
}

Result<void> MongoStore::Impl::RunWrite(const WriteFn& fn) {
  Lease client(pool.get());
  bson_error_t error;
  mongo::SessionPtr session(mongoc_client_start_session(client.get(), nullptr, &error));
  if (!session) {
    return UnavailableError(std::string("cannot start a MongoDB session: ") + error.message);
  }
  const auto txn_opts = TransactionOptions(false);
  const auto deadline = std::chrono::steady_clock::now() + options.retry_budget;
  std::minstd_rand jitter(std::random_device{}());
  Error last = UnavailableError("write not attempted");
  for (int attempt = 0; std::chrono::steady_clock::now() < deadline; ++attempt) {
    if (attempt > 0) {
      // Conflicting writers back off by a growing, jittered pause so they stop colliding.
      const int cap = std::min(100, 1 << std::min(attempt, 7));
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % cap));
    }
    if (!mongoc_client_session_start_transaction(session.get(), txn_opts.get(), &error)) {
      return InternalError(std::string("cannot start a MongoDB transaction: ") + error.message);
    }
    mongo::MongoTransaction tx(client.get(), session.get(), url.database, schema);
    Result<void> result = mongo::InvokeGuarded(fn, tx);
    if (tx.transient() || !result) {
      bson_error_t abort_error;
      if (mongoc_client_session_in_transaction(session.get())) {
        (void)mongoc_client_session_abort_transaction(session.get(), &abort_error);
      }
      if (tx.transient()) {
        last = result ? UnavailableError("MongoDB transaction kept conflicting") : result.error();
        continue;  // the attempt was doomed by a write conflict or a failover: run it again
      }
      return result;
    }
    // Commit, retrying only the commit while its outcome is unknown (the server may have
    // committed already; the driver makes a repeated commit safe).
    bool run_again = false;
    for (;;) {
      Reply reply;
      if (mongoc_client_session_commit_transaction(session.get(), reply.fill(), &error)) {
        if (tx.appended_outbox()) NotifyOutbox();
        return Ok();
      }
      last = mongo::DriverError(error, reply.get(), "MongoDB commit failed");
      if (mongo::HasLabel(reply.get(), "UnknownTransactionCommitResult") &&
          std::chrono::steady_clock::now() < deadline) {
        continue;
      }
      run_again = mongo::HasLabel(reply.get(), "TransientTransactionError");
      break;
    }
    if (!run_again) return last;
  }
  return last.code == ErrorCode::kUnavailable
             ? last
             : UnavailableError("MongoDB write gave up after retrying: " + last.message);
}

Result<void> MongoStore::Impl::RunRead(const ReadFn& fn) {
  Lease client(pool.get());
  bson_error_t error;
  mongo::SessionPtr session(mongoc_client_start_session(client.get(), nullptr, &error));
  if (!session) {
    return UnavailableError(std::string("cannot start a MongoDB session: ") + error.message);
  }
  // A read-only snapshot transaction: every query of `fn` sees the same committed state.
  const auto txn_opts = TransactionOptions(true);
  if (!mongoc_client_session_start_transaction(session.get(), txn_opts.get(), &error)) {
    return InternalError(std::string("cannot start a MongoDB transaction: ") + error.message);
  }
  mongo::MongoTransaction tx(client.get(), session.get(), url.database, schema);
  Result<void> result = mongo::InvokeGuarded(fn, tx);
  Reply reply;
  if (mongoc_client_session_in_transaction(session.get()) &&
      !mongoc_client_session_commit_transaction(session.get(), reply.fill(), &error)) {
    if (result) result = mongo::DriverError(error, reply.get(), "MongoDB read commit failed");
  }
  return result;
}

Result<std::unique_ptr<MongoStore>> MongoStore::Open(MongoStoreOptions options) {
  auto schema = mongo::BuildSchema(options.collections);
  if (!schema) return std::move(schema).error();
  auto url = mongo::ParseMongoUrl(options.url);
  if (!url) return std::move(url).error();
  if (!options.database.empty()) url->database = options.database;
  url->database += options.database_suffix;
  if (!mongo::IsValidDatabaseName(url->database)) {
    return ValidationError("unusable MongoDB database name '" + url->database + "'");
  }
  options.workers = std::max<size_t>(options.workers, 1);

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->schema = std::move(*schema);
  bson_error_t error;
  impl->pool.reset(mongoc_client_pool_new_with_error(url->uri.get(), &error));
  if (!impl->pool) {
    return UnavailableError("cannot create a MongoDB client pool for " + url->redacted + ": " +
                            error.message);
  }
  mongoc_client_pool_set_error_api(impl->pool.get(), MONGOC_ERROR_API_VERSION_2);
  mongoc_client_pool_set_appname(impl->pool.get(), "shopflow");
  // Headroom beyond the workers for the relay, stats and a read nested in a done callback.
  mongoc_client_pool_max_size(impl->pool.get(), static_cast<uint32_t>(options.workers + 4));
  impl->monitor_client.reset(mongoc_client_new_from_uri_with_error(url->uri.get(), &error));
  if (!impl->monitor_client) {
    return UnavailableError("cannot create a MongoDB client for " + url->redacted + ": " +
                            error.message);
  }
  mongoc_client_set_error_api(impl->monitor_client.get(), MONGOC_ERROR_API_VERSION_2);
  impl->url = std::move(*url);

  if (auto checked = mongo::CheckServer(impl->monitor_client.get(), impl->url.redacted); !checked) {
    return checked.error();
  }
  {
    Impl::Lease client(impl->pool.get());
    if (auto applied = mongo::ApplySchema(client.get(), impl->url.database, impl->schema);
        !applied) {
      return UnavailableError("cannot prepare MongoDB database " + impl->url.database + " at " +
                              impl->url.redacted + ": " + applied.error().message);
    }
  }
  spdlog::info("MongoStore: using database {} at {}", impl->url.database, impl->url.redacted);

  Impl* raw = impl.get();
  for (size_t i = 0; i < options.workers; ++i) {
    impl->workers.emplace_back([raw] {
      SetThreadName("mongo-worker");
      raw->WorkerLoop();
    });
  }
  impl->monitor = std::thread([raw] {
    SetThreadName("mongo-monitor");
    raw->MonitorLoop();
  });
  return std::unique_ptr<MongoStore>(new MongoStore(std::move(impl)));
}

MongoStore::MongoStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MongoStore::~MongoStore() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  impl_->monitor_cv.notify_all();
  for (auto& worker : impl_->workers) worker.join();
  if (impl_->monitor.joinable()) impl_->monitor.join();
  // Every client is back in the pool: pool and monitor client are destroyed with impl_.
}

void MongoStore::Write(WriteFn fn, DoneFn done) {
  auto shared_done = std::make_shared<DoneFn>(std::move(done));
  Impl* impl = impl_.get();
  impl_->Enqueue(
      [impl, fn = std::move(fn), shared_done] {
        Result<void> result = impl->RunWrite(fn);
        if (*shared_done)
          mongo::CallbackGuarded("write completion", *shared_done, std::move(result));
      },
      *shared_done);
}

void MongoStore::Read(ReadFn fn, DoneFn done) {
  // Already on a worker (a done callback reading again): queueing behind ourselves could wait
  // for a free worker forever.
  if (impl_->OnWorker()) {
    Result<void> result = impl_->RunRead(fn);
    done(std::move(result));
    return;
  }
  auto shared_done = std::make_shared<DoneFn>(std::move(done));
  Impl* impl = impl_.get();
  impl_->Enqueue(
      [impl, fn = std::move(fn), shared_done] {
        Result<void> result = impl->RunRead(fn);
        if (*shared_done)
          mongo::CallbackGuarded("read completion", *shared_done, std::move(result));
      },
      *shared_done);
}

Result<std::vector<OutboxRecord>> MongoStore::PendingOutbox(size_t limit) {
  if (limit == 0) return std::vector<OutboxRecord>{};
  const Impl::LeasedCollection coll(*impl_, mongo::kOutbox);
  Bson filter, opts;
  bson_t sort;
  BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
  BSON_APPEND_INT32(&sort, "_id", 1);
  bson_append_document_end(opts.get(), &sort);
  BSON_APPEND_INT64(opts.get(), "limit", static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  mongo::CursorPtr cursor(
      mongoc_collection_find_with_opts(coll.get(), filter.get(), opts.get(), nullptr));
  std::vector<OutboxRecord> records;
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    const auto sequence = mongo::IntField(doc, "_id");
    bson_iter_t iter;
    Result<Envelope> event = InternalError("no event field");
    if (bson_iter_init_find(&iter, doc, "event") && BSON_ITER_HOLDS_DOCUMENT(&iter)) {
      uint32_t length = 0;
      const uint8_t* data = nullptr;
      bson_iter_document(&iter, &length, &data);
      bson_t body;
      if (bson_init_static(&body, data, length)) {
        auto object = mongo::FromBson(&body);
        event = object ? EnvelopeFromJson(*object) : Result<Envelope>(object.error());
      }
    }
    if (!sequence || !event) {
      // AppendOutbox stores only envelopes that parse, so this is corruption (or a foreign
      // writer); failing the whole call would stall the relay behind one bad row forever.
      spdlog::error("MongoStore: outbox row {} is unreadable and skipped: {}",
                    sequence.value_or(-1), event ? "no sequence" : event.error().message);
      continue;
    }
    records.push_back(OutboxRecord{*sequence, std::move(*event)});
  }
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor.get(), &error, &reply)) {
    return mongo::DriverError(error, reply, "read pending outbox");
  }
  return records;
}

Result<size_t> MongoStore::CountPendingOutbox(size_t cap) {
  // No I/O here: callers are health, stats and metrics, some on HTTP threads. The monitor
  // thread counts once per ping interval.
  const int64_t backlog = impl_->outbox_backlog.load();
  if (backlog < 0) return UnavailableError("outbox backlog not known yet (MongoDB unreachable?)");
  return std::min(static_cast<size_t>(backlog), cap);
}

Result<void> MongoStore::MarkOutboxSent(std::span<const int64_t> sequences) {
  if (sequences.empty()) return Ok();
  const Impl::LeasedCollection coll(*impl_, mongo::kOutbox);
  // Deleting (rather than flagging) keeps the collection as small as the backlog; the counter
  // never hands out a deleted sequence again.
  Bson filter;
  bson_t id, in;
  BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "_id", &id);
  BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
  uint32_t index = 0;
  for (const int64_t sequence : sequences) {
    char buffer[16];
    const char* key = nullptr;
    bson_uint32_to_string(index++, &key, buffer, sizeof buffer);
    BSON_APPEND_INT64(&in, key, sequence);
  }
  bson_append_array_end(&id, &in);
  bson_append_document_end(filter.get(), &id);
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_delete_many(coll.get(), filter.get(), nullptr, reply.fill(), &error)) {
    return mongo::DriverError(error, reply.get(), "mark outbox sent");
  }
  return Ok();
}

void MongoStore::SetOutboxListener(OutboxListener listener) {
  std::lock_guard lock(impl_->listener_mutex);
  impl_->outbox_listener = std::move(listener);
}

StoreStatus MongoStore::Status() const {
  std::string detail = impl_->url.redacted + " (database " + impl_->url.database + ")";
  {
    std::lock_guard lock(impl_->status_mutex);
    if (!impl_->last_ping_error.empty()) detail += ": " + impl_->last_ping_error;
  }
  return StoreStatus{"mongodb", impl_->connected.load(), std::move(detail)};
}

Result<void> MongoStore::DropDatabase() {
  Impl::Lease client(impl_->pool.get());
  mongo::DatabasePtr db(mongoc_client_get_database(client.get(), impl_->url.database.c_str()));
  bson_error_t error;
  if (!mongoc_database_drop_with_opts(db.get(), nullptr, &error)) {
    return UnavailableError("cannot drop MongoDB database " + impl_->url.database + ": " +
                            error.message);
  }
  return Ok();
}

}  // namespace shopflow
