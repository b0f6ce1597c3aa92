#include "app/migrate.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <ostream>
#include <set>
#include <utility>
#include <vector>

#include "storage/mongo/mongo_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow {

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

  // What the target already waits to publish, read once before anything is appended: an event
  // in it is skipped (a re-run must not queue it twice), every other pending event is appended.
  auto pending = target.PendingOutbox(SIZE_MAX);
  if (!pending) return std::move(pending).error();
  std::set<std::string> waiting;
  for (const auto& record : *pending) waiting.insert(record.event.metadata.message_id);
  int64_t after_sequence = 0;
  for (;;) {
    auto events = source.PendingOutbox(after_sequence, batch);
    if (!events) return std::move(events).error();
    if (events->empty()) break;
    std::vector<const Envelope*> to_append;
    for (const auto& record : *events) {
      if (waiting.contains(record.event.metadata.message_id)) {
        ++counts.outbox_already_pending;
      } else {
        to_append.push_back(&record.event);
      }
    }
    if (!to_append.empty()) {
      auto appended = WriteAndWait(target, [&](Transaction& tx) -> Result<void> {
        for (const Envelope* event : to_append) {
          if (auto done = tx.AppendOutbox(*event); !done) return done;
        }
        return Ok();
      });
      if (!appended) return std::move(appended).error();
      counts.outbox_appended += static_cast<int64_t>(to_append.size());
    }
    after_sequence = events->back().sequence;
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
