#include "storage/store_retention.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "storage/idempotency.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/fake_clock.hpp"
#include "tests/support/temp_sqlite_store.hpp"

namespace shopflow {
namespace {
using std::chrono::hours;
using std::chrono::milliseconds;

constexpr const char* kConsumer = "inventory";

// On a real SQLite store. The store stamps marks with the system time; the retention's clock is
// a fake one, set relative to that.
class StoreRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = temp_.Open({IdempotencyCollection()});
    ASSERT_NE(store_, nullptr);
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

  void RememberKeys(const std::vector<std::string>& keys, TimePoint at) {
    auto written = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
      for (const auto& key : keys) {
        auto done = RememberIdempotentResponse(txn, "orders", key, "f", {201, json::object{}}, at);
        if (!done) return done;
      }
      return Ok();
    });
    EXPECT_TRUE(written.ok()) << written.error().message;
  }

  /// How many of `keys` still replay their response.
  int Remembered(const std::vector<std::string>& keys) {
    int remembered = 0;
    auto written = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
      for (const auto& key : keys) {
        auto found = FindIdempotentResponse(txn, "orders", key, "f");
        if (!found) return std::move(found).error();
        remembered += found->has_value() ? 1 : 0;
      }
      return Ok();
    });
    EXPECT_TRUE(written.ok()) << written.error().message;
    return remembered;
  }

  static bool WaitUntil(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return condition();
      std::this_thread::sleep_for(milliseconds(1));
    }
    return true;
  }

  testing::TempSqliteStore temp_{"shopflow_store_retention"};
  std::unique_ptr<Store> store_;
  // Two hours ahead of the store's time: with keep = 1 h every mark made now is expired.
  testing::FakeClock later_{std::chrono::system_clock::now() + hours(2)};
};

TEST_F(StoreRetentionTest, APassRemovesEveryExpiredMarkInBatches) {
  const auto ids = MarkNew(12);
  StoreRetention retention(*store_, later_, {.inbox_keep = hours(1), .batch = 5});
  auto pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 12);
  EXPECT_EQ(Unmarked(ids), 12);
  EXPECT_EQ(retention.Stats().inbox_marks_removed, 12u);
  EXPECT_EQ(retention.Stats().passes, 1u);
}

TEST_F(StoreRetentionTest, MarksYoungerThanKeepStay) {
  const auto ids = MarkNew(3);
  testing::FakeClock now(std::chrono::system_clock::now());
  StoreRetention retention(*store_, now, {.inbox_keep = hours(1)});
  auto pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 0);
  EXPECT_EQ(Unmarked(ids), 0);
}

TEST_F(StoreRetentionTest, MarksAppliedAfterAnEventStillInTheOutboxWasMadeStay) {
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
  StoreRetention retention(*store_, later_, {.inbox_keep = hours(1)});
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

TEST_F(StoreRetentionTest, ExpiredIdempotencyKeysGoInBatchesAndYoungerOnesStay) {
  const std::vector<std::string> old_keys = {"k1", "k2", "k3", "k4", "k5", "k6", "k7"};
  const std::vector<std::string> young_keys = {"k8", "k9"};
  RememberKeys(old_keys, later_.Now() - hours(3));
  RememberKeys(young_keys, later_.Now() - std::chrono::minutes(59));
  StoreRetention retention(*store_, later_,
                           {.inbox_keep = hours(1), .idempotency_keep = hours(1), .batch = 3});
  auto pruned = retention.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 7);
  EXPECT_EQ(retention.Stats().idempotency_keys_removed, 7u);
  EXPECT_EQ(retention.Stats().inbox_marks_removed, 0u);
  EXPECT_EQ(Remembered(old_keys), 0);
  EXPECT_EQ(Remembered(young_keys), 2);
}

TEST_F(StoreRetentionTest, ZeroKeepsForever) {
  const auto ids = MarkNew(3);
  const std::vector<std::string> keys = {"a", "b"};
  RememberKeys(keys, later_.Now() - hours(1000));
  StoreRetention marks_only(*store_, later_, {.inbox_keep = hours(1), .idempotency_keep = {}});
  auto pruned = marks_only.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 3);
  EXPECT_EQ(Remembered(keys), 2);
  MarkNew(2);
  StoreRetention keys_only(*store_, later_, {.inbox_keep = {}, .idempotency_keep = hours(1)});
  pruned = keys_only.PruneNow();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 2);
  EXPECT_EQ(keys_only.Stats().inbox_marks_removed, 0u);
  EXPECT_EQ(Remembered(keys), 0);
}

TEST_F(StoreRetentionTest, TheThreadPrunesEveryInterval) {
  StoreRetention retention(*store_, later_, {.inbox_keep = hours(1), .interval = milliseconds(5)});
  retention.Start();
  const auto first = MarkNew(3);
  ASSERT_TRUE(WaitUntil([&] { return retention.Stats().inbox_marks_removed == 3; }));
  const auto second = MarkNew(2);  // a later pass takes these too
  ASSERT_TRUE(WaitUntil([&] { return retention.Stats().inbox_marks_removed == 5; }));
  retention.Stop();
  EXPECT_EQ(Unmarked(first), 3);
  EXPECT_EQ(Unmarked(second), 2);
  EXPECT_EQ(retention.Stats().failures, 0u);
}

}  // namespace
}  // namespace shopflow
