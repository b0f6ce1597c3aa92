#include "storage/inbox_retention.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow {
namespace {
namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;

constexpr const char* kConsumer = "inventory";

// On a real SQLite store. The store stamps marks with the system time; the retention's clock is
// a fake one, set relative to that.
class InboxRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open({.path = (dir_ / "store.db").string(), .collections = {}});
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<std::string> MarkNew(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(NewId());
    auto written = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
      for (const auto& id : ids) {
        if (auto marked = txn.MarkApplied(kConsumer, id); !marked) return marked.error();
      }
      return Ok();
    });
    EXPECT_TRUE(written.ok()) << written.error().message;
    return ids;
  }

  /// How many of `ids` have no mark (would be applied), without changing the inbox: the write
  /// that asks rolls back.
  int Unmarked(const std::vector<std::string>& ids) {
    int unmarked = 0;
    auto written = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
      unmarked = 0;
      for (const auto& id : ids) {
        auto fresh = txn.MarkApplied(kConsumer, id);
        if (!fresh) return fresh.error();
        unmarked += *fresh ? 1 : 0;
      }
      return ConflictError("roll back");
    });
    EXPECT_EQ(written.error().message, "roll back");
    return unmarked;
  }

  static bool WaitUntil(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return condition();
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

  const fs::path dir_ = fs::path(::testing::TempDir()) / ("shopflow_inbox_retention_" + NewId());
  std::unique_ptr<Store> store_;
  // Two hours ahead of the store's time: with keep = 1 h every mark made now is expired.
  testing::FakeClock later_{std::chrono::system_clock::now() + hours(2)};
};

TEST_F(InboxRetentionTest, APassRemovesEveryExpiredMarkInBatches) {
  const auto ids = MarkNew(12);
  InboxRetention retention(*store_, later_, {.keep = hours(1), .batch = 5});
  auto pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 12);
  EXPECT_EQ(Unmarked(ids), 12);
  EXPECT_EQ(retention.Stats().removed, 12u);
  EXPECT_EQ(retention.Stats().passes, 1u);
}

TEST_F(InboxRetentionTest, MarksYoungerThanKeepStay) {
  const auto ids = MarkNew(3);
  testing::FakeClock now(std::chrono::system_clock::now());
  InboxRetention retention(*store_, now, {.keep = hours(1)});
  auto pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 0);
  EXPECT_EQ(Unmarked(ids), 0);
}

TEST_F(InboxRetentionTest, MarksAppliedAfterAnEventStillInTheOutboxWasMadeStay) {
  // The event waits in the outbox (made a minute ago, say before a crash): it will be published
  // again, and the marks its consumers made since must still dedupe it.
  Envelope waiting;
  waiting.event_type = "ORDER_CREATED";
  waiting.metadata.message_id = NewId();
  waiting.metadata.timestamp = std::chrono::system_clock::now() - std::chrono::minutes(1);
  auto appended =
      WriteAndWait(*store_, [&](Transaction& txn) { return txn.AppendOutbox(waiting); });
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  const auto ids = MarkNew(4);
  InboxRetention retention(*store_, later_, {.keep = hours(1)});
  auto pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 0);
  EXPECT_EQ(Unmarked(ids), 0);

  auto pending = store_->PendingOutbox(10);
  ASSERT_TRUE(pending.ok() && pending->size() == 1u);
  const int64_t sequence = pending->front().sequence;
  ASSERT_TRUE(store_->MarkOutboxSent(std::span(&sequence, 1)).ok());
  pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 4);
  EXPECT_EQ(Unmarked(ids), 4);
}

TEST_F(InboxRetentionTest, TheThreadPrunesEveryInterval) {
  InboxRetention retention(*store_, later_, {.keep = hours(1), .interval = milliseconds(5)});
  retention.Start();
  const auto first = MarkNew(3);
  ASSERT_TRUE(WaitUntil([&] { return retention.Stats().removed == 3; }));
  const auto second = MarkNew(2);  // a later pass takes these too
  ASSERT_TRUE(WaitUntil([&] { return retention.Stats().removed == 5; }));
  retention.Stop();
  EXPECT_EQ(Unmarked(first), 3);
  EXPECT_EQ(Unmarked(second), 2);
  EXPECT_EQ(retention.Stats().failures, 0u);
}

}  // namespace
}  // namespace shopflow
