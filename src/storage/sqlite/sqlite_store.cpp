#include "storage/sqlite/sqlite_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/thread_name.hpp"
#include "storage/sqlite/wal_checkpointer.hpp"
#include "storage/sqlite/wal_write_buffer.hpp"
#include "storage/sqlite/wrappers.hpp"

namespace shopflow {
namespace sqlite {
namespace {

constexpr size_t kMaxIdentifierLength = 64;
// Stored documents were produced by this process, so they get a far deeper limit than untrusted
// request bodies: refusing to read back a document we accepted would lose data.
constexpr JsonLimits kStoredDocumentLimits{.max_depth = 512};

int64_t NowMillis() { return ToUnixMillis(std::chrono::system_clock::now()); }

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsValidIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierLength) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

// Identifiers are validated to [A-Za-z0-9_]+ before they get here, so quoting cannot be broken
// out of. Generated columns and indexes use ':' (never part of a valid name) as a separator so
// that "a_b"+"c" and "a"+"b_c" cannot produce the same identifier.
std::string Quote(std::string_view identifier) { return "\"" + std::string(identifier) + "\""; }
std::string ColumnName(std::string_view field) { return "f:" + std::string(field); }
std::string JsonPath(std::string_view field) { return "$." + std::string(field); }

// Busy/locked and I/O conditions are transient or environmental (503); anything else is a bug
// or corruption (500).
Error SqlError(sqlite3* db, int rc, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return UnavailableError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Result<json::object> ParseDocument(std::string_view text) {
  auto parsed = ParseJson(text, kStoredDocumentLimits);
  if (!parsed) return InternalError("stored document is not valid JSON: " + parsed.error().message);
  if (!parsed->is_object()) return InternalError("stored document is not a JSON object");
  return std::move(parsed->get_object());
}

}  // namespace

/// A prepared statement in use: binds, steps, and on destruction resets it and clears its
/// bindings so the cached statement holds no lock and no stale values.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void Bind(int index, std::string_view value) {
    // A null data pointer would bind SQL NULL instead of an empty string.
    const char* data = value.data() != nullptr ? value.data() : "";
    Check(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void Bind(int index, int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
  void BindDouble(int index, double value) { Check(sqlite3_bind_double(stmt_, index, value)); }
  void BindNull(int index) { Check(sqlite3_bind_null(stmt_, index)); }

  /// SQLITE_ROW, SQLITE_DONE or an error code (including a failed bind).
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }

  /// Steps a statement that returns no rows.
  Result<void> Run(std::string_view context) {
    const int rc = Step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Ok();
    return SqlError(db_, rc, context);
  }

  std::string_view Text(int column) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (text == nullptr) return {};
    return {text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

  /// Re-arms the statement for another execution with new bindings.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

namespace {
/// New WAL pages that wake the checkpointer's thread: a quarter of the limit, at most 1,000
/// (4 MiB). The writer's own pass at the limit syncs the WAL frames written since the thread's
/// last pass began, and every write queued behind the writer waits for that fdatasync. With a
/// quarter of a 10,000-page limit that was up to 10 MB, 10–13 ms a sync on these machines
/// (strace), a few times a second at 500 orders/s; with at most 4 MiB, p95 from POST to paid
/// went from 17 to 9–10 ms and p99 from 25–35 to 15–16 ms at that rate, with peak throughput
/// and CPU per order unchanged (docs/PERFORMANCE.md).
int64_t CheckpointStepPages(int64_t limit_pages) {
  return std::max<int64_t>(std::min<int64_t>(limit_pages / 4, 1000), 1);
}
}  // namespace

/// Process-wide SQLite settings, applied before the library initializes (at the first open).
/// Memory statistics off: with them on, every sqlite3_malloc and sqlite3_free takes one global
/// mutex to keep counts nobody reads, and the two writer threads and the readers all allocate
/// (~3 % of all CPU under load, most of it that lock). A process that started SQLite earlier
/// keeps its own settings.
namespace {
void ConfigureLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); rc != SQLITE_OK) {
      spdlog::debug("SqliteStore: SQLite was initialized already; memory statistics stay on");
    }
  });
}
}  // namespace

/// One SQLite connection and its prepared-statement cache. Used by one thread at a time.
class Connection {
 public:
  enum class Role { kWriter, kReader };

