#include "storage/inbox_handler.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/ids.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/temp_sqlite_store.hpp"

namespace shopflow {
namespace {

constexpr std::string_view kCounters = "counters";
constexpr const char* kConsumer = "test";

// A batch consumer on a real SQLite store. Each delivery's data says what its effect does:
// {"add": n} adds n to counter "c" (reading what earlier deliveries wrote), {"fail": code}
// fails with that error, {"ignore": true} is a delivery the consumer does not act on.
class ApplyOnceBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = temp_.Open({{std::string(kCounters), {}, {}}});
    ASSERT_NE(store_, nullptr);
  }

  static Delivery With(json::object data, std::string message_id = NewId()) {
    Delivery d;
    d.envelope.event_type = "ORDER_CREATED";
    d.envelope.metadata.message_id = std::move(message_id);
    d.envelope.data = std::move(data);
    return d;
  }

  static Result<void> Effect(Transaction& txn, const Delivery& d) {
    if (const auto* fail = d.envelope.data.if_contains("fail")) {
      return fail->as_string() == "unavailable" ? UnavailableError("store hiccup")
                                                : ValidationError("bad event");
    }
    auto doc = txn.Get(kCounters, "c");
    if (!doc) return std::move(doc).error();
    const int64_t now = doc->has_value() ? (**doc).at("n").as_int64() : 0;
    const json::object next{{"n", now + d.envelope.data.at("add").as_int64()}};
    return doc->has_value() ? txn.Replace(kCounters, "c", next) : txn.Insert(kCounters, "c", next);
  }
  static bool Acts(const Delivery& d) { return !d.envelope.data.contains("ignore"); }

  std::vector<HandlerOutcome> Apply(const std::vector<Delivery>& deliveries) {
    return ApplyOnceBatch(*store_, kConsumer, deliveries, Effect, Acts);
  }

  int64_t Counter() {
    int64_t n = -1;
    auto read = ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
      auto doc = txn.Get(kCounters, "c");
      if (!doc) return std::move(doc).error();
      n = doc->has_value() ? (**doc).at("n").as_int64() : 0;
      return Ok();
    });
    EXPECT_TRUE(read.ok());
    return n;
  }

  testing::TempSqliteStore temp_{"shopflow_inbox"};
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(ApplyOnceBatchTest, AppliesEachDeliveryOnceInOneTransaction) {
  const std::vector<Delivery> batch = {With({{"add", 1}}), With({{"add", 10}}),
                                       With({{"ignore", true}}), With({{"add", 100}}, "same"),
                                       With({{"add", 100}}, "same")};
  const uint64_t writes_before = store_->Stats().writes_committed;
  const std::vector<HandlerOutcome> outcomes = Apply(batch);
  ASSERT_EQ(outcomes.size(), batch.size());
  for (const HandlerOutcome& o : outcomes) EXPECT_EQ(o.kind, HandlerOutcome::Kind::kAck);
  // Each effect saw the ones before it; the copy of "same" was applied once.
  EXPECT_EQ(Counter(), 111);
  EXPECT_EQ(store_->Stats().writes_committed - writes_before, 1u);

  // Delivered again (at least once): acknowledged, nothing applied twice.
  const std::vector<HandlerOutcome> again = Apply(batch);
  for (const HandlerOutcome& o : again) EXPECT_EQ(o.kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(Counter(), 111);
}

TEST_F(ApplyOnceBatchTest, AFailingDeliveryGetsItsOwnOutcomeAndTheOthersCommit) {
  const std::vector<Delivery> batch = {With({{"add", 1}}), With({{"fail", "validation"}}),
                                       With({{"add", 10}}), With({{"fail", "unavailable"}})};
  const std::vector<HandlerOutcome> outcomes = Apply(batch);
  ASSERT_EQ(outcomes.size(), batch.size());
  EXPECT_EQ(outcomes[0].kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(outcomes[1].kind, HandlerOutcome::Kind::kDeadLetter);
  EXPECT_NE(outcomes[1].reason.find("bad event"), std::string::npos);
  EXPECT_EQ(outcomes[2].kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(outcomes[3].kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(Counter(), 11);

  // The failed ones were not marked applied: fixed, they are applied on redelivery.
  std::vector<Delivery> retry = {batch[1], batch[3]};
  retry[0].envelope.data = json::object{{"add", 100}};
  retry[1].envelope.data = json::object{{"add", 1000}};
  for (const HandlerOutcome& o : Apply(retry)) EXPECT_EQ(o.kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(Counter(), 1111);
}

TEST_F(ApplyOnceBatchTest, ABatchItIgnoresEntirelyWritesNothing) {
  const uint64_t writes_before = store_->Stats().writes_committed;
  const std::vector<HandlerOutcome> outcomes =
      Apply({With({{"ignore", true}}), With({{"ignore", true}})});
  ASSERT_EQ(outcomes.size(), 2u);
  for (const HandlerOutcome& o : outcomes) EXPECT_EQ(o.kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(store_->Stats().writes_committed, writes_before);
  EXPECT_TRUE(Apply({}).empty());
}

TEST_F(ApplyOnceBatchTest, ReportsWhichEffectsThisCallCommitted) {
  const std::vector<Delivery> batch = {With({{"add", 1}}), With({{"ignore", true}}),
                                       With({{"add", 2}}, "twice"), With({{"add", 2}}, "twice")};
  std::vector<bool> applied;
  ApplyOnceBatch(*store_, kConsumer, batch, Effect, Acts, &applied);
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true, false}));
  // Redelivered: nothing is applied by this call.
  ApplyOnceBatch(*store_, kConsumer, batch, Effect, Acts, &applied);
  EXPECT_EQ(applied, (std::vector<bool>{false, false, false, false}));

  // A failing delivery rolls the batch back; the one-by-one rerun decides what was committed,
  // not the attempt that ran the effects first.
  const std::vector<Delivery> mixed = {With({{"add", 10}}), With({{"fail", "validation"}}),
                                       With({{"add", 100}}), batch[0]};
  ApplyOnceBatch(*store_, kConsumer, mixed, Effect, Acts, &applied);
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(Counter(), 113);
}

}  // namespace
}  // namespace shopflow
