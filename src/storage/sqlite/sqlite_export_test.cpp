// The export API against files written by a real SqliteStore: documents with their ids, the
// pending outbox and the inbox, paged; one snapshot while the store keeps writing; clear errors.
#include "storage/sqlite/sqlite_export.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/ids.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "storage/sqlite/wrappers.hpp"

namespace shopflow {
namespace {

namespace fs = std::filesystem;

// Not tests/support/store_conformance.hpp's IsOk: that header defines the conformance tests,
// which sqlite_store_test.cpp already instantiates in this executable.
template <class T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << ErrorCodeName(result.error().code) << ": " << result.error().message;
}

Envelope Event(int n) {
  return MakeEvent("ORDER_CREATED", json::object{{"n", n}}, "orders", "corr-" + std::to_string(n),
                   "", FromUnixMillis(1'795'000'000'000 + n));
}

std::vector<std::string> Ids(const std::vector<SqliteSnapshot::Document>& docs) {
  std::vector<std::string> ids;
  for (const auto& doc : docs) ids.push_back(doc.id);
  return ids;
}

std::vector<std::string> MessageIds(const std::vector<OutboxRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& record : records) ids.push_back(record.event.metadata.message_id);
  return ids;
}

std::vector<std::string> Marks(const std::vector<SqliteSnapshot::InboxMark>& marks) {
  std::vector<std::string> out;
  for (const auto& mark : marks) out.push_back(mark.consumer + "/" + mark.message_id);
  return out;
}

std::string Contents(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class SqliteExportTest : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteStore> OpenStore() {
    auto store = SqliteStore::Open(
        {.path = path_, .collections = {{"products", {"category"}, {"sku"}}, {"orders", {}, {}}}});
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

  /// Products p0..p4 (inserted out of id order), one order, four events of which the first was
  /// relayed, three inbox marks (inserted out of order). Returns the events' message ids.
  std::vector<std::string> Fill(Store& store) {
    std::vector<std::string> message_ids;
    EXPECT_TRUE(IsOk(WriteAndWait(store, [&](Transaction& tx) -> Result<void> {
      for (const int i : {3, 0, 4, 1, 2}) {
        const std::string id = "p" + std::to_string(i);
        if (auto in = tx.Insert("products", id,
                                {{"sku", "SKU-" + std::to_string(i)}, {"category", "books"}});
            !in) {
          return in;
        }
      }
      if (auto in = tx.Insert(
              "orders", "o1",
              {{"status", "paid"}, {"items", json::array{json::object{{"q", 2}}, nullptr}}});
          !in) {
        return in;
      }
      message_ids.clear();  // a retried fn starts afresh
      for (int n = 0; n < 4; ++n) {
        const Envelope event = Event(n);
        message_ids.push_back(event.metadata.message_id);
        if (auto out = tx.AppendOutbox(event); !out) return out;
      }
      const std::vector<std::pair<std::string, std::string>> marks = {
          {"payments", "m2"}, {"inventory", "m9"}, {"inventory", "m1"}};
      for (const auto& [consumer, message] : marks) {
        if (auto mark = tx.MarkApplied(consumer, message); !mark) return std::move(mark).error();
      }
      return Ok();
    })));
    auto pending = store.PendingOutbox(1);
    EXPECT_TRUE(IsOk(pending));
    if (pending && !pending->empty()) {
      const int64_t sent = pending->front().sequence;
      EXPECT_TRUE(IsOk(store.MarkOutboxSent(std::span(&sent, 1))));
    }
    return message_ids;
  }

  /// Fills a store and closes it, as `shopflow migrate` normally finds a data file.
  std::vector<std::string> FillAndClose() {
    auto store = OpenStore();
    if (store == nullptr) return {};
    return Fill(*store);
  }

  std::unique_ptr<SqliteSnapshot> OpenSnapshot() {
    auto snapshot = SqliteSnapshot::Open(path_);
    if (!snapshot) {
      ADD_FAILURE() << snapshot.error().message;
      return nullptr;
    }
    return std::move(*snapshot);
  }

  /// Runs SQL on the file directly, as corruption or another tool would.
  void ExecRaw(const std::string& path, const std::string& sql) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    sqlite::DatabasePtr db(raw);
    ASSERT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(raw);
    ASSERT_EQ(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db.get());
  }

  const fs::path dir_ = fs::path(::testing::TempDir()) / ("shopflow_export_" + NewId());
  const std::string path_ = (dir_ / "shopflow.db").string();
};

