#include "storage/sqlite/sqlite_export.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "storage/sqlite/wrappers.hpp"

namespace shopflow {
namespace {

// Stored documents were written by shopflow itself; allow deep ones (as SqliteStore does), or
// an export would refuse data the store accepted.
constexpr JsonLimits kStoredDocumentLimits{.max_depth = 512};

std::string_view Text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return {};
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

// A null data pointer would bind SQL NULL instead of an empty string, and `x > NULL` matches
// nothing: the first page would come back empty.
int Bind(sqlite3_stmt* stmt, int index, std::string_view value) {
  return sqlite3_bind_text64(stmt, index, value.data() != nullptr ? value.data() : "", value.size(),
                             SQLITE_TRANSIENT, SQLITE_UTF8);
}

bool IsPlainIdentifier(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_';
  });
}

Result<void> CheckLimit(int64_t limit) {
  if (limit < 1) return ValidationError("a page needs a positive limit", {{"limit", "below 1"}});
  return Ok();
}

}  // namespace

/// The read-only connection, inside the snapshot's read transaction from Open to destruction.
struct SqliteSnapshot::Connection {
  std::string path;
  sqlite::DatabasePtr db;

  ~Connection() {
    // Ends the read transaction (nothing was written) before the close releases the file.
    if (db != nullptr && sqlite3_get_autocommit(db.get()) == 0) {
      sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr);
    }
  }

  /// kUnavailable naming the file, what was being done and SQLite's own explanation.
  Error Fail(std::string_view context) const {
    return UnavailableError("cannot read SQLite database " + path + " (" + std::string(context) +
                            "): " + sqlite3_errmsg(db.get()));
  }

  Result<sqlite::StatementPtr> Prepare(const std::string& sql, std::string_view context) const {
    sqlite3_stmt* raw = nullptr;
    const int rc =
        sqlite3_prepare_v2(db.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    sqlite::StatementPtr stmt(raw);
    if (rc != SQLITE_OK) return Fail(context);
    return stmt;
  }

  /// Fails when a bind failed (out of memory, a string over SQLite's length limit).
  Result<void> CheckBinds(std::initializer_list<int> codes, std::string_view context) const {
    for (const int rc : codes) {
      if (rc != SQLITE_OK) return Fail(context);
    }
    return Ok();
  }
};

Result<std::unique_ptr<SqliteSnapshot>> SqliteSnapshot::Open(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    return UnavailableError("no SQLite database at " + path);
  }
  auto connection = std::make_unique<Connection>();
  connection->path = path;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  connection->db.reset(raw);  // a failed open still allocates a handle that must be closed
  if (rc != SQLITE_OK) return connection->Fail("open");
  // A shopflow process may be mid-checkpoint or recovering the WAL; wait for it like the store's
  // own connections do rather than failing at once.
  sqlite3_busy_timeout(connection->db.get(), 5000);
  // A deferred BEGIN takes its snapshot at the first read below and keeps it until the
  // destructor's COMMIT, so every later page sees the same committed state.
  if (sqlite3_exec(connection->db.get(), "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return connection->Fail("begin a read transaction");
  }

  auto tables = connection->Prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
      "ORDER BY name",
      "list tables");
  if (!tables) return std::move(tables).error();
  std::vector<std::string> collections;
  int shopflow_tables = 0;
  int step;
  while ((step = sqlite3_step(tables->get())) == SQLITE_ROW) {
    const std::string_view name = Text(tables->get(), 0);
    if (name == "outbox" || name == "inbox") {
      ++shopflow_tables;
    } else {
      collections.emplace_back(name);
    }
  }
  // An arbitrary file opens fine (SQLite reads lazily); "file is not a database" surfaces here.
  if (step != SQLITE_DONE) return connection->Fail("list tables");
  if (shopflow_tables != 2) {
    return UnavailableError(path + " is not a shopflow database (no outbox and inbox tables)");
  }
  return std::unique_ptr<SqliteSnapshot>(
      new SqliteSnapshot(path, std::move(connection), std::move(collections)));
}

SqliteSnapshot::SqliteSnapshot(std::string path, std::unique_ptr<Connection> connection,
                               std::vector<std::string> collections)
    : path_(std::move(path)),
      connection_(std::move(connection)),
      collections_(std::move(collections)) {}

SqliteSnapshot::~SqliteSnapshot() = default;