  static Result<std::unique_ptr<Connection>> Open(const SqliteStoreOptions& options, Role role) {
    ConfigureLibraryOnce();
    sqlite3* raw = nullptr;
    // NOMUTEX: each connection is confined to one thread at a time (writer thread, or a reader
    // leased from the pool under a mutex), so SQLite's per-connection mutex is pure overhead.
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == Role::kWriter) flags |= SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(options.path.c_str(), &raw, flags, WalWriteBufferVfs());
    DatabasePtr db(raw);  // a failed open still allocates a handle that must be closed
    if (rc != SQLITE_OK) return SqlError(raw, rc, "open");
    sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));
    auto connection = std::unique_ptr<Connection>(new Connection(std::move(db)));
    if (role == Role::kWriter) {
      auto mode = connection->SwitchToWal(options.busy_timeout);
      if (!mode) return std::move(mode).error();
      if (Lower(*mode) != "wal") {
        return UnavailableError("cannot use WAL mode (journal_mode is " + *mode + ")");
      }
      const char* sync =
          options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
      if (auto done = connection->Exec(sync); !done) return std::move(done).error();
      // A checkpoint copies every page changed since the last one back into the database file;
      // the same hot pages (outbox, inbox and index tails) change again and again, so a longer
      // interval copies each of them once instead of many times. journal_size_limit then cuts
      // the WAL file back after a checkpoint.
      const std::string checkpoint =
          "PRAGMA wal_autocheckpoint=" + std::to_string(options.wal_autocheckpoint_pages);
      if (auto done = connection->Exec(checkpoint); !done) return std::move(done).error();
      const std::string limit =
          "PRAGMA journal_size_limit=" + std::to_string(options.wal_autocheckpoint_pages * 4096);
      if (auto done = connection->Exec(limit); !done) return std::move(done).error();
      // Each write of a group commit runs in its own savepoint, whose sub-journal keeps the
      // pages it changes. SQLite moves a sub-journal from memory to a temporary file past 64 KiB
      // and keeps that file for the rest of the transaction: the following writes' savepoints
      // then cost a write system call per page (half of the writer's calls under load). With
      // temp_store=MEMORY it stays in memory. It only serves ROLLBACK TO within a transaction,
      // never crash recovery (the WAL does), so nothing durable changes.
      if (auto done = connection->Exec("PRAGMA temp_store=MEMORY"); !done) {
        return std::move(done).error();
      }
      // Debian builds SQLite with SECURE_DELETE on: every deletion zeroes the freed bytes, and
      // a page left empty (a log row, an outbox row) is written again as zeros, to the WAL and
      // then to the file, though no one will read it. FAST zeroes what lies on pages being
      // written anyway and leaves free pages alone until they are reused: 13 % fewer bytes
      // written per order, 4 % less CPU (docs/PERFORMANCE.md). Deleted rows can stay readable
      // in free pages of the file until reused or VACUUM (docs/OPERATIONS.md "Data growth").
      if (auto done = connection->Exec("PRAGMA secure_delete=FAST"); !done) {
        return std::move(done).error();
      }
      if (options.writer_cache_kib > 0) {
        const std::string cache = "PRAGMA cache_size=-" + std::to_string(options.writer_cache_kib);
        if (auto done = connection->Exec(cache); !done) return std::move(done).error();
      }
    } else {
      // Readers never write; this turns a bug into an error instead of a lock fight with the
      // writer.
      if (auto done = connection->Exec("PRAGMA query_only=1"); !done) {
        return std::move(done).error();
      }
    }
    return connection;
  }

  sqlite3* db() const { return db_.get(); }

  /// A cached prepared statement for `sql`. The set of distinct SQL texts is bounded: values
  /// are always bound parameters and identifiers come from the validated schema.
  Result<Statement> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* raw = nullptr;
      const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      StatementPtr stmt(raw);
      if (rc != SQLITE_OK) return SqlError(db_.get(), rc, "cannot prepare `" + sql + "`");
      it = cache_.emplace(sql, std::move(stmt)).first;
    }
    return Statement(db_.get(), it->second.get());
  }

  /// Runs one statement that returns no rows needed by the caller.
  Result<void> Exec(const std::string& sql) {
    auto stmt = Prepare(sql);
    if (!stmt) return std::move(stmt).error();
    return stmt->Run(sql);
  }

  Result<std::string> QueryText(const std::string& sql) {
    auto stmt = Prepare(sql);
    if (!stmt) return std::move(stmt).error();
    const int rc = stmt->Step();
    if (rc != SQLITE_ROW) return SqlError(db_.get(), rc, sql);
    return std::string(stmt->Text(0));
  }

  bool InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

  /// PRAGMA journal_mode=WAL; returns the mode now in force. Switching a database that is not in
  /// WAL mode yet takes a read lock, then upgrades it to a write lock, and SQLite does not run
  /// the busy handler for an upgrade (two upgrading readers would wait on each other): when
  /// another process holds the write lock — the same module's second process creating the file
  /// at the same moment — the pragma fails with SQLITE_BUSY at once. It is retried, having let
  /// go of every lock, until `timeout` has passed, as the busy handler would have waited.
  Result<std::string> SwitchToWal(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    const std::string sql = "PRAGMA journal_mode=WAL";
    while (true) {
      int rc = SQLITE_OK;
      {
        auto stmt = Prepare(sql);
        if (!stmt) return std::move(stmt).error();
        rc = stmt->Step();
        if (rc == SQLITE_ROW) return std::string(stmt->Text(0));
      }  // the statement is reset here, letting go of its read lock
      if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() + pause > deadline) {
        return SqlError(db_.get(), rc, sql);
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }

 private:
  explicit Connection(DatabasePtr db) : db_(std::move(db)) {}

  DatabasePtr db_;
  // Declared after db_ so statements are finalized before the connection closes.
  std::unordered_map<std::string, StatementPtr> cache_;
};

struct CollectionInfo {
  std::string name;
  std::string table;                           // quoted
  std::set<std::string, std::less<>> indexed;  // every field with a column of its own
  std::set<std::string, std::less<>> unique;
  std::set<std::string, std::less<>> unindexed;  // those of `indexed` with a column only
  // The indexed fields whose columns the store fills on insert and replace (in the order of
  // the statements below); the others are generated columns of a table made by an earlier
  // version, which SQLite fills with json_extract. Set by ApplySchema.
  std::vector<std::string> filled;
  std::string insert_sql;   // binds id, doc, then the filled columns
  std::string replace_sql;  // binds doc, the filled columns, then id
};

struct Schema {
  std::map<std::string, CollectionInfo, std::less<>> collections;

  Result<const CollectionInfo*> Find(std::string_view name) const {
    auto it = collections.find(name);
    if (it == collections.end())
      return InternalError("unknown collection '" + std::string(name) + "'");
    return &it->second;
  }
};

