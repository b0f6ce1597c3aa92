// The copying loop of `shopflow migrate`, run SQLite -> SQLite: no MongoDB server exists on the
// build machines, and the loop writes only through the Store interface, so a SqliteStore
// target exercises exactly the code a MongoStore target runs. (MongoDB targets are exercised
// by hand or in CI only where MONGODB_URL points at a replica set.)
#include "app/migrate.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow {
namespace {

namespace fs = std::filesystem;

const std::vector<CollectionSpec> kSpecs = {
    {"products", {"category"}, {"sku"}},
    {"orders", {"status"}, {}},
};

Envelope Event(int n) {
  return MakeEvent("ORDER_CREATED", json::object{{"n", n}}, "orders", "corr-" + std::to_string(n),
                   "", FromUnixMillis(1'795'000'000'000 + n));
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("shopflow_migrate_" + NewId());
    fs::create_directories(dir_ / "data");
    source_path_ = (dir_ / "data" / "shopflow.db").string();
    target_path_ = (dir_ / "target.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteStore> OpenSqlite(const std::string& path) {
    auto store = SqliteStore::Open({.path = path, .collections = kSpecs});
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  /// Products p0..p{n-1}, two orders, three pending events (one sent), two inbox marks.
  void FillSource(int products) {
    auto source = OpenSqlite(source_path_);
    ASSERT_NE(source, nullptr);
    ASSERT_TRUE(
        WriteAndWait(*source, [&](Transaction& tx) -> Result<void> {
          for (int i = 0; i < products; ++i) {
            const std::string id = "p" + std::to_string(i);
            if (auto in = tx.Insert("products", id,
                                    {{"productId", id},
                                     {"sku", "SKU-" + std::to_string(i)},
                                     {"category", "books"},
                                     {"stock", i}});
                !in) {
              return in;
            }
          }
          if (auto in = tx.Insert("orders", "o1", {{"orderId", "o1"}, {"status", "paid"}}); !in) {
            return in;
          }
          if (auto in = tx.Insert("orders", "o2",
                                  {{"orderId", "o2"},
                                   {"status", "pending"},
                                   {"items", json::array{json::object{{"q", 2}}}}});
              !in) {
            return in;
          }
          for (int n = 0; n < 3; ++n) {
            if (auto out = tx.AppendOutbox(Event(n)); !out) return out;
          }
          if (auto m = tx.MarkApplied("inventory", "m1"); !m) return std::move(m).error();
          if (auto m = tx.MarkApplied("payments", "m1"); !m) return std::move(m).error();
          return Ok();
        }).ok());
    auto pending = source->PendingOutbox(10);
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 3u);
    const int64_t sent = (*pending)[0].sequence;
    ASSERT_TRUE(source->MarkOutboxSent(std::span(&sent, 1)).ok());
  }

  Result<MigrationCounts> Copy() {
    auto path = SqliteSourcePath("sqlite://" + (dir_ / "data").string());
    if (!path) return std::move(path).error();
    auto snapshot = SqliteSnapshot::Open(*path);
    if (!snapshot) return std::move(snapshot).error();
    auto target = OpenSqlite(target_path_);
    if (!target) return InternalError("target did not open");
    return CopySnapshot(**snapshot, *target, /*batch=*/7);
  }

  std::optional<json::object> TargetDoc(const std::string& collection, const std::string& id) {
    auto target = OpenSqlite(target_path_);
    std::optional<json::object> doc;
    EXPECT_TRUE(ReadAndWait(*target, [&](ReadTransaction& tx) -> Result<void> {
                  auto got = tx.Get(collection, id);
                  if (!got) return std::move(got).error();
                  doc = std::move(*got);
                  return Ok();
                }).ok());
    return doc;
  }

  fs::path dir_;
  std::string source_path_;
  std::string target_path_;
};

TEST_F(MigrateTest, CopiesDocumentsPendingOutboxAndInboxAcrossSeveralBatches) {
  FillSource(20);  // 20 products in batches of 7: three pages
  auto counts = Copy();
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->collections["products"].inserted, 20);
  EXPECT_EQ(counts->collections["products"].updated, 0);
  EXPECT_EQ(counts->collections["orders"].inserted, 2);
  EXPECT_EQ(counts->outbox_appended, 2);  // the sent one stays behind
  EXPECT_EQ(counts->inbox_marked, 2);

  auto p7 = TargetDoc("products", "p7");
  ASSERT_TRUE(p7.has_value());
  EXPECT_EQ(*p7, (json::object{
                     {"productId", "p7"}, {"sku", "SKU-7"}, {"category", "books"}, {"stock", 7}}));
  EXPECT_EQ(GetArray(*TargetDoc("orders", "o2"), "items")->size(), 1u);

