#include "app/migrate.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <set>
#include <utility>

#include "storage/mongo/mongo_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow {
namespace {

// Stored documents were written by shopflow itself; allow deep ones (as SqliteStore does).
constexpr JsonLimits kStoredDocumentLimits{.max_depth = 512};

struct StatementCloser {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementCloser>;

std::string_view Text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  if (text == nullptr) return {};
  return {text, static_cast<size_t>(sqlite3_column_bytes(stmt, column))};
}

void Bind(sqlite3_stmt* stmt, int index, std::string_view value) {
  sqlite3_bind_text64(stmt, index, value.data() != nullptr ? value.data() : "", value.size(),
                      SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

struct SqliteSnapshot::Handle {
  sqlite3* db = nullptr;
  std::string path;
  ~Handle() {
    if (db != nullptr) {
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      sqlite3_close_v2(db);
    }
  }
  Error Fail(std::string_view context) const {
    return UnavailableError("cannot read " + path + " (" + std::string(context) +
                            "): " + sqlite3_errmsg(db));
  }
  Result<Statement> Prepare(const std::string& sql) const {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return Fail("prepare " + sql);
    }
    return Statement(raw);
  }
};

Result<std::unique_ptr<SqliteSnapshot>> SqliteSnapshot::Open(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    return UnavailableError("no SQLite database at " + path);
  }
  auto handle = std::make_unique<Handle>();
  handle->path = path;
  if (sqlite3_open_v2(path.c_str(), &handle->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return handle->Fail("open");
  }
  sqlite3_busy_timeout(handle->db, 5000);
  // One read transaction for the whole copy: a consistent snapshot (WAL lets the writer go on).
  if (sqlite3_exec(handle->db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return handle->Fail("begin");
  }
  auto stmt = handle->Prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('outbox', 'inbox') "
      "AND name NOT LIKE 'sqlite_%' ORDER BY name");
  if (!stmt) return std::move(stmt).error();
  std::vector<std::string> collections;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    collections.emplace_back(Text(stmt->get(), 0));
  }
  if (rc != SQLITE_DONE) return handle->Fail("list tables");
  auto shopflow = handle->Prepare(
      "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('outbox', 'inbox')");
  if (!shopflow) return std::move(shopflow).error();
  if (sqlite3_step(shopflow->get()) != SQLITE_ROW || sqlite3_column_int(shopflow->get(), 0) != 2) {
    return UnavailableError(path + " is not a shopflow database (no outbox and inbox tables)");
  }
  return std::unique_ptr<SqliteSnapshot>(
      new SqliteSnapshot(std::move(handle), std::move(collections)));
}

SqliteSnapshot::SqliteSnapshot(std::unique_ptr<Handle> handle, std::vector<std::string> collections)
    : handle_(std::move(handle)), collections_(std::move(collections)) {}

SqliteSnapshot::~SqliteSnapshot() = default;

Result<std::vector<SqliteSnapshot::Document>> SqliteSnapshot::Documents(
    const std::string& collection, const std::string& after, int64_t limit) {
  // Names come from sqlite_master; SqliteStore allows only [A-Za-z0-9_]+, so quoting is safe,
  // and anything else is refused rather than interpolated.
  for (const char c : collection) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') {
      return UnavailableError("unexpected table name '" + collection + "' in " + handle_->path);
    }
  }
  auto stmt = handle_->Prepare("SELECT id, doc FROM \"" + collection +
                               "\" WHERE id > ? ORDER BY id LIMIT ?");
  if (!stmt) return std::move(stmt).error();
  Bind(stmt->get(), 1, after);
  sqlite3_bind_int64(stmt->get(), 2, limit);
  std::vector<Document> docs;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    auto parsed = ParseJson(Text(stmt->get(), 1), kStoredDocumentLimits);
    if (!parsed || !parsed->is_object()) {
      return InternalError(collection + " '" + std::string(Text(stmt->get(), 0)) +
                           "' is not a JSON object in " + handle_->path);
    }
    docs.push_back(Document{std::string(Text(stmt->get(), 0)), std::move(parsed->as_object())});
  }
  if (rc != SQLITE_DONE) return handle_->Fail("read " + collection);
  return docs;
}