namespace {

Result<Schema> BuildSchema(const std::vector<CollectionSpec>& specs) {
  Schema schema;
  std::set<std::string> seen;  // case-insensitive: SQLite identifiers are
  for (const auto& spec : specs) {
    if (!IsValidIdentifier(spec.name)) {
      return UnavailableError("invalid collection name '" + spec.name +
                              "': use 1-64 characters from [A-Za-z0-9_]");
    }
    const std::string lower = Lower(spec.name);
    if (lower == "outbox" || lower == "inbox" || lower.starts_with("sqlite_")) {
      return UnavailableError("collection name '" + spec.name + "' is reserved");
    }
    if (!seen.insert(lower).second) {
      return UnavailableError("collection '" + spec.name + "' is declared twice");
    }
    CollectionInfo info{spec.name, Quote(spec.name), {}, {}, {}, {}, {}, {}};
    std::set<std::string> seen_fields;
    auto add_field = [&](const std::string& field, bool unique) -> Result<void> {
      if (!IsValidIdentifier(field)) {
        return UnavailableError("invalid field name '" + field + "' in collection '" + spec.name +
                                "': use 1-64 characters from [A-Za-z0-9_]");
      }
      if (!info.indexed.contains(field) && !seen_fields.insert(Lower(field)).second) {
        return UnavailableError("fields of collection '" + spec.name + "' differ only in case: '" +
                                field + "'");
      }
      info.indexed.insert(field);
      if (unique) info.unique.insert(field);
      return Ok();
    };
    for (const auto& field : spec.unique_fields) {
      if (auto added = add_field(field, true); !added) return std::move(added).error();
    }
    for (const auto& field : spec.indexed_fields) {
      if (auto added = add_field(field, false); !added) return std::move(added).error();
    }
    for (const auto& field : spec.column_fields) {
      if (info.indexed.contains(field)) continue;  // indexed anyway
      if (auto added = add_field(field, false); !added) return std::move(added).error();
      info.unindexed.insert(field);
    }
    schema.collections.emplace(spec.name, std::move(info));
  }
  return schema;
}

// "{...}" once surrounding whitespace is trimmed.
bool IsBraced(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first != std::string_view::npos && last > first && text[first] == '{' && text[last] == '}';
}

// SQLite's hidden flag in pragma_table_xinfo for a generated column (VIRTUAL, STORED).
constexpr int kGeneratedVirtual = 2;
constexpr int kGeneratedStored = 3;

// The INSERT and UPDATE statements of a collection, with a parameter per filled column.
void BuildWriteSql(CollectionInfo& info) {
  std::string columns;
  std::string params;
  std::string sets;
  for (const auto& field : info.filled) {
    columns += ", " + Quote(ColumnName(field));
    params += ", ?";
    sets += ", " + Quote(ColumnName(field)) + " = ?";
  }
  info.insert_sql =
      "INSERT INTO " + info.table + " (id, doc" + columns + ") VALUES (?, ?" + params + ")";
  info.replace_sql = "UPDATE " + info.table + " SET doc = ?" + sets + " WHERE id = ?";
}

// Every indexed field has a column of its own holding the field's value as json_extract would
// give it, and an index on it. The store fills the columns from the document it writes (it has
// the values at hand); generated columns (json_extract) made SQLite parse each document again,
// once per field, on every insert, and again on every update and delete of a VIRTUAL one: ~40 %
// of the message log's write cost. Tables an earlier version made keep their generated columns
// (SQLite cannot turn one into a plain column); SQLite keeps filling those.
Result<void> ApplySchema(Connection& db, Schema& schema) {
  // CREATE ... IF NOT EXISTS plus ADD COLUMN for missing columns: reopening an existing file
  // works, and a field added to a spec later gets its column and index.
  std::vector<std::string> statements = {
      // No AUTOINCREMENT: its counter (a row of sqlite_sequence) was one more page in every
      // commit that appended an event. Sequences are never reused all the same, because the
      // highest row is never deleted (DeleteOutbox); files made before keep their AUTOINCREMENT.
      "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, "
      "message_id TEXT NOT NULL, event_type TEXT NOT NULL, body TEXT NOT NULL, "
      "created_at INTEGER NOT NULL, sent_at INTEGER NULL)",
      // Sent rows are deleted, all but the highest, so the table is the backlog and "oldest
      // unsent" is a walk of the primary key from its start; the partial index that served it
      // (outbox_unsent, on seq where sent_at IS NULL) was a second b-tree to update per event.
      "DROP INDEX IF EXISTS outbox_unsent",
      // Rows kept as the highest and outrun since (by a process that stopped before deleting
      // them).
      "DELETE FROM outbox WHERE sent_at IS NOT NULL AND seq < (SELECT max(seq) FROM outbox)",
      "CREATE TABLE IF NOT EXISTS inbox (consumer TEXT NOT NULL, message_id TEXT NOT NULL, "
      "applied_at INTEGER NOT NULL, PRIMARY KEY (consumer, message_id)) WITHOUT ROWID",
  };
  for (const auto& statement : statements) {
    if (auto done = db.Exec(statement); !done) return done;
  }
  for (auto& [name, info] : schema.collections) {
    std::string inline_columns;
    for (const auto& field : info.indexed) inline_columns += ", " + Quote(ColumnName(field));
    if (auto done =
            db.Exec("CREATE TABLE IF NOT EXISTS " + info.table +
                    " (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL" + inline_columns + ")");
        !done) {
      return done;
    }
    std::map<std::string, int> columns;  // name -> hidden flag
    {
      auto stmt = db.Prepare("SELECT name, hidden FROM pragma_table_xinfo(?)");
      if (!stmt) return std::move(stmt).error();
      stmt->Bind(1, name);
      int rc;
      while ((rc = stmt->Step()) == SQLITE_ROW) {
        columns[std::string(stmt->Text(0))] = static_cast<int>(stmt->Int(1));
      }
      if (rc != SQLITE_DONE) return SqlError(db.db(), rc, "cannot read columns of " + name);
    }
    info.filled.clear();
    for (const auto& field : info.indexed) {
      const std::string column = ColumnName(field);
      const auto found = columns.find(column);
      if (found == columns.end()) {
        // A field indexed since the table was made: its column, filled from the documents
        // already there.
        if (auto done = db.Exec("ALTER TABLE " + info.table + " ADD COLUMN " + Quote(column));
            !done) {
          return done;
        }
        if (auto done = db.Exec("UPDATE " + info.table + " SET " + Quote(column) +
                                " = json_extract(doc, '" + JsonPath(field) + "')");
            !done) {
          return done;
        }
      }
      const bool generated = found != columns.end() && (found->second == kGeneratedVirtual ||
                                                        found->second == kGeneratedStored);
      if (!generated) info.filled.push_back(field);
      const bool unique = info.unique.contains(field);
      const std::string index = Quote((unique ? "ux:" : "ix:") + name + ":" + field);
      const std::string stale = Quote((unique ? "ix:" : "ux:") + name + ":" + field);
      if (auto done = db.Exec("DROP INDEX IF EXISTS " + stale); !done) return done;
      if (info.unindexed.contains(field)) {
        // A column only (CollectionSpec::column_fields); an earlier version indexed it.
        if (auto done = db.Exec("DROP INDEX IF EXISTS " + index); !done) return done;
        continue;
      }
      if (auto done =
              db.Exec(std::string("CREATE ") + (unique ? "UNIQUE " : "") + "INDEX IF NOT EXISTS " +
                      index + " ON " + info.table + " (" + Quote(column) + ")");
          !done) {
        return done;
      }
    }
    BuildWriteSql(info);
  }
  return Ok();
}

// Binds a field's value as json_extract(doc, '$.field') returns it: NULL when absent or null,
// 1/0 for booleans, numbers as numbers, strings as their text, arrays and objects as JSON text.
void BindFieldValue(Statement& stmt, int index, const json::value* value) {
  if (value == nullptr || value->is_null()) {
    stmt.BindNull(index);
  } else if (value->is_string()) {
    stmt.Bind(index, std::string_view(value->get_string()));
  } else if (value->is_bool()) {
    stmt.Bind(index, int64_t{value->get_bool() ? 1 : 0});
  } else if (value->is_int64()) {
    stmt.Bind(index, value->get_int64());
  } else if (value->is_uint64()) {
    const uint64_t u = value->get_uint64();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      stmt.Bind(index, static_cast<int64_t>(u));
    } else {
      stmt.BindDouble(index, static_cast<double>(u));
    }
  } else if (value->is_double()) {
    // ToJsonText writes an integral double without a fraction or exponent ("100"), which
    // json_extract reads back as an integer.
    const std::string text = ToJsonText(*value);
    if (text.find_first_of(".eE") == std::string::npos) {
      int64_t n = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec == std::errc() && end == text.data() + text.size()) {
        stmt.Bind(index, n);
        return;
      }
    }
    stmt.BindDouble(index, value->get_double());
  } else {
    stmt.Bind(index, ToJsonText(*value));
  }
}