  auto target = OpenSqlite(target_path_);
  auto pending = target->PendingOutbox(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].event.metadata.correlation_id, "corr-1");  // append order kept
  EXPECT_EQ((*pending)[1].event.metadata.correlation_id, "corr-2");
  bool applied = true;
  ASSERT_TRUE(WriteAndWait(*target, [&](Transaction& tx) -> Result<void> {
                auto mark = tx.MarkApplied("payments", "m1");
                if (!mark) return std::move(mark).error();
                applied = *mark;
                return Ok();
              }).ok());
  EXPECT_FALSE(applied) << "the inbox mark was not copied";
}

TEST_F(MigrateTest, RerunIsIdempotentAndPicksUpChanges) {
  FillSource(3);
  ASSERT_TRUE(Copy().ok());
  auto again = Copy();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->collections["products"].inserted, 0);
  EXPECT_EQ(again->collections["products"].updated, 3);
  EXPECT_EQ(again->outbox_appended, 0);
  EXPECT_EQ(again->outbox_already_pending, 2);
  EXPECT_EQ(again->inbox_marked, 0);
  EXPECT_EQ(again->inbox_already_marked, 2);
  {
    auto target = OpenSqlite(target_path_);
    auto pending = target->PendingOutbox(10);
    ASSERT_TRUE(pending.ok());
    EXPECT_EQ(pending->size(), 2u) << "a re-run duplicated pending events";
  }
  {
    auto source = OpenSqlite(source_path_);
    ASSERT_TRUE(WriteAndWait(*source, [](Transaction& tx) {
                  return tx.Replace("products", "p1",
                                    {{"productId", "p1"}, {"sku", "SKU-1"}, {"stock", 99}});
                }).ok());
  }
  ASSERT_TRUE(Copy().ok());
  EXPECT_EQ(GetInt(*TargetDoc("products", "p1"), "stock"), 99);
}

TEST_F(MigrateTest, AConflictInTheTargetStopsWithTheDocumentNamed) {
  FillSource(2);
  {
    auto target = OpenSqlite(target_path_);
    ASSERT_TRUE(WriteAndWait(*target, [](Transaction& tx) {
                  return tx.Insert("products", "other", {{"sku", "SKU-1"}});
                }).ok());
  }
  auto counts = Copy();
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.error().code, ErrorCode::kConflict);
  EXPECT_NE(counts.error().message.find("products 'p1'"), std::string::npos)
      << counts.error().message;
}

TEST_F(MigrateTest, SourcePathsAreCheckedWithClearErrors) {
  EXPECT_FALSE(SqliteSourcePath("sqlite://").ok());
  auto missing = SqliteSourcePath("sqlite://" + (dir_ / "nope").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kValidationFailed);
  auto empty_dir = SqliteSourcePath((dir_).string());
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_NE(empty_dir.error().message.find("shopflow.db"), std::string::npos);
  FillSource(1);
  auto file = SqliteSourcePath(source_path_);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, source_path_);

  // A SQLite file that is not a shopflow database is refused.
  const std::string foreign = (dir_ / "foreign.db").string();
  { std::ofstream(foreign) << ""; }
  EXPECT_FALSE(SqliteSnapshot::Open(foreign).ok());
}

TEST_F(MigrateTest, CommandPrintsCountsAndRefusesUnknownTargets) {
  FillSource(4);
  std::ostringstream out, err;
  EXPECT_EQ(
      RunMigrate("sqlite://" + (dir_ / "data").string(), "sqlite://" + target_path_, out, err), 0)
      << err.str();
  EXPECT_NE(out.str().find("products: 4 inserted, 0 updated"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("outbox: 2 pending events appended"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("inbox: 2 marks copied"), std::string::npos) << out.str();

  std::ostringstream out2, err2;
  EXPECT_EQ(RunMigrate(source_path_, "redis://localhost", out2, err2), 1);
  EXPECT_NE(err2.str().find("--to must be a mongodb:// URL"), std::string::npos);

  std::ostringstream out3, err3;
  EXPECT_EQ(
      RunMigrate(source_path_, "mongodb://u:pw@127.0.0.1:1/ecommerce?serverSelectionTimeoutMS=200",
                 out3, err3),
      1);
  EXPECT_NE(err3.str().find("cannot reach MongoDB"), std::string::npos) << err3.str();
  EXPECT_EQ(err3.str().find(":pw@"), std::string::npos) << err3.str();
}

}  // namespace
}  // namespace shopflow
