#include "storage/sqlite/wal_write_buffer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "storage/sqlite/wrappers.hpp"

namespace shopflow::sqlite {
namespace {

namespace fs = std::filesystem;

// A connection for the tests: through the WAL write VFS, or through SQLite's default one.
class Db {
 public:
  Db(const std::string& path, bool buffered) {
    sqlite3* raw = nullptr;
    rc_ = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          buffered ? WalWriteBufferVfs() : nullptr);
    db_.reset(raw);
  }
  bool ok() const { return rc_ == SQLITE_OK; }
  // Runs `sql`; "" when it succeeded, else SQLite's message.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return "";
    std::string message = error != nullptr ? error : "error";
    sqlite3_free(error);
    return message;
  }
  // The first column of the first row as text ("<none>" without a row).
  std::string Text(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return std::string("<error> ") + sqlite3_errmsg(db_.get());
    }
    StatementPtr stmt(raw);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) return "<none>";
    const auto* text = sqlite3_column_text(stmt.get(), 0);
    return text != nullptr ? reinterpret_cast<const char*>(text) : "<null>";
  }
  // Leaves without closing, as a process that dies does.
  void Abandon() { (void)db_.release(); }

 private:
  int rc_ = SQLITE_ERROR;
  DatabasePtr db_;
};

class WalWriteBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(WalWriteBufferVfs(), nullptr);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A WAL database with table t(id INTEGER PRIMARY KEY, body TEXT), through the VFS.
  void Create(Db& db) {
    ASSERT_TRUE(db.ok());
    ASSERT_EQ(db.Text("PRAGMA journal_mode=WAL"), "wal");
    ASSERT_EQ(db.Exec("PRAGMA synchronous=NORMAL"), "");
    ASSERT_EQ(db.Exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)"), "");
  }
  // Inserts `n` rows of ~1 KiB (ids from `first`) in one statement.
  static std::string InsertRowsSql(int first, int n) {
    return "WITH RECURSIVE s(v) AS (SELECT " + std::to_string(first) +
           " UNION ALL SELECT v + 1 FROM s WHERE v < " + std::to_string(first + n - 1) +
           ") INSERT INTO t (id, body) SELECT v, hex(zeroblob(500)) FROM s";
  }
  static std::string InsertRows(Db& db, int first, int n) {
    return db.Exec(InsertRowsSql(first, n));
  }
  // Creates the database, then runs `statements` through the VFS in a child process that dies
  // right after them without closing anything: whatever the VFS still held in memory is lost.
  void RunInAChildThatDies(const std::vector<std::string>& statements) {
    {
      Db setup(path_, true);
      Create(setup);
    }
    EXPECT_EXIT(
        {
          Db db(path_, true);
          if (!db.ok() || db.Exec("PRAGMA synchronous=NORMAL") != "") _exit(2);
          for (size_t i = 0; i < statements.size(); ++i) {
            if (db.Exec(statements[i]) != "") _exit(3 + static_cast<int>(i));
          }
          db.Abandon();
          _exit(0);
        },
        ::testing::ExitedWithCode(0), "");
  }

  const fs::path dir_ = fs::path(::testing::TempDir()) / ("shopflow_walbuf_" + NewId());
  const std::string path_ = (dir_ / "w.db").string();
};