Result<std::vector<SqliteSnapshot::InboxMark>> SqliteSnapshot::Inbox(const InboxMark& after,
                                                                     int64_t limit) {
  auto stmt = handle_->Prepare(
      "SELECT consumer, message_id FROM inbox WHERE (consumer, message_id) > (?, ?) "
      "ORDER BY consumer, message_id LIMIT ?");
  if (!stmt) return std::move(stmt).error();
  Bind(stmt->get(), 1, after.consumer);
  Bind(stmt->get(), 2, after.message_id);
  sqlite3_bind_int64(stmt->get(), 3, limit);
  std::vector<InboxMark> marks;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    marks.push_back(
        InboxMark{std::string(Text(stmt->get(), 0)), std::string(Text(stmt->get(), 1))});
  }
  if (rc != SQLITE_DONE) return handle_->Fail("read inbox");
  return marks;
}

Result<std::vector<Envelope>> SqliteSnapshot::PendingOutbox() {
  auto stmt = handle_->Prepare("SELECT seq, body FROM outbox WHERE sent_at IS NULL ORDER BY seq");
  if (!stmt) return std::move(stmt).error();
  std::vector<Envelope> events;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    auto event = ParseEnvelope(Text(stmt->get(), 1));
    if (!event) {
      return InternalError("outbox row " + std::to_string(sqlite3_column_int64(stmt->get(), 0)) +
                           " of " + handle_->path + " is unreadable: " + event.error().message);
    }
    events.push_back(std::move(*event));
  }
  if (rc != SQLITE_DONE) return handle_->Fail("read outbox");
  return events;
}

Result<MigrationCounts> CopySnapshot(SqliteSnapshot& source, Store& target, int64_t batch) {
  batch = std::max<int64_t>(batch, 1);
  MigrationCounts counts;
  for (const auto& collection : source.collections()) {
    auto& tally = counts.collections[collection];
    std::string after;
    for (;;) {
      auto docs = source.Documents(collection, after, batch);
      if (!docs) return std::move(docs).error();
      if (docs->empty()) break;
      MigrationCounts::Collection page;
      auto written = WriteAndWait(target, [&](Transaction& tx) -> Result<void> {
        page = {};  // a retried transaction counts afresh
        for (const auto& [id, doc] : *docs) {
          auto existing = tx.Get(collection, id);
          if (!existing) return std::move(existing).error();
          auto put = existing->has_value() ? tx.Replace(collection, id, doc)
                                           : tx.Insert(collection, id, doc);
          if (!put) {
            Error error = std::move(put).error();
            error.message = collection + " '" + id + "': " + error.message;
            return error;
          }
          ++(existing->has_value() ? page.updated : page.inserted);
        }
        return Ok();
      });
      if (!written) return std::move(written).error();
      tally.inserted += page.inserted;
      tally.updated += page.updated;
      after = docs->back().id;
    }
  }

  auto events = source.PendingOutbox();
  if (!events) return std::move(events).error();
  auto pending = target.PendingOutbox(SIZE_MAX);
  if (!pending) return std::move(pending).error();
  std::set<std::string> waiting;
  for (const auto& record : *pending) waiting.insert(record.event.metadata.message_id);
  std::vector<const Envelope*> to_append;
  for (const auto& event : *events) {
    if (waiting.contains(event.metadata.message_id)) {
      ++counts.outbox_already_pending;
    } else {
      to_append.push_back(&event);
    }
  }
  for (size_t start = 0; start < to_append.size(); start += static_cast<size_t>(batch)) {
    const size_t end = std::min(to_append.size(), start + static_cast<size_t>(batch));
    auto appended = WriteAndWait(target, [&](Transaction& tx) -> Result<void> {
      for (size_t i = start; i < end; ++i) {
        if (auto done = tx.AppendOutbox(*to_append[i]); !done) return done;
      }
      return Ok();
    });
    if (!appended) return std::move(appended).error();
    counts.outbox_appended += static_cast<int64_t>(end - start);
  }

  SqliteSnapshot::InboxMark after;
  for (;;) {
    auto marks = source.Inbox(after, batch);
    if (!marks) return std::move(marks).error();
    if (marks->empty()) break;
    int64_t marked = 0;
    int64_t present = 0;
    auto written = WriteAndWait(target, [&](Transaction& tx) -> Result<void> {
      marked = present = 0;
      for (const auto& mark : *marks) {
        auto applied = tx.MarkApplied(mark.consumer, mark.message_id);
        if (!applied) return std::move(applied).error();
        ++(*applied ? marked : present);
      }
      return Ok();
    });
    if (!written) return std::move(written).error();
    counts.inbox_marked += marked;
    counts.inbox_already_marked += present;
    after = marks->back();
  }
  return counts;
}