const char* OperatorSql(FieldFilter::Op op) {
  switch (op) {
    case FieldFilter::Op::kEq:
      return " = ?";
    case FieldFilter::Op::kGte:
      return " >= ?";
    case FieldFilter::Op::kLte:
      return " <= ?";
  }
  return " = ?";
}

/// A WHERE clause and its parameters, in textual order.
struct Where {
  std::string sql;
  std::vector<std::string> params;
};

// Indexed fields compare their generated column (so the index is used); others fall back to
// json_extract on the document, with the JSON path bound as a parameter.
Result<void> AppendCondition(const CollectionInfo& info, std::string_view field, FieldFilter::Op op,
                             std::string_view value, Where& where) {
  if (!IsValidIdentifier(field)) {
    return InternalError("invalid field name '" + std::string(field) + "' in a query on " +
                         info.name);
  }
  where.sql += where.sql.empty() ? " WHERE " : " AND ";
  if (info.indexed.contains(field)) {
    where.sql += Quote(ColumnName(field));
  } else {
    where.sql += "json_extract(doc, ?)";
    where.params.push_back(JsonPath(field));
  }
  where.sql += OperatorSql(op);
  where.params.emplace_back(value);
  return Ok();
}

Result<Where> BuildWhere(const CollectionInfo& info, std::span<const FieldFilter> filters) {
  Where where;
  for (const auto& filter : filters) {
    if (auto added = AppendCondition(info, filter.field, filter.op, filter.value, where); !added) {
      return std::move(added).error();
    }
  }
  return where;
}

int BindAll(Statement& stmt, const std::vector<std::string>& params) {
  int index = 1;
  for (const auto& param : params) stmt.Bind(index++, param);
  return index;
}

}  // namespace

/// The Transaction handed to read and write fns: plain SQL on one connection inside the
/// transaction (and, for writes, the savepoint) the store opened around the fn.
class SqlTransaction final : public Transaction {
 public:
  SqlTransaction(Connection& connection, const Schema& schema) : db_(connection), schema_(schema) {}

  /// The outbox events this transaction appended, with their sequences (for the listener).
  std::vector<OutboxRecord>& appended_outbox() { return appended_outbox_; }

  Result<std::optional<json::object>> Get(std::string_view collection,
                                          std::string_view id) override {
    auto stmt = SelectById(collection, id);
    if (!stmt) return std::move(stmt).error();
    // Parsed straight from SQLite's buffer: the writer's hot path needs no copy of the text.
    return SingleDocument(*stmt, "get from " + std::string(collection));
  }

  Result<std::optional<std::string>> GetText(std::string_view collection,
                                             std::string_view id) override {
    auto stmt = SelectById(collection, id);
    if (!stmt) return std::move(stmt).error();
    const int rc = stmt->Step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqlError(db_.db(), rc, "get from " + std::string(collection));
    return std::optional<std::string>(std::string(stmt->Text(0)));
  }