TEST_F(SqliteExportTest, PagesDocumentsWithTheirIdsInIdOrder) {
  FillAndClose();
  const std::string before = Contents(path_);
  {
    auto snapshot = OpenSnapshot();
    ASSERT_NE(snapshot, nullptr);
    EXPECT_EQ(snapshot->path(), path_);
    EXPECT_EQ(snapshot->collections(), (std::vector<std::string>{"orders", "products"}));

    auto first = snapshot->Documents("products", "", 2);
    ASSERT_TRUE(IsOk(first));
    EXPECT_EQ(Ids(*first), (std::vector<std::string>{"p0", "p1"}));
    EXPECT_EQ((*first)[1].doc, (json::object{{"sku", "SKU-1"}, {"category", "books"}}));
    auto second = snapshot->Documents("products", "p1", 2);
    ASSERT_TRUE(IsOk(second));
    EXPECT_EQ(Ids(*second), (std::vector<std::string>{"p2", "p3"}));
    auto last = snapshot->Documents("products", "p3", 2);
    ASSERT_TRUE(IsOk(last));
    EXPECT_EQ(Ids(*last), (std::vector<std::string>{"p4"}));
    auto end = snapshot->Documents("products", "p4", 2);
    ASSERT_TRUE(IsOk(end));
    EXPECT_TRUE(end->empty());

    auto orders = snapshot->Documents("orders", "", 10);
    ASSERT_TRUE(IsOk(orders));
    ASSERT_EQ(orders->size(), 1u);
    EXPECT_EQ(orders->front().id, "o1");
    EXPECT_EQ(orders->front().doc,
              (json::object{{"status", "paid"},
                            {"items", json::array{json::object{{"q", 2}}, nullptr}}}));
  }
  EXPECT_EQ(Contents(path_), before) << "the export wrote to the database file";
}

TEST_F(SqliteExportTest, PagesPendingOutboxInAppendOrderWithoutRelayedEvents) {
  const auto message_ids = FillAndClose();
  ASSERT_EQ(message_ids.size(), 4u);
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);

  auto first = snapshot->PendingOutbox(0, 2);
  ASSERT_TRUE(IsOk(first));
  // message_ids[0] was relayed (MarkOutboxSent), so it is no longer pending.
  EXPECT_EQ(MessageIds(*first), (std::vector<std::string>{message_ids[1], message_ids[2]}));
  ASSERT_EQ(first->size(), 2u);
  EXPECT_LT((*first)[0].sequence, (*first)[1].sequence);
  EXPECT_EQ((*first)[0].event.data, (json::object{{"n", 1}}));
  EXPECT_EQ((*first)[0].event.metadata.correlation_id, "corr-1");
  EXPECT_EQ((*first)[0].event.metadata.timestamp, FromUnixMillis(1'795'000'000'001));

  auto rest = snapshot->PendingOutbox(first->back().sequence, 2);
  ASSERT_TRUE(IsOk(rest));
  EXPECT_EQ(MessageIds(*rest), (std::vector<std::string>{message_ids[3]}));
  auto end = snapshot->PendingOutbox(rest->back().sequence, 2);
  ASSERT_TRUE(IsOk(end));
  EXPECT_TRUE(end->empty());
}

TEST_F(SqliteExportTest, PagesInboxMarksByConsumerThenMessageId) {
  FillAndClose();
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);
  auto first = snapshot->Inbox({}, 2);
  ASSERT_TRUE(IsOk(first));
  EXPECT_EQ(Marks(*first), (std::vector<std::string>{"inventory/m1", "inventory/m9"}));
  auto rest = snapshot->Inbox(first->back(), 2);
  ASSERT_TRUE(IsOk(rest));
  EXPECT_EQ(Marks(*rest), (std::vector<std::string>{"payments/m2"}));
  auto end = snapshot->Inbox(rest->back(), 2);
  ASSERT_TRUE(IsOk(end));
  EXPECT_TRUE(end->empty());
}

