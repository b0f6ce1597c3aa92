#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "storage/sqlite/wrappers.hpp"
#include "tests/support/store_conformance.hpp"

namespace shopflow {
namespace {

namespace fs = std::filesystem;
using testing::CompletionCounter;
using testing::IsOk;
using testing::StoreBackend;
using testing::StoreConformanceTest;
using testing::StoreLocation;

/// A fresh directory under the test temp dir; not created (the store must create it).
fs::path UniqueDir() { return fs::path(::testing::TempDir()) / ("shopflow_sqlite_" + NewId()); }

StoreBackend SqliteBackend() {
  return StoreBackend{
      "sqlite", [] {
        const fs::path dir = UniqueDir();
        const std::string path = (dir / "store.db").string();
        return StoreLocation{
            [path](const std::vector<CollectionSpec>& specs) -> std::unique_ptr<Store> {
              auto store = SqliteStore::Open({.path = path, .collections = specs});
              if (!store) {
                ADD_FAILURE() << store.error().message;
                return nullptr;
              }
              return std::move(*store);
            },
            [dir] {
              std::error_code ec;
              fs::remove_all(dir, ec);
            }};
      }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest, ::testing::Values(SqliteBackend()),
                         testing::StoreBackendName);

/// A one-shot latch: Wait blocks until Open.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::vector<CollectionSpec> Specs() {
    return {{"products", {"category"}, {"sku"}}, {"orders", {"status"}, {}}};
  }

  SqliteStoreOptions Options(std::vector<CollectionSpec> specs = Specs()) {
    return SqliteStoreOptions{.path = path_, .collections = std::move(specs)};
  }

  std::unique_ptr<SqliteStore> OpenOrFail(SqliteStoreOptions options) {
    auto store = SqliteStore::Open(std::move(options));
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

  static int64_t Count(Store& store, std::string_view collection) {
    int64_t count = -1;
    EXPECT_TRUE(IsOk(ReadAndWait(store, [&](ReadTransaction& tx) -> Result<void> {
      auto counted = tx.Count(collection, {});
      if (!counted) return std::move(counted).error();
      count = *counted;
      return Ok();
    })));
    return count;
  }

  // Queues a write that holds the writer thread inside its fn until `release` opens, after
  // inserting `id`; returns once the writer is inside it, so writes queued afterwards wait.
  static void BlockWriter(Store& store, Gate& release, CompletionCounter& done,
                          std::string id = "blocker") {
    auto entered = std::make_shared<Gate>();
    store.Write(
        [&release, entered, id](Transaction& tx) -> Result<void> {
          if (auto in = tx.Insert("orders", id, {{"status", "NEW"}}); !in) return in;
          entered->Open();
          release.Wait();
          return Ok();
        },
        [&done](Result<void> result) {
          EXPECT_TRUE(IsOk(result));
          done.Done();
        });
    ASSERT_TRUE(entered->Wait());
  }

  const fs::path dir_ = UniqueDir();
  const std::string path_ = (dir_ / "data" / "store.db").string();
};

TEST_F(SqliteStoreTest, OpenCreatesTheMissingDataDirectory) {
  const fs::path nested = dir_ / "a" / "b" / "c" / "shop.db";
  ASSERT_FALSE(fs::exists(dir_));
  auto store = SqliteStore::Open({.path = nested.string(), .collections = Specs()});
  ASSERT_TRUE(IsOk(store));
  EXPECT_TRUE(fs::is_regular_file(nested));
}

TEST_F(SqliteStoreTest, InvalidCollectionSpecsAreRejectedAtOpen) {
  const std::vector<std::vector<CollectionSpec>> bad = {
      {{"", {}, {}}},
      {{"orders-v2", {}, {}}},
      {{"orders\"; DROP TABLE inbox; --", {}, {}}},
      {{"outbox", {}, {}}},
      {{"Inbox", {}, {}}},
      {{"sqlite_master", {}, {}}},
      {{std::string(65, 'x'), {}, {}}},
      {{"orders", {}, {}}, {"ORDERS", {}, {}}},
      {{"orders", {"status.code"}, {}}},
      {{"orders", {}, {"sku')); DROP TABLE x; --"}}},
      {{"orders", {"status", "Status"}, {}}},
  };
  for (const auto& specs : bad) {
    auto store = SqliteStore::Open(Options(specs));
    ASSERT_FALSE(store.ok()) << "accepted collection '" << specs.back().name << "'";
    EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
    EXPECT_FALSE(store.error().message.empty());
  }
  auto store = SqliteStore::Open(Options({{"orders-v2", {}, {}}}));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("orders-v2"), std::string::npos) << store.error().message;
  // Nothing was created for a rejected spec.
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(SqliteStoreTest, UnusablePathsAreUnavailableErrors) {
  fs::create_directories(dir_);
  const fs::path file = dir_ / "plain_file";
  std::ofstream(file) << "not a directory";
  auto under_file = SqliteStore::Open({.path = (file / "store.db").string()});
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.error().code, ErrorCode::kUnavailable);

  const fs::path garbage = dir_ / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'g');
  auto not_a_database = SqliteStore::Open({.path = garbage.string()});
  ASSERT_FALSE(not_a_database.ok());
  EXPECT_EQ(not_a_database.error().code, ErrorCode::kUnavailable);

  for (const char* path : {"", ":memory:"}) {
    auto rejected = SqliteStore::Open({.path = path});
    ASSERT_FALSE(rejected.ok()) << path;
    EXPECT_EQ(rejected.error().code, ErrorCode::kUnavailable);
  }
}