  Result<std::optional<json::object>> FindOne(std::string_view collection, std::string_view field,
                                              std::string_view value) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    Where where;
    if (auto added = AppendCondition(**info, field, FieldFilter::Op::kEq, value, where); !added) {
      return std::move(added).error();
    }
    // Oldest first, so a non-unique field gives a stable answer.
    auto stmt =
        db_.Prepare("SELECT doc FROM " + (*info)->table + where.sql + " ORDER BY id LIMIT 1");
    if (!stmt) return std::move(stmt).error();
    BindAll(*stmt, where.params);
    return SingleDocument(*stmt, "find one in " + (*info)->name);
  }

  Result<FoundPage> Find(std::string_view collection, const FindQuery& query) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    auto where = BuildWhere(**info, query.filters);
    if (!where) return std::move(where).error();
    FoundPage page;
    page.total = -1;
    if (query.count_total) {
      auto total = CountWhere(**info, *where);
      if (!total) return std::move(total).error();
      page.total = *total;
    }

    auto stmt = db_.Prepare("SELECT doc FROM " + (*info)->table + where->sql + " ORDER BY id " +
                            (query.newest_first ? "DESC" : "ASC") + " LIMIT ? OFFSET ?");
    if (!stmt) return std::move(stmt).error();
    const int next = BindAll(*stmt, where->params);
    // SQLite treats a negative LIMIT as "no limit".
    stmt->Bind(next, query.limit);
    stmt->Bind(next + 1, std::max<int64_t>(query.offset, 0));
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      auto doc = ParseDocument(stmt->Text(0));
      if (!doc) return std::move(doc).error();
      page.docs.push_back(std::move(*doc));
    }
    if (rc != SQLITE_DONE) return SqlError(db_.db(), rc, "find in " + (*info)->name);
    return page;
  }

  Result<int64_t> Count(std::string_view collection,
                        std::span<const FieldFilter> filters) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    auto where = BuildWhere(**info, filters);
    if (!where) return std::move(where).error();
    return CountWhere(**info, *where);
  }

  Result<void> Insert(std::string_view collection, std::string_view id,
                      const json::object& doc) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    return InsertRow(**info, id, ToJsonText(doc),
                     [&](Statement& stmt, int index, const std::string& field) {
                       BindFieldValue(stmt, index, doc.if_contains(field));
                     });
  }

  Result<void> InsertText(std::string_view collection, std::string_view id,
                          std::string_view json_text) override {
    return InsertTextIndexed(collection, id, json_text, {});
  }

  Result<void> InsertTextIndexed(std::string_view collection, std::string_view id,
                                 std::string_view json_text,
                                 std::span<const KnownField> known) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    // The text is stored as it is. It is parsed only when a filled column's value is not among
    // `known`; otherwise only its braces are checked (see the interface's precondition).
    if (!IsBraced(json_text)) {
      return ValidationError("document for " + std::string(collection) + " is not a JSON object");
    }
    const auto is_known = [&](const std::string& field) {
      return std::any_of(known.begin(), known.end(),
                         [&](const KnownField& k) { return k.name == field; });
    };
    if (std::all_of((*info)->filled.begin(), (*info)->filled.end(), is_known)) {
      return InsertRow(**info, id, json_text,
                       [&](Statement& stmt, int index, const std::string& field) {
                         for (const auto& k : known) {
                           if (k.name != field) continue;
                           if (k.value) {
                             stmt.Bind(index, *k.value);
                           } else {
                             stmt.BindNull(index);
                           }
                           return;
                         }
                       });
    }
    std::optional<json::object> parsed;
    if (!(*info)->filled.empty()) {
      auto doc = ParseJson(json_text, kStoredDocumentLimits);
      if (!doc || !doc->is_object()) {
        return ValidationError("document for " + std::string(collection) + " is not JSON");
      }
      parsed = std::move(doc->get_object());
    }
    return InsertRow(**info, id, json_text,
                     [&](Statement& stmt, int index, const std::string& field) {
                       BindFieldValue(stmt, index, parsed->if_contains(field));
                     });
  }

  Result<void> Replace(std::string_view collection, std::string_view id,
                       const json::object& doc) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    auto stmt = db_.Prepare((*info)->replace_sql);
    if (!stmt) return std::move(stmt).error();
    int index = 1;
    stmt->Bind(index++, ToJsonText(doc));
    for (const auto& field : (*info)->filled) {
      BindFieldValue(*stmt, index++, doc.if_contains(field));
    }
    stmt->Bind(index, id);
    if (auto done = WriteResult(stmt->Step(), "replace in " + (*info)->name); !done) return done;
    if (sqlite3_changes(db_.db()) == 0) return Missing(**info, id);
    return Ok();
  }

  Result<void> Remove(std::string_view collection, std::string_view id) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    auto stmt = db_.Prepare("DELETE FROM " + (*info)->table + " WHERE id = ?");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, id);
    if (auto done = WriteResult(stmt->Step(), "remove from " + (*info)->name); !done) return done;
    if (sqlite3_changes(db_.db()) == 0) return Missing(**info, id);
    return Ok();
  }

  Result<int64_t> RemoveFirst(std::string_view collection, std::span<const FieldFilter> filters,
                              int64_t limit) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    if (limit <= 0) return int64_t{0};
    auto where = BuildWhere(**info, filters);
    if (!where) return std::move(where).error();
    // Without filters the subquery walks the primary-key index in order and stops at `limit`.
    // With filters, "+id" keeps SQLite from walking that index too (its choice without
    // statistics: ORDER BY id LIMIT looks cheap that way): it then tests every row until
    // `limit` match, i.e. reads the whole table when few or none do, as with the message log's
    // age rule (`createdAt <= cutoff`, usually nothing), 0.2 s per pass over 250,000 rows. The
    // filters' index finds the matches instead and only those are sorted by id.
    auto stmt = db_.Prepare("DELETE FROM " + (*info)->table + " WHERE id IN (SELECT id FROM " +
                            (*info)->table + where->sql + " ORDER BY " +
                            (filters.empty() ? "id" : "+id") + " LIMIT ?)");
    if (!stmt) return std::move(stmt).error();
    const int next = BindAll(*stmt, where->params);
    stmt->Bind(next, limit);
    if (auto done = WriteResult(stmt->Step(), "remove first from " + (*info)->name); !done) {
      return std::move(done).error();
    }
    return static_cast<int64_t>(sqlite3_changes(db_.db()));
  }

  Result<int64_t> Clear(std::string_view collection) override {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    // No WHERE clause: SQLite's truncate optimization frees the table's and its indexes' pages
    // whole (and still counts the rows) instead of deleting row by row through every index.
    auto stmt = db_.Prepare("DELETE FROM " + (*info)->table);
    if (!stmt) return std::move(stmt).error();
    if (auto done = WriteResult(stmt->Step(), "clear " + (*info)->name); !done) {
      return std::move(done).error();
    }
    return static_cast<int64_t>(sqlite3_changes(db_.db()));
  }

  Result<void> AppendOutbox(Envelope event) override {
    // Rejected here rather than when relayed: ParseEnvelope would refuse the row later and it
    // would never leave the outbox.
    if (event.event_type.empty() || event.metadata.message_id.empty()) {
      return ValidationError("outbox event needs an eventType and a messageId");
    }
    auto stmt = db_.Prepare(
        "INSERT INTO outbox (message_id, event_type, body, created_at) VALUES (?, ?, ?, ?)");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, event.metadata.message_id);
    stmt->Bind(2, event.event_type);
    stmt->Bind(3, SerializeEnvelope(event));
    stmt->Bind(4, NowMillis());
    if (auto done = WriteResult(stmt->Step(), "append to outbox"); !done) return done;
    appended_outbox_.push_back(OutboxRecord{sqlite3_last_insert_rowid(db_.db()), std::move(event)});
    return Ok();
  }

  Result<bool> MarkApplied(std::string_view consumer, std::string_view message_id) override {
    auto stmt = db_.Prepare(
        "INSERT OR IGNORE INTO inbox (consumer, message_id, applied_at) VALUES (?, ?, ?)");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, consumer);
    stmt->Bind(2, message_id);
    stmt->Bind(3, NowMillis());
    if (auto done = WriteResult(stmt->Step(), "mark applied"); !done)
      return std::move(done).error();
    return sqlite3_changes(db_.db()) == 1;
  }

  // The inbox's key is (consumer, message_id) and needs no second index: a ULID's leading
  // characters are its time, so each consumer's marks of messages made before the cutoff are one
  // key range, below the cutoff's prefix. Ids that are not ULIDs (the dead-letter manager's
  // keys, ids from other publishers) sort above the ULIDs made so far and are a second range;
  // the few that sort between the two are reached later, once the lower range moves past them.
  // Either way a mark goes only when its own applied_at is before the cutoff.
  Result<int64_t> PruneInbox(TimePoint applied_before, int64_t limit) override {
    const std::string lower = UlidTimePrefix(applied_before);
    const std::string upper = UlidTimePrefix(
        std::max(applied_before, std::chrono::system_clock::now()) + std::chrono::milliseconds(1));
    const int64_t cutoff = ToUnixMillis(applied_before);
    int64_t removed = 0;
    std::optional<std::string> consumer;
    while (removed < limit) {
      // The next consumer: one seek in the key's index per consumer, not a scan.
      auto next = db_.Prepare(consumer ? "SELECT consumer FROM inbox WHERE consumer > ? "
                                         "ORDER BY consumer LIMIT 1"
                                       : "SELECT consumer FROM inbox ORDER BY consumer LIMIT 1");
      if (!next) return std::move(next).error();
      if (consumer) next->Bind(1, *consumer);
      const int rc = next->Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqlError(db_.db(), rc, "find inbox consumers");
      consumer = std::string(next->Text(0));
      next->Reset();  // done with the read before the deletes change the table
      // Below the cutoff's prefix (ULIDs), then above every ULID made so far (other ids).
      const std::pair<const char*, const std::string*> ranges[] = {
          {"DELETE FROM inbox WHERE (consumer, message_id) IN (SELECT consumer, message_id "
           "FROM inbox WHERE consumer = ? AND message_id < ? AND applied_at < ? LIMIT ?)",
           &lower},
          {"DELETE FROM inbox WHERE (consumer, message_id) IN (SELECT consumer, message_id "
           "FROM inbox WHERE consumer = ? AND message_id >= ? AND applied_at < ? LIMIT ?)",
           &upper}};
      for (const auto& [sql, bound] : ranges) {
        auto stmt = db_.Prepare(sql);
        if (!stmt) return std::move(stmt).error();
        stmt->Bind(1, *consumer);
        stmt->Bind(2, *bound);
        stmt->Bind(3, cutoff);
        stmt->Bind(4, limit - removed);
        if (auto done = WriteResult(stmt->Step(), "prune inbox"); !done) {
          return std::move(done).error();
        }
        removed += sqlite3_changes(db_.db());
        if (removed >= limit) break;
      }
    }
    return removed;
  }

  // Deleting (rather than setting sent_at) keeps the table as small as the backlog. All but the
  // highest row: a new row's seq is one above the highest (no AUTOINCREMENT), so deleting that
  // one would hand its seq out again, and a late or repeated MarkOutboxSent of the old event
  // would then delete the new one unsent. The highest row is marked sent instead, and deleted
  // by a later call once a higher one exists; `kept` remembers it across calls (-1: none).
  Result<void> DeleteOutbox(std::span<const int64_t> sequences, int64_t& kept) {
    int64_t highest = -1;
    {
      // Reset (at the end of this block) before the table changes.
      auto max_stmt = db_.Prepare("SELECT max(seq) FROM outbox");
      if (!max_stmt) return std::move(max_stmt).error();
      if (const int rc = max_stmt->Step(); rc != SQLITE_ROW) {
        return SqlError(db_.db(), rc, "read the highest outbox sequence");
      }
      if (!max_stmt->IsNull(0)) highest = max_stmt->Int(0);
    }
    auto remove = db_.Prepare("DELETE FROM outbox WHERE seq = ?");
    if (!remove) return std::move(remove).error();
    for (const int64_t seq : sequences) {
      if (seq == highest) continue;
      remove->Bind(1, seq);
      if (auto done = WriteResult(remove->Step(), "mark outbox sent"); !done) return done;
      remove->Reset();
    }
    if (kept >= 0 && kept != highest) {
      // Only if marked sent: the write that marked it may have been rolled back. (A rollback of
      // this deletion leaves one sent row behind, which the next start-up deletes.)
      auto outrun = db_.Prepare("DELETE FROM outbox WHERE seq = ? AND sent_at IS NOT NULL");
      if (!outrun) return std::move(outrun).error();
      outrun->Bind(1, kept);
      if (auto done = WriteResult(outrun->Step(), "delete a sent outbox row"); !done) return done;
      kept = -1;
    }
    if (highest >= 0 && std::find(sequences.begin(), sequences.end(), highest) != sequences.end()) {
      auto mark = db_.Prepare("UPDATE outbox SET sent_at = ? WHERE seq = ?");
      if (!mark) return std::move(mark).error();
      mark->Bind(1, NowMillis());
      mark->Bind(2, highest);
      if (auto done = WriteResult(mark->Step(), "mark outbox sent"); !done) return done;
      kept = highest;
    }
    return Ok();
  }

 private:
  /// Inserts `text` as the document `id`; bind_field(stmt, index, field) binds each filled
  /// column.
  template <typename BindField>
  Result<void> InsertRow(const CollectionInfo& info, std::string_view id, std::string_view text,
                         const BindField& bind_field) {
    auto stmt = db_.Prepare(info.insert_sql);
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, id);
    stmt->Bind(2, text);
    int index = 3;
    for (const auto& field : info.filled) bind_field(*stmt, index++, field);
    const int rc = stmt->Step();
    // A table with generated columns (made by an earlier version) refuses malformed text.
    if (rc == SQLITE_ERROR && std::string_view(sqlite3_errmsg(db_.db())).find("malformed JSON") !=
                                  std::string_view::npos) {
      return ValidationError("document for " + info.name + " is not JSON");
    }
    return WriteResult(rc, "insert into " + info.name);
  }

  /// The prepared `SELECT doc … WHERE id = ?` of `collection`, bound to `id`.
  Result<Statement> SelectById(std::string_view collection, std::string_view id) {
    auto info = schema_.Find(collection);
    if (!info) return std::move(info).error();
    auto stmt = db_.Prepare("SELECT doc FROM " + (*info)->table + " WHERE id = ?");
    if (!stmt) return std::move(stmt).error();
    stmt->Bind(1, id);
    return stmt;
  }

  Result<std::optional<json::object>> SingleDocument(Statement& stmt, std::string_view context) {
    const int rc = stmt.Step();
    if (rc == SQLITE_DONE) return std::optional<json::object>();
    if (rc != SQLITE_ROW) return SqlError(db_.db(), rc, context);
    auto doc = ParseDocument(stmt.Text(0));
    if (!doc) return std::move(doc).error();
    return std::optional<json::object>(std::move(*doc));
  }

  Result<int64_t> CountWhere(const CollectionInfo& info, const Where& where) {
    auto stmt = db_.Prepare("SELECT COUNT(*) FROM " + info.table + where.sql);
    if (!stmt) return std::move(stmt).error();
    BindAll(*stmt, where.params);
    const int rc = stmt->Step();
    if (rc != SQLITE_ROW) return SqlError(db_.db(), rc, "count in " + info.name);
    return stmt->Int(0);
  }

  // Turns a unique-constraint failure into kConflict naming the clashing field, parsed from
  // SQLite's "UNIQUE constraint failed: table.column" (the primary key reports column "id").
  Result<void> WriteResult(int rc, std::string_view context) {
    if (rc == SQLITE_DONE) return Ok();
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      const int extended = sqlite3_extended_errcode(db_.db());
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        std::string_view message = sqlite3_errmsg(db_.db());
        std::string_view column = message.substr(message.rfind('.') + 1);
        if (column.starts_with("f:")) column.remove_prefix(2);
        std::string field(column);
        return Error{ErrorCode::kConflict, field + " already exists", {{field, "already exists"}}};
      }
    }
    return SqlError(db_.db(), rc, context);
  }

  static Error Missing(const CollectionInfo& info, std::string_view id) {
    return NotFoundError(info.name + " '" + std::string(id) + "' not found");
  }

  Connection& db_;
  const Schema& schema_;
  std::vector<OutboxRecord> appended_outbox_;
};

}  // namespace sqlite

