#include "monitor/message_log_ring.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "monitor/monitor_test_support.hpp"

namespace shopflow::monitor {
namespace {

using testing::TempStore;

// Rows {n, status} with ids that sort as n does; even n "consumed", odd n "published".
class MessageLogRingTest : public ::testing::Test {
 protected:
  static std::string IdOf(int n) {
    std::string id = std::to_string(n);
    return std::string(6 - id.size(), '0') + id;
  }

  /// Appends rows n = [from, to) in one write, partitions of `partition_rows`; returns how many
  /// rows emptying partitions removed.
  int64_t Append(int from, int to, int64_t partition_rows) {
    int64_t cleared = -1;
    auto done = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
      auto n =
          AppendToLog(txn, static_cast<size_t>(to - from), partition_rows,
                      [&](Transaction& t, std::string_view partition, size_t i) {
                        const int n = from + static_cast<int>(i);
                        return t.Insert(partition, IdOf(n),
                                        {{"n", n}, {"status", n % 2 ? "published" : "consumed"}});
                      });
      if (!n) return std::move(n).error();
      cleared = *n;
      return Ok();
    });
    EXPECT_TRUE(done.ok()) << (done.ok() ? "" : done.error().message);
    return cleared;
  }

  FoundPage Find(FindQuery query) {
    FoundPage out;
    auto done = ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
      auto page = FindInLog(txn, query);
      if (!page) return std::move(page).error();
      out = std::move(*page);
      return Ok();
    });
    EXPECT_TRUE(done.ok()) << (done.ok() ? "" : done.error().message);
    return out;
  }

  static std::vector<int64_t> Numbers(const FoundPage& page) {
    std::vector<int64_t> out;
    for (const auto& doc : page.docs) out.push_back(GetInt(doc, "n", -1));
    return out;
  }

  /// The whole log's n, oldest first.
  std::vector<int64_t> AllNumbers() {
    FindQuery all;
    all.limit = -1;
    all.newest_first = false;
    return Numbers(Find(all));
  }

  static std::vector<int64_t> Range(int64_t from, int64_t to) {  // [from, to)
    std::vector<int64_t> out;
    for (int64_t n = from; n < to; ++n) out.push_back(n);
    return out;
  }

  LogRing Ring() {
    LogRing ring;
    auto done = ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
      auto r = ReadLogRing(txn);
      if (!r) return std::move(r).error();
      ring = *r;
      return Ok();
    });
    EXPECT_TRUE(done.ok());
    return ring;
  }

  TempStore store_;
};

TEST(MessageLogRingNamesTest, PartitionZeroIsTheLogsEarlierCollection) {
  EXPECT_EQ(LogPartition(0), "messages");
  EXPECT_EQ(LogPartition(3), "messages_p3");
  const auto specs = MessageLogCollections();
  ASSERT_EQ(specs.size(), static_cast<size_t>(kLogPartitions) + 1);
  EXPECT_EQ(specs[1].name, "messages_p1");
  EXPECT_EQ(specs[1].indexed_fields, MessageLogCollection().indexed_fields);
  EXPECT_EQ(specs.back().name, kLogRingCollection);
  EXPECT_EQ(LogPartitionRows(100'000), 25'000);
  EXPECT_EQ(LogPartitionRows(3), 1);
  EXPECT_EQ(LogPartitionRows(0), 0);
}

TEST_F(MessageLogRingTest, RowsFillThePartitionsInTurnAndTheNextIsEmptiedBeforeUse) {
  EXPECT_EQ(Ring().rows, -1) << "a new log has no state yet";
  EXPECT_EQ(Append(0, 7, 3), 0);
  EXPECT_EQ(Ring().current, 2);
  EXPECT_EQ(Ring().rows, 1);
  EXPECT_EQ(store_.All(LogPartition(0)).size(), 3u);
  EXPECT_EQ(store_.All(LogPartition(2)).size(), 1u);
  // Around the ring: 7..11 fill partitions 2 and 3, 12 empties partition 0 (0, 1, 2) for itself.
  EXPECT_EQ(Append(7, 13, 3), 3);
  EXPECT_EQ(Ring().current, 0);
  EXPECT_EQ(store_.All(LogPartition(0)).size(), 1u);
  EXPECT_EQ(AllNumbers(), Range(3, 13));
  // Without a cap every row goes to the current partition.
  EXPECT_EQ(Append(13, 20, 0), 0);
  EXPECT_EQ(store_.All(LogPartition(0)).size(), 8u);
}

TEST_F(MessageLogRingTest, FindPagesAcrossPartitionsNewestFirstWithTheTotal) {
  Append(0, 10, 3);  // partitions: 0: 0-2, 1: 3-5, 2: 6-8, 3: 9
  FindQuery query;
  query.limit = 4;
  query.offset = 0;
  auto page = Find(query);
  EXPECT_EQ(Numbers(page), (std::vector<int64_t>{9, 8, 7, 6}));
  EXPECT_EQ(page.total, 10);
  query.offset = 4;
  page = Find(query);
  EXPECT_EQ(Numbers(page), (std::vector<int64_t>{5, 4, 3, 2}));
  query.offset = 8;
  page = Find(query);
  EXPECT_EQ(Numbers(page), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(page.total, 10);
  query.offset = 12;
  page = Find(query);
  EXPECT_TRUE(page.docs.empty());
  EXPECT_EQ(page.total, 10);

  // Filters hold in every partition; oldest first; without the total, no count.
  query.filters = {FieldFilter{"status", FieldFilter::Op::kEq, "published"}};
  query.newest_first = false;
  query.offset = 1;
  query.limit = 3;
  page = Find(query);
  EXPECT_EQ(Numbers(page), (std::vector<int64_t>{3, 5, 7}));
  EXPECT_EQ(page.total, 5);
  query.count_total = false;
  query.offset = 0;
  page = Find(query);
  EXPECT_EQ(Numbers(page), (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(page.total, -1);
  ASSERT_TRUE(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
                auto n = CountInLog(txn, query.filters);
                if (!n) return std::move(n).error();
                EXPECT_EQ(*n, 5);
                return Ok();
              }).ok());
}

TEST_F(MessageLogRingTest, AWriteThatFailsLeavesTheRingAndItsPartitionsAsTheyWere) {
  Append(0, 12, 3);  // every partition full; the next row empties partition 0
  ASSERT_EQ(Ring().current, 3);
  // The append succeeds, the write around it fails.
  auto failed = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
    auto n = AppendToLog(txn, 2, 3, [&](Transaction& t, std::string_view partition, size_t i) {
      return t.Insert(partition, IdOf(100 + static_cast<int>(i)), {{"n", 100}});
    });
    if (!n) return std::move(n).error();
    EXPECT_EQ(*n, 3);
    return ValidationError("changed my mind");
  });
  EXPECT_FALSE(failed.ok());
  // A failing insert fails the append.
  bool append_failed = false;
  auto refused = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
    auto n = AppendToLog(txn, 1, 3, [&](Transaction&, std::string_view, size_t) -> Result<void> {
      return ValidationError("refused");
    });
    append_failed = !n;
    if (!n) return std::move(n).error();
    return Ok();
  });
  EXPECT_TRUE(append_failed);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(Ring().current, 3);
  EXPECT_EQ(Ring().rows, 3);
  EXPECT_EQ(AllNumbers(), Range(0, 12));
}

}  // namespace
}  // namespace shopflow::monitor