// Two processes of one module starting together both open the new file; the one that finds the
// other switching it to WAL must wait, not fail (SQLite returns BUSY there without waiting).
TEST_F(SqliteStoreTest, OpenWaitsForAnotherConnectionHoldingTheWriteLockOfANewFile) {
  fs::create_directories(fs::path(path_).parent_path());
  sqlite3* raw = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
      SQLITE_OK);
  sqlite::DatabasePtr other(raw);
  ASSERT_EQ(
      sqlite3_exec(other.get(), "BEGIN IMMEDIATE; CREATE TABLE t(x)", nullptr, nullptr, nullptr),
      SQLITE_OK);

  auto opened = std::async(std::launch::async, [&] {
    SqliteStoreOptions options = Options();
    options.busy_timeout = std::chrono::seconds(30);
    return SqliteStore::Open(std::move(options));
  });
  // While the other connection holds the write lock, the open waits for it.
  ASSERT_EQ(opened.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout) << [&] {
    auto early = opened.get();
    return early ? std::string("opened at once") : early.error().message;
  }();
  ASSERT_EQ(sqlite3_exec(other.get(), "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  auto store = opened.get();
  ASSERT_TRUE(IsOk(store));
  EXPECT_EQ(Count(**store, "orders"), 0);
}

TEST_F(SqliteStoreTest, SqliteKeepsNoMemoryStatistics) {
  // The store's first open turns them off (they cost a global lock per allocation). In this
  // binary every test reaches SQLite through a store's open first, so it applies in any order.
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) {
    return tx.Insert("orders", "o1", {{"status", "NEW"}});
  })));
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

// Writes `count` orders of ~2 KB, one commit each (each adds a few pages to the WAL).
void WriteBigOrders(Store& store, int first, int count) {
  const std::string filler(2000, 'x');
  for (int i = first; i < first + count; ++i) {
    ASSERT_TRUE(IsOk(WriteAndWait(store, [&](Transaction& tx) {
      return tx.Insert("orders", "o" + std::to_string(i), {{"status", "NEW"}, {"note", filler}});
    })));
  }
}

uintmax_t FileSizeOr0(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

TEST_F(SqliteStoreTest, CheckpointsRunOnTheirOwnThreadAndTheWalStaysWithinItsLimit) {
  SqliteStoreOptions options = Options();
  options.wal_autocheckpoint_pages = 40;  // a pass every 10 pages; the writer's own at 40
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  WriteBigOrders(*store, 0, 400);  // ~1,000 pages: 25 times the limit
  EXPECT_TRUE(testing::WaitUntil([&] { return store->Stats().checkpoints_background > 0; }));
  // Without checkpoints the WAL would hold every page written (~4 MB); each frame is a page
  // plus a 24-byte header, and one commit may take the WAL past the limit by a few pages.
  EXPECT_LE(FileSizeOr0(path_ + "-wal"), (40u + 20u) * (4096u + 24u));
  EXPECT_EQ(Count(*store, "orders"), 400);
  store.reset();
  // The checkpointer's connection closed before the writer's, which then removed the WAL.
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Count(*store, "orders"), 400);
}

// Under a large limit the thread still passes every 1,000 pages, so that the writer's own pass
// at the limit has few unsynced frames left to sync.
TEST_F(SqliteStoreTest, UnderALargeLimitTheThreadPassesEveryThousandPages) {
  SqliteStoreOptions options = Options();
  options.wal_autocheckpoint_pages = 10000;  // a quarter would be 2,500 pages
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  WriteBigOrders(*store, 0, 600);  // ~1,500 pages
  EXPECT_TRUE(testing::WaitUntil([&] { return store->Stats().checkpoints_background > 0; }));
  EXPECT_EQ(store->Stats().checkpoints_by_writer, 0u);
}

TEST_F(SqliteStoreTest, AtTheWalLimitTheWriterCheckpointsItself) {
  SqliteStoreOptions options = Options();
  options.wal_autocheckpoint_pages = 40;
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  // A reader holding its snapshot keeps every pass from starting the WAL over, so it grows
  // past the limit, where each commit makes the writer run a pass of its own.
  Gate snapshot_taken, release;
  std::thread reader([&] {
    EXPECT_TRUE(IsOk(ReadAndWait(*store, [&](ReadTransaction& tx) -> Result<void> {
      auto counted = tx.Count("orders", {});
      if (!counted) return std::move(counted).error();
      snapshot_taken.Open();
      release.Wait();
      return Ok();
    })));
  });
  ASSERT_TRUE(snapshot_taken.Wait());
  WriteBigOrders(*store, 0, 100);
  EXPECT_GT(store->Stats().checkpoints_by_writer, 0u);
  release.Open();
  reader.join();
  // Released, the next passes catch up and the WAL starts over: it stops growing (it may be
  // cut back to journal_size_limit on the way, then grow within the limit again).
  WriteBigOrders(*store, 100, 100);
  const uintmax_t within_limit = (40u + 20u) * (4096u + 24u);
  const uintmax_t wal_after_restart = std::max(FileSizeOr0(path_ + "-wal"), within_limit);
  WriteBigOrders(*store, 200, 200);  // ~500 more pages
  EXPECT_LE(FileSizeOr0(path_ + "-wal"), wal_after_restart);
  EXPECT_EQ(Count(*store, "orders"), 400);
}