using sqlite::Connection;
using sqlite::SqlTransaction;

namespace {

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

// A throwing callback must not take down the writer thread (and with it every later write).
template <class Fn, class... Args>
void CallbackGuarded(const char* what, const Fn& fn, Args&&... args) {
  try {
    fn(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    spdlog::error("SqliteStore: {} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("SqliteStore: {} threw a non-standard exception", what);
  }
}

}  // namespace

/// A reader connection borrowed from the pool; returned on destruction.
class SqliteStore::ReaderLease {
 public:
  ReaderLease(SqliteStore* store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  ReaderLease(ReaderLease&&) noexcept = default;
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() {
    if (connection_) store_->ReleaseReader(std::move(connection_));
  }
  Connection& operator*() const { return *connection_; }

 private:
  SqliteStore* store_;
  std::unique_ptr<Connection> connection_;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(SqliteStoreOptions options) {
  if (options.path.empty() || options.path == ":memory:" || options.path.starts_with("file:")) {
    return UnavailableError("SqliteStore needs a database file path, got '" + options.path + "'");
  }
  if (sqlite3_threadsafe() == 0) {
    return UnavailableError("the SQLite library was built without thread support");
  }
  options.max_batch = std::max<size_t>(options.max_batch, 1);

  auto schema = sqlite::BuildSchema(options.collections);
  if (!schema) return std::move(schema).error();

  const std::filesystem::path path(options.path);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return UnavailableError("cannot create data directory '" + path.parent_path().string() +
                              "': " + ec.message());
    }
  }

  // Whatever goes wrong from here on (not a database, permissions, locked by another process)
  // is a start-up failure of the store: kUnavailable, whatever SQLite's code was.
  auto startup_error = [&options](const Error& error) {
    return UnavailableError("cannot open SQLite store '" + options.path + "': " + error.message);
  };
  auto writer = Connection::Open(options, Connection::Role::kWriter);
  if (!writer) return startup_error(writer.error());
  auto applied = (*writer)->Exec("BEGIN IMMEDIATE");
  if (applied) applied = sqlite::ApplySchema(**writer, *schema);
  if (applied) applied = (*writer)->Exec("COMMIT");
  if (!applied) {
    if ((*writer)->InTransaction()) (void)(*writer)->Exec("ROLLBACK");
    return startup_error(applied.error());
  }
  // Opening one reader now surfaces reader-side problems (permissions, WAL shm) at start-up
  // rather than on the first request.
  auto reader = Connection::Open(options, Connection::Role::kReader);
  if (!reader) return startup_error(reader.error());
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer;
  if (options.background_checkpoints) {
    const int64_t limit = std::max<int64_t>(options.wal_autocheckpoint_pages, 4);
    auto started = sqlite::WalCheckpointer::Start({.path = options.path,
                                                   .synchronous_full = options.synchronous_full,
                                                   .step_pages = sqlite::CheckpointStepPages(limit),
                                                   .limit_pages = limit,
                                                   .thread_name = "ckpt:" + path.stem().string()});
    if (!started) return startup_error(started.error());
    checkpointer = std::move(*started);
    checkpointer->Attach((*writer)->db());
  }

  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(options), std::make_unique<sqlite::Schema>(std::move(*schema)),
                      std::move(*writer), std::move(*reader), std::move(checkpointer)));
}