TEST_F(SqliteExportTest, ReadsOneSnapshotWhileTheStoreKeepsWriting) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  Fill(*store);
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);

  // The open snapshot must not block the store's writer (WAL), nor see what it commits.
  ASSERT_TRUE(IsOk(WriteAndWait(*store, [](Transaction& tx) -> Result<void> {
    if (auto in = tx.Insert("products", "p5", {{"sku", "SKU-5"}}); !in) return in;
    if (auto put = tx.Replace("products", "p0", {{"sku", "SKU-0"}, {"stock", 99}}); !put) {
      return put;
    }
    if (auto out = tx.AppendOutbox(Event(9)); !out) return out;
    if (auto mark = tx.MarkApplied("shipping", "m3"); !mark) return std::move(mark).error();
    return Ok();
  })));

  auto docs = snapshot->Documents("products", "", 100);
  ASSERT_TRUE(IsOk(docs));
  EXPECT_EQ(Ids(*docs), (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
  EXPECT_EQ(docs->front().doc, (json::object{{"sku", "SKU-0"}, {"category", "books"}}));
  auto events = snapshot->PendingOutbox(0, 100);
  ASSERT_TRUE(IsOk(events));
  EXPECT_EQ(events->size(), 3u);
  auto marks = snapshot->Inbox({}, 100);
  ASSERT_TRUE(IsOk(marks));
  EXPECT_EQ(marks->size(), 3u);

  // A snapshot taken now sees the new state.
  auto fresh = OpenSnapshot();
  ASSERT_NE(fresh, nullptr);
  auto fresh_docs = fresh->Documents("products", "p4", 100);
  ASSERT_TRUE(IsOk(fresh_docs));
  EXPECT_EQ(Ids(*fresh_docs), (std::vector<std::string>{"p5"}));
  auto fresh_events = fresh->PendingOutbox(0, 100);
  ASSERT_TRUE(IsOk(fresh_events));
  EXPECT_EQ(fresh_events->size(), 4u);
  auto fresh_marks = fresh->Inbox({}, 100);
  ASSERT_TRUE(IsOk(fresh_marks));
  EXPECT_EQ(Marks(*fresh_marks).back(), "shipping/m3");
}

TEST_F(SqliteExportTest, RefusesMissingNonDatabaseAndForeignFilesNamingThem) {
  fs::create_directories(dir_);
  auto missing = SqliteSnapshot::Open(path_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(missing.error().message.find("no SQLite database at " + path_), std::string::npos)
      << missing.error().message;

  auto directory = SqliteSnapshot::Open(dir_.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, ErrorCode::kUnavailable);

  const std::string text = (dir_ / "notes.txt").string();
  { std::ofstream(text) << std::string(4096, 'x'); }
  auto not_sqlite = SqliteSnapshot::Open(text);
  ASSERT_FALSE(not_sqlite.ok());
  EXPECT_EQ(not_sqlite.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(not_sqlite.error().message.find(text), std::string::npos) << not_sqlite.error().message;
  EXPECT_NE(not_sqlite.error().message.find("not a database"), std::string::npos)
      << not_sqlite.error().message;

  const std::string foreign = (dir_ / "foreign.db").string();
  ExecRaw(foreign, "CREATE TABLE things (id TEXT PRIMARY KEY, doc TEXT); CREATE TABLE outbox (x)");
  auto not_shopflow = SqliteSnapshot::Open(foreign);
  ASSERT_FALSE(not_shopflow.ok());
  EXPECT_EQ(not_shopflow.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(not_shopflow.error().message.find("is not a shopflow database"), std::string::npos)
      << not_shopflow.error().message;

  const std::string empty = (dir_ / "empty.db").string();
  { std::ofstream(empty) << ""; }
  EXPECT_FALSE(SqliteSnapshot::Open(empty).ok());
}

TEST_F(SqliteExportTest, BadRequestsAndCorruptRowsGetErrorsNamingThem) {
  FillAndClose();
  ExecRaw(path_,
          "UPDATE products SET doc = '[1, 2]' WHERE id = 'p3';"
          "UPDATE outbox SET body = '{\"broken\"' WHERE seq = (SELECT MAX(seq) FROM outbox);"
          "CREATE TABLE \"odd-name\" (id TEXT PRIMARY KEY, doc TEXT)");
  auto snapshot = OpenSnapshot();
  ASSERT_NE(snapshot, nullptr);

  auto unknown = snapshot->Documents("customers", "", 10);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("customers"), std::string::npos);

  auto odd = snapshot->Documents("odd-name", "", 10);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("unexpected table name 'odd-name'"), std::string::npos)
      << odd.error().message;

  auto zero = snapshot->Inbox({}, 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, ErrorCode::kValidationFailed);

  // Pages before the bad document still read; the page holding it names it.
  auto good = snapshot->Documents("products", "", 3);
  ASSERT_TRUE(IsOk(good));
  EXPECT_EQ(Ids(*good), (std::vector<std::string>{"p0", "p1", "p2"}));
  auto bad = snapshot->Documents("products", "p2", 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
  EXPECT_NE(bad.error().message.find("products 'p3'"), std::string::npos) << bad.error().message;

  auto events = snapshot->PendingOutbox(0, 10);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.error().code, ErrorCode::kInternal);
  EXPECT_NE(events.error().message.find("outbox row 4 "), std::string::npos)
      << events.error().message;
}

}  // namespace
}  // namespace shopflow