TEST_F(SqliteStoreTest, WithoutBackgroundCheckpointsSqliteCheckpointsInTheCommit) {
  SqliteStoreOptions options = Options();
  options.wal_autocheckpoint_pages = 40;
  options.background_checkpoints = false;
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  WriteBigOrders(*store, 0, 400);
  EXPECT_EQ(store->Stats().checkpoints_background, 0u);
  EXPECT_EQ(store->Stats().checkpoints_by_writer, 0u);
  EXPECT_LE(FileSizeOr0(path_ + "-wal"), (40u + 20u) * (4096u + 24u));
  EXPECT_EQ(Count(*store, "orders"), 400);
}

TEST_F(SqliteStoreTest, UsesWalModeAndIndexesTheDeclaredFields) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite::DatabasePtr db(raw);
  auto query_all = [&](const char* sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt_raw = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql, -1, &stmt_raw, nullptr), SQLITE_OK) << sql;
    sqlite::StatementPtr stmt(stmt_raw);
    while (stmt && sqlite3_step(stmt.get()) == SQLITE_ROW) {
      const int last = sqlite3_column_count(stmt.get()) - 1;
      rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), last)));
    }
    return rows;
  };
  EXPECT_EQ(query_all("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  const auto indexes = query_all(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' "
      "ORDER BY name");
  EXPECT_EQ(indexes, (std::vector<std::string>{"ix:orders:status", "ix:products:category",
                                               "ux:products:sku"}));
  auto plan = [&](const std::string& sql) {
    std::string joined;
    for (const auto& row : query_all(("EXPLAIN QUERY PLAN " + sql).c_str())) joined += row + "\n";
    return joined;
  };
  EXPECT_NE(plan("SELECT doc FROM \"products\" WHERE \"f:sku\" = 'x'").find("ux:products:sku"),
            std::string::npos);
  // The oldest unsent events: the primary key walked in order, no sort.
  const auto pending =
      plan("SELECT seq, body FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 10");
  EXPECT_NE(pending.find("SCAN outbox"), std::string::npos) << pending;
  EXPECT_EQ(pending.find("TEMP B-TREE"), std::string::npos) << pending;
}

TEST_F(SqliteStoreTest, ReopenWithNewIndexedFieldsAddsTheirColumnsAndIndexes) {
  {
    auto store = OpenOrFail(Options({{"products", {}, {}}}));
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) -> Result<void> {
      if (auto a = tx.Insert("products", "p1", {{"sku", "A"}, {"category", "books"}}); !a) return a;
      return tx.Insert("products", "p2", {{"sku", "B"}, {"category", "books"}});
    })));
  }
  {
    auto store = OpenOrFail(Options());
    ASSERT_NE(store, nullptr);
    std::optional<json::object> found;
    ASSERT_TRUE(IsOk(ReadAndWait(*store, [&](ReadTransaction& tx) -> Result<void> {
      auto one = tx.FindOne("products", "sku", "B");
      if (!one) return std::move(one).error();
      found = *one;
      return Ok();
    })));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(GetString(*found, "sku"), "B");
    auto clash = WriteAndWait(*store, [](Transaction& tx) {
      return tx.Insert("products", "p3", {{"sku", "A"}, {"category", "toys"}});
    });
    ASSERT_FALSE(clash.ok());
    EXPECT_EQ(clash.error().code, ErrorCode::kConflict);
  }
  // Existing duplicates make a new unique index impossible: an error, not a crash.
  auto store = SqliteStore::Open(Options({{"products", {}, {"category"}}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
}

// Raw SQL on the store's file (a second connection), for checks below the store's interface.
class RawDb {
 public:
  // `create`: makes the file (and its directory) when missing, as an earlier version would have.
  explicit RawDb(const std::string& path, bool create = false) {
    if (create) fs::create_directories(fs::path(path).parent_path());
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &raw,
                              SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), nullptr),
              SQLITE_OK);
    db_.reset(raw);
  }
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    std::vector<std::vector<std::string>> rows;
    sqlite3_stmt* stmt_raw = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &stmt_raw, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_.get());
    sqlite::StatementPtr stmt(stmt_raw);
    while (stmt && sqlite3_step(stmt.get()) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
        const auto* text = sqlite3_column_text(stmt.get(), c);
        row.emplace_back(text ? reinterpret_cast<const char*>(text) : "<null>");
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void Exec(const std::string& sql) {
    EXPECT_EQ(sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_.get());
  }
  // hidden = 0 for a plain column, 2 for a VIRTUAL generated one, 3 for a STORED one.
  std::map<std::string, std::string> ColumnKinds(const std::string& table) {
    std::map<std::string, std::string> kinds;
    for (auto& row : Query("SELECT name, hidden FROM pragma_table_xinfo('" + table + "')")) {
      kinds[row[0]] = row[1];
    }
    return kinds;
  }
  // Rows whose column for `field` is not exactly (type and value) json_extract's.
  std::vector<std::vector<std::string>> Mismatches(const std::string& table,
                                                   const std::string& field) {
    const std::string column = "\"f:" + field + "\"";
    const std::string extract = "json_extract(doc, '$." + field + "')";
    return Query("SELECT id, quote(" + column + "), quote(" + extract + ") FROM " + table +
                 " WHERE " + column + " IS NOT " + extract + " OR typeof(" + column +
                 ") <> typeof(" + extract + ")");
  }

 private:
  sqlite::DatabasePtr db_;
};