TEST_F(WalWriteBufferTest, ACommitsFramesGoOutTogetherAndAreVisibleToOtherConnectionsAtOnce) {
  Db writer(path_, true);
  Create(writer);
  Db reader(path_, false);  // SQLite's own VFS: reads the file, not the writer's memory
  ASSERT_TRUE(reader.ok());

  for (int round = 0; round < 3; ++round) {
    const WalWriteStats before = WalWriteStatsNow();
    ASSERT_EQ(InsertRows(writer, round * 300 + 1, 300), "");
    const WalWriteStats after = WalWriteStatsNow();
    // ~80 pages, two writes each from SQLite, a few writes to the file.
    const uint64_t asked = after.writes_asked - before.writes_asked;
    const uint64_t issued = after.writes_issued - before.writes_issued;
    EXPECT_GE(asked, 100u) << round;
    EXPECT_LE(issued * 10, asked) << round << ": " << issued << " writes for " << asked;
    EXPECT_EQ(after.commit_flushes - before.commit_flushes, 1u) << round;
    EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), std::to_string((round + 1) * 300)) << round;
  }
  EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteBufferTest, ACommittedTransactionSurvivesTheProcessDyingRightAfterIt) {
  RunInAChildThatDies({InsertRowsSql(1, 500)});
  Db reader(path_, false);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), "500");
  EXPECT_EQ(reader.Text("SELECT min(length(body)) FROM t"), "1000");
  EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteBufferTest, ASpilledTransactionThatRewroteItsFramesSurvivesTheProcessDying) {
  // With a tiny cache the inserts spill to the WAL; the update changes pages that are already
  // there, so the commit overwrites those frames in place and then rewrites the checksums of
  // every frame from the first one it overwrote, the commit frame's header last.
  RunInAChildThatDies({"PRAGMA cache_size=10", "BEGIN", InsertRowsSql(1, 2000),
                       "UPDATE t SET body = 'short' WHERE id <= 100", "COMMIT"});
  Db reader(path_, false);  // recovers the WAL: a frame whose checksum is stale ends the log
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), "2000");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t WHERE body = 'short'"), "100");
  EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteBufferTest, ATransactionLargerThanTheCacheReadsBackWhatItSpilled) {
  Db writer(path_, true);
  Create(writer);
  ASSERT_EQ(writer.Exec("PRAGMA cache_size=10"), "");  // pages: the transaction spills to the WAL
  Db reader(path_, false);
  ASSERT_TRUE(reader.ok());

  // Rolled back after spilling: its frames are garbage that the next commit overwrites.
  ASSERT_EQ(writer.Exec("BEGIN"), "");
  ASSERT_EQ(InsertRows(writer, 1, 2000), "");
  EXPECT_EQ(writer.Text("SELECT sum(length(body)) FROM t"), "2000000");
  ASSERT_EQ(writer.Exec("ROLLBACK"), "");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), "0");

  // Committed after spilling, and read back (through its own spilled frames) before the commit.
  ASSERT_EQ(writer.Exec("BEGIN"), "");
  ASSERT_EQ(InsertRows(writer, 1, 3000), "");
  ASSERT_EQ(writer.Exec("UPDATE t SET body = 'short' WHERE id % 2 = 0"), "");
  EXPECT_EQ(writer.Text("SELECT count(*) FROM t WHERE body = 'short'"), "1500");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), "0");  // not committed yet
  ASSERT_EQ(writer.Exec("COMMIT"), "");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), "3000");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t WHERE body = 'short'"), "1500");
  EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");

  // A checkpoint and a WAL that starts over still hold together.
  EXPECT_EQ(reader.Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "");
  ASSERT_EQ(InsertRows(writer, 3001, 100), "");
  EXPECT_EQ(reader.Text("SELECT count(*) FROM t"), "3100");
  EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteBufferTest, OnlyWalFilesAreBuffered) {
  Db db(path_, true);
  ASSERT_TRUE(db.ok());
  // A rollback-journal database writes its database file and journal as SQLite asks.
  ASSERT_EQ(db.Text("PRAGMA journal_mode=DELETE"), "delete");
  ASSERT_EQ(db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"), "");
  const WalWriteStats before = WalWriteStatsNow();
  ASSERT_EQ(InsertRows(db, 1, 200), "");
  const WalWriteStats after = WalWriteStatsNow();
  EXPECT_EQ(after.writes_asked, before.writes_asked);
  EXPECT_EQ(db.Text("SELECT count(*) FROM t"), "200");
}

}  // namespace
}  // namespace shopflow::sqlite