Result<std::string> SqliteSourcePath(const std::string& from) {
  std::string path = from;
  if (path.starts_with("sqlite://")) path = path.substr(9);
  if (path.empty()) {
    return ValidationError("--from needs a SQLite file or data directory", {{"from", "is empty"}});
  }
  if (std::filesystem::is_directory(path)) {
    const auto file = std::filesystem::path(path) / "shopflow.db";
    if (!std::filesystem::is_regular_file(file)) {
      return ValidationError("no shopflow.db in " + path +
                                 " (a --modules process keeps e.g. orders+payments.db: pass that "
                                 "file instead)",
                             {{"from", "has no shopflow.db"}});
    }
    return file.string();
  }
  if (!std::filesystem::is_regular_file(path)) {
    return ValidationError("no SQLite database at " + path, {{"from", "does not exist"}});
  }
  return path;
}

int RunMigrate(const std::string& from, const std::string& to, std::ostream& out,
               std::ostream& err) {
  auto path = SqliteSourcePath(from);
  if (!path) {
    err << "shopflow migrate: " << path.error().message << "\n";
    return 1;
  }
  auto source = SqliteSnapshot::Open(*path);
  if (!source) {
    err << "shopflow migrate: " << source.error().message << "\n";
    return 1;
  }
  // The target gets the source's collections; indexes are (re)declared by `shopflow serve`,
  // whose collection specs carry the indexed and unique fields.
  std::vector<CollectionSpec> specs;
  for (const auto& name : (*source)->collections()) specs.push_back(CollectionSpec{name, {}, {}});
  std::unique_ptr<Store> target;
  if (to.starts_with("mongodb://") || to.starts_with("mongodb+srv://")) {
    auto store = MongoStore::Open({.url = to, .collections = specs});
    if (!store) {
      err << "shopflow migrate: " << store.error().message << "\n";
      return 1;
    }
    target = std::move(*store);
  } else if (to.starts_with("sqlite://")) {
    auto store = SqliteStore::Open({.path = to.substr(9), .collections = specs});
    if (!store) {
      err << "shopflow migrate: " << store.error().message << "\n";
      return 1;
    }
    target = std::move(*store);
  } else {
    err << "shopflow migrate: --to must be a mongodb:// URL (or sqlite://FILE)\n";
    return 1;
  }
  out << "copying " << *path << " into " << target->Status().detail << "\n";
  auto counts = CopySnapshot(**source, *target);
  if (!counts) {
    err << "shopflow migrate: " << counts.error().message << "\n";
    return 1;
  }
  for (const auto& [name, tally] : counts->collections) {
    out << "  " << name << ": " << tally.inserted << " inserted, " << tally.updated << " updated\n";
  }
  out << "  outbox: " << counts->outbox_appended << " pending events appended, "
      << counts->outbox_already_pending << " already pending\n"
      << "  inbox: " << counts->inbox_marked << " marks copied, " << counts->inbox_already_marked
      << " already present\n";
  return 0;
}

}  // namespace shopflow