// Sent rows are deleted, all but the highest (new files have no AUTOINCREMENT, whose counter was
// a page written per commit): the outbox holds the backlog plus at most one row.
TEST_F(SqliteStoreTest, TheOutboxHoldsTheBacklogAndAtMostOneSentRow) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  auto append = [&](int n) {
    ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction& tx) -> Result<void> {
      for (int i = 0; i < n; ++i) {
        if (auto r = tx.AppendOutbox(MakeEvent("ORDER_CREATED", {}, "t", "c", "", {})); !r)
          return r;
      }
      return Ok();
    })));
  };
  auto mark_all_pending = [&] {
    auto pending = store->PendingOutbox(100);
    ASSERT_TRUE(IsOk(pending));
    std::vector<int64_t> sequences;
    for (const auto& record : *pending) sequences.push_back(record.sequence);
    ASSERT_TRUE(IsOk(store->MarkOutboxSent(sequences)));
  };
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_master WHERE name = 'outbox'"),
            (std::vector<std::vector<std::string>>{{"0"}}));
  append(5);
  mark_all_pending();
  EXPECT_EQ(raw.Query("SELECT seq, sent_at IS NOT NULL FROM outbox"),
            (std::vector<std::vector<std::string>>{{"5", "1"}}));
  append(2);  // 6 and 7
  EXPECT_EQ(raw.Query("SELECT seq FROM outbox WHERE sent_at IS NULL"),
            (std::vector<std::vector<std::string>>{{"6"}, {"7"}}));
  mark_all_pending();
  EXPECT_EQ(raw.Query("SELECT seq, sent_at IS NOT NULL FROM outbox"),
            (std::vector<std::vector<std::string>>{{"7", "1"}}));
}

TEST_F(SqliteStoreTest, AnOutboxFromAnEarlierVersionLosesItsPartialIndexAndKeepsCounting) {
  {
    RawDb raw(path_, /*create=*/true);
    raw.Exec(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, "
        "event_type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL, "
        "sent_at INTEGER NULL)");
    raw.Exec("CREATE INDEX outbox_unsent ON outbox(seq) WHERE sent_at IS NULL");
    // Rows 1 and 2 sent and still there (kept by a stopped process), 3 deleted: the counter
    // says 3.
    for (int seq = 1; seq <= 3; ++seq) {
      raw.Exec(
          "INSERT INTO outbox (message_id, event_type, body, created_at, sent_at) VALUES "
          "('m', 'ORDER_CREATED', '{}', 0, 1)");
    }
    raw.Exec("DELETE FROM outbox WHERE seq = 3");
  }
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT name FROM sqlite_master WHERE name = 'outbox_unsent'"),
            (std::vector<std::vector<std::string>>{}));
  EXPECT_EQ(raw.Query("SELECT seq FROM outbox"), (std::vector<std::vector<std::string>>{{"2"}}));
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) {
    return tx.AppendOutbox(MakeEvent("ORDER_CREATED", {}, "t", "c", "", {}));
  })));
  auto pending = store->PendingOutbox(10);
  ASSERT_TRUE(IsOk(pending));
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].sequence, 4);  // AUTOINCREMENT's counter, not max(seq) + 1
}

// secure_delete=FAST (Debian's SQLite has it ON): a page that a deletion leaves empty goes to
// the freelist as it is instead of being written again as zeros; the message log and the
// outbox free such pages all the time. Seen from outside: the deleted rows' bytes are still in
// the file once the store has checkpointed and closed.
TEST_F(SqliteStoreTest, PagesLeftEmptyByDeletionsAreNotWrittenAgain) {
  constexpr int kRows = 100;
  const std::string marker = "FREED-PAGE-MARKER";
  const std::string filler(1500, 'x');  // two rows per page: every page is left empty
  {
    auto store = OpenOrFail(Options());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction& tx) -> Result<void> {
      for (int i = 0; i < kRows; ++i) {
        json::object doc{{"status", "NEW"}, {"note", marker + filler}};
        if (auto in = tx.Insert("orders", "o" + std::to_string(1000 + i), doc); !in) return in;
      }
      return Ok();
    })));
  }
  {
    auto store = OpenOrFail(Options());
    ASSERT_NE(store, nullptr);
    int64_t removed = 0;
    ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction& tx) -> Result<void> {
      auto n = tx.RemoveFirst("orders", {}, kRows);
      if (!n) return std::move(n).error();
      removed = *n;
      return Ok();
    })));
    EXPECT_EQ(removed, kRows);
  }
  ASSERT_FALSE(fs::exists(path_ + "-wal"));  // closing checkpointed everything into the file
  std::ifstream in(path_, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int left = 0;
  for (size_t at = bytes.find(marker); at != std::string::npos; at = bytes.find(marker, at + 1)) {
    ++left;
  }
  EXPECT_GE(left, kRows / 2);  // ON: 0
}