SqliteStore::SqliteStore(SqliteStoreOptions options, std::unique_ptr<sqlite::Schema> schema,
                         std::unique_ptr<Connection> writer,
                         std::unique_ptr<Connection> first_reader,
                         std::unique_ptr<sqlite::WalCheckpointer> checkpointer)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      writer_(std::move(writer)),
      checkpointer_(std::move(checkpointer)) {
  idle_readers_.push_back(std::move(first_reader));
  writer_thread_ = std::thread([this] {
    SetThreadName("db:" + std::filesystem::path(options_.path).stem().string());
    WriterLoop();
  });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  // The checkpointer goes first (its connection open would keep the writer's close from
  // removing the WAL). Then connections close as members are destroyed: readers, then the
  // writer, whose close checkpoints the WAL into the database file.
  if (checkpointer_) {
    sqlite::WalCheckpointer::Detach(writer_->db());
    checkpointer_.reset();
  }
}

void SqliteStore::Write(WriteFn fn, DoneFn done) {
  Enqueue(WriteItem{[fn = std::move(fn)](SqlTransaction& tx) { return InvokeGuarded(fn, tx); },
                    std::move(done)});
}

void SqliteStore::Enqueue(WriteItem item) {
  {
    std::unique_lock lock(queue_mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(item));
      lock.unlock();
      queue_cv_.notify_one();
      return;
    }
  }
  if (item.done) item.done(UnavailableError("the SQLite store is shutting down"));
}

void SqliteStore::WriterLoop() {
  std::vector<WriteItem> batch;
  batch.reserve(options_.max_batch);
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // On shutdown the queue is drained first: queued writes were accepted and must finish.
      if (queue_.empty()) return;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    batch.clear();
  }
}

void SqliteStore::RunBatch(std::vector<WriteItem>& batch) {
  Connection& db = *writer_;
  std::vector<Result<void>> results(batch.size());
  // The outbox events of the items that commit, in sequence order, for the listener.
  std::vector<OutboxRecord> appended_outbox;

  // Group commit: one BEGIN IMMEDIATE … COMMIT (one WAL sync) for the whole batch; each item
  // runs inside its own savepoint so its failure rolls back only its own writes. A batch of one
  // (the common case when the writer keeps up) needs no savepoint: its failure rolls back the
  // whole transaction, which is only its own. That saves two statements per write.
  const bool savepoints = batch.size() > 1;
  Result<void> batch_result = db.Exec("BEGIN IMMEDIATE");
  for (size_t i = 0; i < batch.size() && batch_result; ++i) {
    if (savepoints) {
      batch_result = db.Exec("SAVEPOINT item");
      if (!batch_result) break;
    }
    SqlTransaction tx(db, *schema_);
    results[i] = batch[i].fn(tx);
    if (!results[i]) {
      if (savepoints) {
        batch_result = db.Exec("ROLLBACK TO item");
        if (batch_result) batch_result = db.Exec("RELEASE item");
      }
    } else {
      if (savepoints) batch_result = db.Exec("RELEASE item");
      if (batch_result) {
        auto& appended = tx.appended_outbox();
        if (appended_outbox.empty()) {
          appended_outbox = std::move(appended);
        } else {
          std::move(appended.begin(), appended.end(), std::back_inserter(appended_outbox));
        }
      }
    }
    // Some errors (disk full, I/O) make SQLite roll back the whole transaction by itself;
    // continuing would run the remaining items in autocommit mode.
    if (batch_result && !db.InTransaction()) {
      batch_result = InternalError("SQLite aborted the write transaction");
    }
  }
  const bool lone_failure = batch.size() == 1 && batch_result && !results[0];
  if (lone_failure) {
    // The only item failed: nothing to commit. Its own error is its result.
    if (db.InTransaction()) (void)db.Exec("ROLLBACK");
    appended_outbox.clear();
  } else if (batch_result) {
    batch_result = db.Exec("COMMIT");
  }
  if (!batch_result) {
    if (db.InTransaction()) (void)db.Exec("ROLLBACK");
    spdlog::error("SqliteStore: write batch of {} failed: {}", batch.size(),
                  batch_result.error().message);
    appended_outbox.clear();
    // Items that failed on their own keep their own (more telling) error; everything else in
    // the batch was rolled back by the batch failure.
    for (auto& result : results) {
      if (result) result = batch_result.error();
    }
  } else if (!lone_failure) {
    batches_.fetch_add(1, std::memory_order_relaxed);
  }

  // The listener first, as MongoStore does: a caller whose write has completed knows that the
  // events it committed were handed over (to the listener installed by then), not that they may
  // still be, to a listener installed after the completion.
  if (!appended_outbox.empty()) {
    OutboxListener listener;
    {
      std::lock_guard lock(listener_mutex_);
      listener = outbox_listener_;
    }
    if (listener) CallbackGuarded("outbox listener", listener, std::move(appended_outbox));
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    (results[i] ? writes_committed_ : writes_failed_).fetch_add(1, std::memory_order_relaxed);
    if (batch[i].done) CallbackGuarded("write completion", batch[i].done, std::move(results[i]));
  }
}