Result<std::vector<SqliteSnapshot::Document>> SqliteSnapshot::Documents(
    const std::string& collection, const std::string& after, int64_t limit) {
  if (auto checked = CheckLimit(limit); !checked) return std::move(checked).error();
  if (std::find(collections_.begin(), collections_.end(), collection) == collections_.end()) {
    return NotFoundError("no collection '" + collection + "' in " + path_);
  }
  // The name comes from sqlite_master and SqliteStore allows only [A-Za-z0-9_]+, so quoting it
  // is safe; a table some other tool added with another name is refused, never interpolated.
  if (!IsPlainIdentifier(collection)) {
    return UnavailableError("unexpected table name '" + collection + "' in " + path_ +
                            " (shopflow collections use [A-Za-z0-9_] only)");
  }
  const std::string context = "read " + collection;
  auto stmt = connection_->Prepare(
      "SELECT id, doc FROM \"" + collection + "\" WHERE id > ? ORDER BY id LIMIT ?", context);
  if (!stmt) return std::move(stmt).error();
  if (auto bound = connection_->CheckBinds(
          {Bind(stmt->get(), 1, after), sqlite3_bind_int64(stmt->get(), 2, limit)}, context);
      !bound) {
    return std::move(bound).error();
  }
  std::vector<Document> docs;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    std::string id(Text(stmt->get(), 0));
    auto parsed = ParseJson(Text(stmt->get(), 1), kStoredDocumentLimits);
    if (!parsed || !parsed->is_object()) {
      return InternalError(collection + " '" + id + "' in " + path_ + " is not a JSON object");
    }
    docs.push_back(Document{std::move(id), std::move(parsed->get_object())});
  }
  if (rc != SQLITE_DONE) return connection_->Fail(context);
  return docs;
}

Result<std::vector<OutboxRecord>> SqliteSnapshot::PendingOutbox(int64_t after_sequence,
                                                                int64_t limit) {
  if (auto checked = CheckLimit(limit); !checked) return std::move(checked).error();
  constexpr std::string_view kContext = "read outbox";
  auto stmt = connection_->Prepare(
      "SELECT seq, body FROM outbox WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",
      kContext);
  if (!stmt) return std::move(stmt).error();
  if (auto bound = connection_->CheckBinds({sqlite3_bind_int64(stmt->get(), 1, after_sequence),
                                            sqlite3_bind_int64(stmt->get(), 2, limit)},
                                           kContext);
      !bound) {
    return std::move(bound).error();
  }
  std::vector<OutboxRecord> records;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    const int64_t sequence = sqlite3_column_int64(stmt->get(), 0);
    auto event = ParseEnvelope(Text(stmt->get(), 1));
    // Unlike the store's relay (which skips such a row so one bad row cannot stall it), an
    // export must not drop an event silently: the caller decides.
    if (!event) {
      return InternalError("outbox row " + std::to_string(sequence) + " of " + path_ +
                           " is unreadable: " + event.error().message);
    }
    records.push_back(OutboxRecord{sequence, std::move(*event)});
  }
  if (rc != SQLITE_DONE) return connection_->Fail(kContext);
  return records;
}

Result<std::vector<SqliteSnapshot::InboxMark>> SqliteSnapshot::Inbox(const InboxMark& after,
                                                                     int64_t limit) {
  if (auto checked = CheckLimit(limit); !checked) return std::move(checked).error();
  constexpr std::string_view kContext = "read inbox";
  // The row-value comparison walks the (consumer, message_id) primary key in order.
  auto stmt = connection_->Prepare(
      "SELECT consumer, message_id FROM inbox WHERE (consumer, message_id) > (?, ?) "
      "ORDER BY consumer, message_id LIMIT ?",
      kContext);
  if (!stmt) return std::move(stmt).error();
  if (auto bound = connection_->CheckBinds(
          {Bind(stmt->get(), 1, after.consumer), Bind(stmt->get(), 2, after.message_id),
           sqlite3_bind_int64(stmt->get(), 3, limit)},
          kContext);
      !bound) {
    return std::move(bound).error();
  }
  std::vector<InboxMark> marks;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    marks.push_back(
        InboxMark{std::string(Text(stmt->get(), 0)), std::string(Text(stmt->get(), 1))});
  }
  if (rc != SQLITE_DONE) return connection_->Fail(kContext);
  return marks;
}

}  // namespace shopflow