TEST_F(SqliteStoreTest, IndexedColumnsHoldWhatJsonExtractGivesForEveryKindOfValue) {
  // The store fills the indexed columns itself; they must hold exactly what the generated
  // columns (json_extract) held, for every JSON type, through every write.
  const std::vector<json::value> values = {
      json::value("text"), json::value(""),        json::value("a\"b\\c\u00e9\n"),
      json::value(42),     json::value(-7),        json::value(uint64_t{18446744073709551615u}),
      json::value(2.5),    json::value(1e300),     json::value(100.0),
      json::value(true),   json::value(false),     json::value(nullptr),
      json::array{1, "x"}, json::object{{"k", 1}}, json::value(int64_t{9007199254740993})};
  auto store = OpenOrFail(Options({{"things", {"v", "w"}, {}}}));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction& tx) -> Result<void> {
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string n = std::to_string(i);
      json::object doc{{"v", values[i]}, {"other", i}};
      // Insert, InsertText (parsed by the store) and InsertTextIndexed (values given) each
      // write one document per value; "w" is absent from all of them.
      if (auto in = tx.Insert("things", "a" + n, doc); !in) return in;
      if (auto in = tx.InsertText("things", "b" + n, ToJsonText(doc)); !in) return in;
      if (values[i].is_string()) {
        const std::string v(values[i].get_string());
        const KnownField known[] = {{"v", v}, {"w", std::nullopt}};
        if (auto in = tx.InsertTextIndexed("things", "c" + n, ToJsonText(doc), known); !in) {
          return in;
        }
      }
      // Replace moves the value to "w" and drops "v".
      if (auto in = tx.Insert("things", "d" + n, {{"v", "before"}}); !in) return in;
      if (auto re = tx.Replace("things", "d" + n, {{"w", values[i]}}); !re) return re;
    }
    return Ok();
  })));
  RawDb raw(path_);
  EXPECT_EQ(raw.ColumnKinds("things")["f:v"], "0");
  const auto strings = std::count_if(values.begin(), values.end(),
                                     [](const json::value& v) { return v.is_string(); });
  EXPECT_EQ(raw.Query("SELECT count(*) FROM things")[0][0],
            std::to_string(values.size() * 3 + strings));
  EXPECT_EQ(raw.Mismatches("things", "v"), std::vector<std::vector<std::string>>{});
  EXPECT_EQ(raw.Mismatches("things", "w"), std::vector<std::vector<std::string>>{});
  // And queries find them through the columns.
  int64_t texts = -1;
  ASSERT_TRUE(IsOk(ReadAndWait(*store, [&](ReadTransaction& tx) -> Result<void> {
    const FieldFilter f{"v", FieldFilter::Op::kEq, "text"};
    auto n = tx.Count("things", {&f, 1});
    if (!n) return std::move(n).error();
    texts = *n;
    return Ok();
  })));
  EXPECT_EQ(texts, 3);
}

TEST_F(SqliteStoreTest, TextDocumentsAreCheckedWhenTheirIndexedValuesAreNotGiven) {
  auto store = OpenOrFail(Options({{"things", {"v"}, {}}, {"plain", {}, {}}}));
  ASSERT_NE(store, nullptr);
  auto insert = [&](std::string collection, std::string text) {
    return WriteAndWait(*store, [&](Transaction& tx) {
      return tx.InsertText(collection, "x" + std::to_string(text.size()), text);
    });
  };
  for (const char* bad : {"{\"v\": ", "{\"v\" 1}", "{not json}", "[1]", "\"s\""}) {
    auto r = insert("things", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed) << bad;
  }
  EXPECT_EQ(Count(*store, "things"), 0);
  EXPECT_TRUE(insert("things", " {\"v\": \"ok\"} ").ok());
  // A collection without indexed fields has nothing to extract: only the braces are checked.
  EXPECT_FALSE(insert("plain", "not braced").ok());
  EXPECT_TRUE(insert("plain", "{\"a\": 1}").ok());
}

TEST_F(SqliteStoreTest, TablesWithGeneratedColumnsFromAnEarlierVersionKeepWorking) {
  // Earlier versions made VIRTUAL (and, for the message log, STORED) generated columns; SQLite
  // cannot turn them into plain ones, so the store leaves them to SQLite and fills the rest.
  {
    RawDb raw(path_, /*create=*/true);
    raw.Exec(
        "CREATE TABLE log (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL, "
        "\"f:kind\" GENERATED ALWAYS AS (json_extract(doc, '$.kind')) STORED, "
        "\"f:at\" GENERATED ALWAYS AS (json_extract(doc, '$.at')) VIRTUAL)");
    raw.Exec("CREATE INDEX \"ix:log:kind\" ON log (\"f:kind\")");
    raw.Exec(
        "INSERT INTO log (id, doc) VALUES ('old', '{\"kind\":\"even\",\"at\":\"0\",\"n\":1}')");
  }
  auto store = OpenOrFail(Options({{"log", {"kind", "at", "n"}, {}}}));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) -> Result<void> {
    for (int i = 0; i < 5; ++i) {
      const std::string id = "r" + std::to_string(i);
      json::object doc{{"kind", i % 2 ? "odd" : "even"}, {"at", id}, {"n", i}};
      if (auto in = tx.Insert("log", id, doc); !in) return in;
    }
    const std::string text = R"({"kind":"odd","at":"t","n":9})";
    const KnownField known[] = {{"kind", "odd"}, {"at", "t"}};  // "n" comes from the text
    if (auto in = tx.InsertTextIndexed("log", "t", text, known); !in) return in;
    if (auto bad = tx.InsertText("log", "bad", "{\"kind\": }"); bad.ok()) {
      return InternalError("malformed text was stored");
    }
    return tx.Replace("log", "r0", {{"kind", "odd"}, {"at", "r0"}, {"n", 10}});
  })));
  RawDb raw(path_);
  auto kinds = raw.ColumnKinds("log");
  EXPECT_EQ(kinds["f:kind"], "3");
  EXPECT_EQ(kinds["f:at"], "2");
  EXPECT_EQ(kinds["f:n"], "0");  // added by this version, filled from the existing row too
  for (const char* field : {"kind", "at", "n"}) {
    EXPECT_EQ(raw.Mismatches("log", field), std::vector<std::vector<std::string>>{}) << field;
  }
  int64_t odd = -1;
  int64_t removed = -1;
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction& tx) -> Result<void> {
    const FieldFilter f{"kind", FieldFilter::Op::kEq, "odd"};
    auto n = tx.Count("log", {&f, 1});
    if (!n) return std::move(n).error();
    odd = *n;
    const FieldFilter even{"kind", FieldFilter::Op::kEq, "even"};
    auto gone = tx.RemoveFirst("log", {&even, 1}, 10);
    if (!gone) return std::move(gone).error();
    removed = *gone;
    return Ok();
  })));
  EXPECT_EQ(odd, 4);      // r0 (replaced), r1, r3, t
  EXPECT_EQ(removed, 3);  // old, r2, r4
  EXPECT_EQ(Count(*store, "log"), 4);
}