Result<SqliteStore::ReaderLease> SqliteStore::AcquireReader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(connection));
    }
  }
  // Opened outside the lock: opening touches the file system.
  auto connection = Connection::Open(options_, Connection::Role::kReader);
  if (!connection) return std::move(connection).error();
  return ReaderLease(this, std::move(*connection));
}

void SqliteStore::ReleaseReader(std::unique_ptr<Connection> connection) {
  // A connection stuck in a transaction would pin an old snapshot (and the WAL) forever.
  if (connection->InTransaction()) return;
  std::unique_ptr<Connection> surplus;  // closed outside the lock
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < options_.max_idle_readers) {
    idle_readers_.push_back(std::move(connection));
  } else {
    surplus = std::move(connection);
  }
}

void SqliteStore::Read(ReadFn fn, DoneFn done) {
  Result<void> result = [&]() -> Result<void> {
    auto lease = AcquireReader();
    if (!lease) return std::move(lease).error();
    Connection& db = **lease;
    // A deferred BEGIN takes its snapshot at the first read and keeps it until COMMIT, so
    // every query of `fn` sees the same committed state.
    if (auto begun = db.Exec("BEGIN"); !begun) return begun;
    SqlTransaction tx(db, *schema_);
    Result<void> outcome = InvokeGuarded(fn, tx);
    if (auto ended = db.Exec("COMMIT"); !ended) {
      (void)db.Exec("ROLLBACK");
      if (outcome) outcome = std::move(ended);
    }
    return outcome;
  }();  // the lease is back in the pool before `done` runs, which may read again
  done(std::move(result));
}

Result<std::vector<OutboxRecord>> SqliteStore::PendingOutbox(size_t limit) {
  auto lease = AcquireReader();
  if (!lease) return std::move(lease).error();
  Connection& db = **lease;
  auto stmt = db.Prepare("SELECT seq, body FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<OutboxRecord> records;
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) {
    auto event = ParseEnvelope(stmt->Text(1));
    if (!event) {
      // AppendOutbox only stores envelopes that parse, so this is corruption; failing the whole
      // call would stall the relay behind one bad row forever.
      spdlog::error("SqliteStore: outbox row {} is unreadable and skipped: {}", stmt->Int(0),
                    event.error().message);
      continue;
    }
    records.push_back(OutboxRecord{stmt->Int(0), std::move(*event)});
  }
  if (rc != SQLITE_DONE) return sqlite::SqlError(db.db(), rc, "read pending outbox");
  return records;
}

Result<size_t> SqliteStore::CountPendingOutbox(size_t cap) {
  auto lease = AcquireReader();
  if (!lease) return std::move(lease).error();
  Connection& db = **lease;
  // Counting inside a LIMITed subquery keeps a huge backlog as cheap as a small one.
  auto stmt =
      db.Prepare("SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT ?)");
  if (!stmt) return std::move(stmt).error();
  stmt->Bind(1, static_cast<int64_t>(std::min<size_t>(cap, INT64_MAX)));
  const int rc = stmt->Step();
  if (rc != SQLITE_ROW) return sqlite::SqlError(db.db(), rc, "count pending outbox");
  return static_cast<size_t>(stmt->Int(0));
}

Result<void> SqliteStore::MarkOutboxSent(std::span<const int64_t> sequences) {
  if (sequences.empty()) return Ok();
  if (std::this_thread::get_id() == writer_thread_.get_id()) {
    return InternalError("MarkOutboxSent called on the SQLite writer thread (it would deadlock)");
  }
  // Shared so the writer thread never touches a promise this frame has already destroyed.
  auto promise = std::make_shared<std::promise<Result<void>>>();
  auto future = promise->get_future();
  MarkOutboxSentLater({sequences.begin(), sequences.end()},
                      [promise](Result<void> result) { promise->set_value(std::move(result)); });
  return future.get();
}

void SqliteStore::MarkOutboxSentLater(std::vector<int64_t> sequences, DoneFn done) {
  Enqueue(WriteItem{[this, sequences = std::move(sequences)](SqlTransaction& tx) {
                      return tx.DeleteOutbox(sequences, kept_outbox_sequence_);
                    },
                    std::move(done)});
}

void SqliteStore::SetOutboxListener(OutboxListener listener) {
  std::lock_guard lock(listener_mutex_);
  outbox_listener_ = std::move(listener);
}

StoreStatus SqliteStore::Status() const { return StoreStatus{"sqlite", true, options_.path}; }

SqliteStoreStats SqliteStore::Stats() const {
  SqliteStoreStats stats{batches_.load(std::memory_order_relaxed),
                         writes_committed_.load(std::memory_order_relaxed),
                         writes_failed_.load(std::memory_order_relaxed)};
  if (checkpointer_) {
    const auto checkpoints = checkpointer_->stats();
    stats.checkpoints_background = checkpoints.background;
    stats.checkpoints_by_writer = checkpoints.by_writer;
  }
  return stats;
}

}  // namespace shopflow