TEST_F(SqliteStoreTest, ColumnFieldsGetAFilledColumnButNoIndexAndLoseAnEarlierOne) {
  // CollectionSpec::column_fields: a column the store fills (filters compare it instead of
  // parsing documents) without the index an earlier version kept for it.
  {
    RawDb raw(path_, /*create=*/true);
    raw.Exec("CREATE TABLE log (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL, \"f:kind\")");
    raw.Exec("CREATE INDEX \"ix:log:kind\" ON log (\"f:kind\")");
    raw.Exec("INSERT INTO log (id, doc, \"f:kind\") VALUES ('old', '{\"kind\":\"even\"}', 'even')");
  }
  CollectionSpec log{"log", {"at"}, {}};
  log.column_fields = {"kind"};
  CollectionSpec fresh{"fresh", {}, {}};
  fresh.column_fields = {"kind"};
  auto store = OpenOrFail(Options({log, fresh}));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) -> Result<void> {
    for (int i = 0; i < 4; ++i) {
      const std::string id = "r" + std::to_string(i);
      json::object doc{{"kind", i % 2 ? "odd" : "even"}, {"at", id}};
      if (auto in = tx.Insert("log", id, doc); !in) return in;
      if (auto in = tx.Insert("fresh", id, doc); !in) return in;
    }
    const KnownField known[] = {{"kind", "odd"}, {"at", "t"}};
    if (auto in = tx.InsertTextIndexed("log", "t", R"({"kind":"odd","at":"t"})", known); !in) {
      return in;
    }
    return tx.Replace("log", "r0", {{"kind", "odd"}, {"at", "r0"}});
  })));
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                      "(tbl_name = 'log' OR tbl_name = 'fresh') AND name NOT LIKE 'sqlite_%' "
                      "ORDER BY name"),
            (std::vector<std::vector<std::string>>{{"ix:log:at"}}));
  for (const char* table : {"log", "fresh"}) {
    EXPECT_EQ(raw.ColumnKinds(table)["f:kind"], "0") << table;
    EXPECT_EQ(raw.Mismatches(table, "kind"), std::vector<std::vector<std::string>>{}) << table;
  }
  // A filter on the column: "SCAN", no index named, and the right rows.
  const auto plan = raw.Query("EXPLAIN QUERY PLAN SELECT id FROM log WHERE \"f:kind\" = 'odd'");
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(plan[0].back().find("ix:log:kind"), std::string::npos) << plan[0].back();
  int64_t odd = -1;
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction& tx) -> Result<void> {
    const FieldFilter f{"kind", FieldFilter::Op::kEq, "odd"};
    auto n = tx.Count("log", {&f, 1});
    if (!n) return std::move(n).error();
    odd = *n;
    return Ok();
  })));
  EXPECT_EQ(odd, 4);  // r0 (replaced), r1, r3, t
}

TEST_F(SqliteStoreTest, ConflictDetailsNameTheClashingField) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) {
    return tx.Insert("products", "p1", {{"sku", "A"}});
  })));
  auto sku = WriteAndWait(*store, [](Transaction& tx) {
    return tx.Insert("products", "p2", {{"sku", "A"}});
  });
  ASSERT_FALSE(sku.ok());
  EXPECT_EQ(sku.error().message, "sku already exists");
  EXPECT_EQ(sku.error().details, (std::vector<ErrorDetail>{{"sku", "already exists"}}));
  auto id = WriteAndWait(*store, [](Transaction& tx) {
    return tx.Insert("products", "p1", {{"sku", "B"}});
  });
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().details, (std::vector<ErrorDetail>{{"id", "already exists"}}));
}

TEST_F(SqliteStoreTest, GroupCommitPutsQueuedWritesInOneTransactionAndIsolatesFailures) {
  std::mutex handed_mutex;  // declared before the store: the listener runs until it closes
  std::vector<OutboxRecord> handed;
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  store->SetOutboxListener([&](std::vector<OutboxRecord> committed) {
    std::lock_guard lock(handed_mutex);
    for (auto& record : committed) handed.push_back(std::move(record));
  });
  Gate release;
  CompletionCounter blocker_done;
  BlockWriter(*store, release, blocker_done);

  constexpr int kQueued = 100;
  CompletionCounter done;
  std::atomic<int> wrong{0};
  for (int i = 0; i < kQueued; ++i) {
    const bool fail = i % 4 == 0;
    const std::string id = "o" + std::to_string(i);
    store->Write(
        [fail, id](Transaction& tx) -> Result<void> {
          if (auto in = tx.Insert("orders", id, {{"status", "NEW"}}); !in) return in;
          if (auto out = tx.AppendOutbox(MakeEvent("ORDER_CREATED", {}, "t", "c", "", {})); !out) {
            return out;
          }
          if (fail) return ValidationError("planned");
          return Ok();
        },
        [&, fail](Result<void> result) {
          if (result.ok() == fail) wrong.fetch_add(1);
          done.Done();
        });
  }
  release.Open();
  ASSERT_TRUE(blocker_done.WaitFor(1));
  ASSERT_TRUE(done.WaitFor(kQueued));
  EXPECT_EQ(wrong.load(), 0);
  const SqliteStoreStats stats = store->Stats();
  EXPECT_EQ(stats.batches, 2u) << "the 100 queued writes should share one commit";
  EXPECT_EQ(stats.writes_committed, 1u + kQueued * 3 / 4);
  EXPECT_EQ(stats.writes_failed, static_cast<uint64_t>(kQueued / 4));
  EXPECT_EQ(Count(*store, "orders"), 1 + kQueued * 3 / 4);
  auto pending = store->PendingOutbox(1000);
  ASSERT_TRUE(IsOk(pending));
  EXPECT_EQ(pending->size(), static_cast<size_t>(kQueued * 3 / 4));

  // The listener was handed exactly the committed events: none of a rolled-back savepoint (whose
  // sequence numbers the next items reuse), each with the sequence it is stored under.
  EXPECT_TRUE(testing::WaitUntil([&] {
    std::lock_guard lock(handed_mutex);
    return handed.size() >= pending->size();
  }));
  {
    std::lock_guard lock(handed_mutex);
    ASSERT_EQ(handed.size(), pending->size());
    for (size_t i = 0; i < handed.size(); ++i) {
      EXPECT_EQ(handed[i].sequence, (*pending)[i].sequence);
      EXPECT_EQ(handed[i].event.metadata.message_id, (*pending)[i].event.metadata.message_id);
    }
  }
}

TEST_F(SqliteStoreTest, AFailedWriteAfterLargeOnesInItsCommitRollsBackOnlyItself) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  Gate release;
  CompletionCounter blocker_done;
  BlockWriter(*store, release, blocker_done);

  // Each write changes ~200 KiB of pages, well past the 64 KiB at which SQLite would otherwise
  // move a savepoint's sub-journal to a temporary file (the writer keeps it in memory).
  constexpr int kDocs = 100;
  const std::string body(2000, 'b');
  CompletionCounter done;
  std::atomic<int> wrong{0};
  auto queue = [&](int version, bool fail) {
    store->Write(
        [&, version, fail](Transaction& tx) -> Result<void> {
          for (int i = 0; i < kDocs; ++i) {
            const std::string id = "doc" + std::to_string(i);
            json::object doc{{"status", "v" + std::to_string(version)}, {"body", body}};
            auto written =
                version == 0 ? tx.Insert("orders", id, doc) : tx.Replace("orders", id, doc);
            if (!written) return written;
          }
          if (fail) return ValidationError("planned");
          return Ok();
        },
        [&, fail](Result<void> result) {
          if (result.ok() == fail) wrong.fetch_add(1);
          done.Done();
        });
  };
  queue(0, false);
  queue(1, false);
  queue(2, true);  // rolled back to what version 1 left
  queue(3, true);
  release.Open();
  ASSERT_TRUE(blocker_done.WaitFor(1));
  ASSERT_TRUE(done.WaitFor(4));
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(store->Stats().batches, 2u) << "the four queued writes should share one commit";

  int64_t at_v1 = -1;
  ASSERT_TRUE(IsOk(ReadAndWait(*store, [&](ReadTransaction& tx) -> Result<void> {
    const FieldFilter v1{"status", FieldFilter::Op::kEq, "v1"};
    auto counted = tx.Count("orders", {&v1, 1});
    if (!counted) return std::move(counted).error();
    at_v1 = *counted;
    return Ok();
  })));
  EXPECT_EQ(at_v1, kDocs);
  EXPECT_EQ(Count(*store, "orders"), kDocs + 1);
}

TEST_F(SqliteStoreTest, MaxBatchBoundsTheGroupSize) {
  auto options = Options();
  options.max_batch = 8;
  auto store = OpenOrFail(options);
  ASSERT_NE(store, nullptr);
  Gate release;
  CompletionCounter blocker_done;
  BlockWriter(*store, release, blocker_done);
  CompletionCounter done;
  for (int i = 0; i < 40; ++i) {
    store->Write(
        [i](Transaction& tx) {
          return tx.Insert("orders", "o" + std::to_string(i), {{"status", "NEW"}});
        },
        [&](Result<void> result) {
          EXPECT_TRUE(IsOk(result));
          done.Done();
        });
  }
  release.Open();
  ASSERT_TRUE(done.WaitFor(40));
  EXPECT_EQ(store->Stats().batches, 1u + 40 / 8);
  EXPECT_EQ(Count(*store, "orders"), 41);
}

TEST_F(SqliteStoreTest, ReadsRunWhileTheWriterIsBusyAndSeeOnlyCommittedData) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  Gate release;
  CompletionCounter blocker_done;
  BlockWriter(*store, release, blocker_done, "uncommitted");
  // The writer holds an open write transaction containing "uncommitted"; a read neither waits
  // for it nor sees it.
  bool visible = true;
  ASSERT_TRUE(IsOk(ReadAndWait(*store, [&](ReadTransaction& tx) -> Result<void> {
    auto got = tx.Get("orders", "uncommitted");
    if (!got) return std::move(got).error();
    visible = got->has_value();
    return Ok();
  })));
  EXPECT_FALSE(visible);
  EXPECT_EQ(blocker_done.count(), 0);
  release.Open();
  ASSERT_TRUE(blocker_done.WaitFor(1));
  EXPECT_EQ(Count(*store, "orders"), 1);
}

TEST_F(SqliteStoreTest, ReadsSeeOneSnapshotWhileWritesCommit) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  std::atomic<bool> writing{true};
  std::atomic<int> inconsistent{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (writing.load()) {
        auto read = ReadAndWait(*store, [&](ReadTransaction& tx) -> Result<void> {
          auto before = tx.Count("orders", {});
          if (!before) return std::move(before).error();
          FindQuery query;
          query.limit = 1'000'000;
          auto page = tx.Find("orders", query);
          if (!page) return std::move(page).error();
          if (page->total != *before || static_cast<int64_t>(page->docs.size()) != *before) {
            inconsistent.fetch_add(1);
          }
          return Ok();
        });
        EXPECT_TRUE(IsOk(read));
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(IsOk(WriteAndWait(*store, [i](Transaction& tx) {
      return tx.Insert("orders", "o" + std::to_string(1000 + i), {{"status", "NEW"}});
    })));
  }
  // Every reader completes at least one read that overlaps the writes' end state.
  const int reads_at_end = reads.load();
  ASSERT_TRUE(testing::WaitUntil([&] { return reads.load() >= reads_at_end + 3; }));
  writing = false;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_EQ(Count(*store, "orders"), 300);
}

TEST_F(SqliteStoreTest, DestructorFinishesQueuedWrites) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  Gate release;
  CompletionCounter blocker_done;
  BlockWriter(*store, release, blocker_done);
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    store->Write(
        [i](Transaction& tx) {
          return tx.Insert("orders", "o" + std::to_string(i), {{"status", "NEW"}});
        },
        [&](Result<void> result) {
          if (result.ok()) ok.fetch_add(1);
        });
  }
  release.Open();
  store.reset();  // joins the writer after it drained the queue
  EXPECT_EQ(ok.load(), 50);
  EXPECT_EQ(blocker_done.count(), 1);
  auto reopened = OpenOrFail(Options());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Count(*reopened, "orders"), 51);
}

TEST_F(SqliteStoreTest, MarkOutboxSentOnTheWriterThreadIsAnErrorNotADeadlock) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  Result<void> nested = Ok();
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [&](Transaction&) -> Result<void> {
    const std::vector<int64_t> sequences = {1};
    nested = store->MarkOutboxSent(sequences);
    return Ok();
  })));
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code, ErrorCode::kInternal);
}

TEST_F(SqliteStoreTest, CountPendingOutboxCountsUpToTheCapWithoutReadingEvents) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) -> Result<void> {
    for (int i = 0; i < 3; ++i) {
      if (auto r = tx.AppendOutbox(MakeEvent("ORDER_CREATED", {}, "t", "c", "", {})); !r) return r;
    }
    return Ok();
  })));
  auto all = store->CountPendingOutbox(10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 3u);
  auto capped = store->CountPendingOutbox(2);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(*capped, 2u);
  auto pending = store->PendingOutbox(10);
  ASSERT_TRUE(pending.ok());
  std::vector<int64_t> sequences;
  for (const auto& r : *pending) sequences.push_back(r.sequence);
  ASSERT_TRUE(IsOk(store->MarkOutboxSent(sequences)));
  auto none = store->CountPendingOutbox(10);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

TEST_F(SqliteStoreTest, ThrowingCallbacksDoNotStopTheWriter) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  store->SetOutboxListener(
      [](std::vector<OutboxRecord>) { throw std::runtime_error("listener bug"); });
  CompletionCounter thrown;
  store->Write(
      [](Transaction& tx) {
        return tx.AppendOutbox(MakeEvent("ORDER_CREATED", {}, "t", "c", "", {}));
      },
      [&](Result<void>) {
        thrown.Done();
        throw std::runtime_error("done bug");
      });
  ASSERT_TRUE(thrown.WaitFor(1));
  EXPECT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) {
    return tx.Insert("orders", "after", {{"status", "NEW"}});
  })));
  EXPECT_EQ(Count(*store, "orders"), 1);
}

TEST_F(SqliteStoreTest, AppendOutboxRejectsEventsThatCouldNotBeRelayed) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  auto write = WriteAndWait(*store, [](Transaction& tx) {
    Envelope event;  // no type, no messageId
    return tx.AppendOutbox(event);
  });
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, ErrorCode::kValidationFailed);
  auto pending = store->PendingOutbox(10);
  ASSERT_TRUE(IsOk(pending));
  EXPECT_TRUE(pending->empty());
}

TEST_F(SqliteStoreTest, StatusNamesTheBackendAndPath) {
  auto store = OpenOrFail(Options());
  ASSERT_NE(store, nullptr);
  const StoreStatus status = store->Status();
  EXPECT_EQ(status.backend, "sqlite");
  EXPECT_TRUE(status.connected);
  EXPECT_EQ(status.detail, path_);
}

}  // namespace
}  // namespace shopflow
