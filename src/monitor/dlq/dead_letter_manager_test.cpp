#include "monitor/dlq/dead_letter_manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "monitor/dlq/audit_log.hpp"
#include "monitor/dlq/dlq_test_support.hpp"

namespace shopflow::monitor::testing {
namespace {

using ::testing::ElementsAre;

// --- storing dead letters ------------------------------------------------------------------

TEST_F(DlqTest, APoisonMessageIsStoredWithItsReasonAndAttemptsAndAcked) {
  StartManager();
  const Envelope event = PoisonOrder("ord-00000001");

  auto records = RecordsOf(event.metadata.message_id);
  ASSERT_EQ(records.size(), 1u);
  const DeadLetterRecord& r = records[0];
  EXPECT_EQ(r.status, DeadLetterStatus::kDead);
  EXPECT_EQ(r.queue, kPaymentsDlq);
  EXPECT_EQ(r.original_queue, kPaymentsQueue);
  EXPECT_EQ(r.event_type, "ORDER_CREATED");
  EXPECT_EQ(r.routing_key, "order.created");
  EXPECT_EQ(r.reason, std::string(kGatewayTimeout) + "ord-00000001");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_LT(r.first_failure, r.last_failure);  // the retries took fake time
  EXPECT_EQ(GetString(*GetObject(r.envelope, "data"), "orderId"), "ord-00000001");
  EXPECT_EQ(manager_->DeadCount(), 1);
  // Acknowledged: nothing is left for the broker's TTL to expire.
  EXPECT_TRUE(WaitUntil([&] { return Depth(kPaymentsDlq) == 0; }));
}

TEST_F(DlqTest, ARedeliveredDeadLetterIsStoredOnce) {
  StartManager();
  const Envelope event = OrderEvent("ord-00000002");
  DeadLetterDirectly(event, "validation_failed: bad order");
  DeadLetterDirectly(event, "validation_failed: bad order");  // same headers: a redelivery
  ASSERT_TRUE(WaitUntil([&] { return bus_->Counters().acked >= 2; }));

  auto records = RecordsOf(event.metadata.message_id);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].occurrences, 1);
  EXPECT_EQ(manager_->DeadCount(), 1);
}

TEST_F(DlqTest, AnotherCopyOfADeadMessageIsMergedIntoItsRecord) {
  StartManager();
  const Envelope event = OrderEvent("ord-00000003");
  DeadLetterDirectly(event, "first reason");
  clock_.Advance(1s);
  DeadLetterDirectly(event, "second reason", kPaymentsDlq, 5);
  ASSERT_TRUE(WaitUntil([&] { return bus_->Counters().acked >= 2; }));

  auto records = RecordsOf(event.metadata.message_id);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].occurrences, 2);
  EXPECT_EQ(records[0].reason, "second reason");
  EXPECT_EQ(records[0].attempts, 5);
  EXPECT_LT(records[0].first_failure, records[0].last_failure);
  EXPECT_EQ(manager_->DeadCount(), 1);
}

TEST_F(DlqTest, TheSameMessageDeadInTwoModulesHasARecordPerQueue) {
  StartManager();
  const Envelope event = OrderEvent("ord-00000004");
  DeadLetterDirectly(event, "payments failed");
  DeadLetterDirectly(event, "inventory failed", kInventoryDlq);
  ASSERT_TRUE(WaitDead(2));

  auto records = RecordsOf(event.metadata.message_id);
  ASSERT_EQ(records.size(), 2u);
  const std::set<std::string> queues{records[0].queue, records[1].queue};
  EXPECT_EQ(queues, (std::set<std::string>{std::string(kPaymentsDlq), std::string(kInventoryDlq)}));
}

// --- alert -----------------------------------------------------------------------------------

TEST_F(DlqTest, TheAlertFiresOnceWhenCrossingTheThresholdAndAgainOnlyAfterReArming) {
  DlqOptions options;
  options.alert_threshold = 2;
  StartManager(options);
  std::vector<Envelope> events;
  auto add = [&](int n) {
    const int64_t expected = manager_->DeadCount() + n;
    for (int i = 0; i < n; ++i) {
      events.push_back(OrderEvent("ord-alert-" + std::to_string(events.size())));
      clock_.Advance(1ms);
      DeadLetterDirectly(events.back(), "boom");
    }
    ASSERT_TRUE(WaitUntil([&] { return manager_->DeadCount() == expected; }));
    manager_->WaitIdle();
  };

  add(2);  // at the threshold: no alert
  EXPECT_TRUE(Alerts().empty());
  add(1);  // 3 > 2: crossing
  ASSERT_EQ(Alerts().size(), 1u);
  const json::object alert = Alerts()[0];
  EXPECT_EQ(GetString(alert, "type"), "dlq_threshold_exceeded");
  EXPECT_EQ(GetInt(alert, "deadCount"), 3);
  EXPECT_EQ(GetInt(alert, "threshold"), 2);
  const json::array* queues = GetArray(alert, "queues");
  ASSERT_NE(queues, nullptr);
  ASSERT_EQ(queues->size(), 1u);
  EXPECT_EQ(GetString(queues->at(0).as_object(), "queue"), kPaymentsDlq);
  EXPECT_EQ(GetInt(queues->at(0).as_object(), "count"), 3);
  add(1);  // still above: no second alert
  EXPECT_EQ(Alerts().size(), 1u);

  // Back to the threshold re-arms it; the next crossing alerts again.
  EXPECT_EQ(Discard(events[0].metadata.message_id).status, 200);
  EXPECT_EQ(Discard(events[1].metadata.message_id).status, 200);
  EXPECT_EQ(manager_->DeadCount(), 2);
  manager_->WaitIdle();
  EXPECT_EQ(Alerts().size(), 1u);
  add(1);
  EXPECT_EQ(Alerts().size(), 2u);

  std::vector<json::object> alert_rows;
  for (const auto& row : AuditRows()) {
    if (GetString(row, "action") == audit_actions::kAlert) alert_rows.push_back(row);
  }
  ASSERT_EQ(alert_rows.size(), 2u);
  EXPECT_EQ(GetString(alert_rows[0], "actor"), "system");
  EXPECT_EQ(GetInt(*GetObject(alert_rows[0], "details"), "deadCount"), 3);
}

TEST_F(DlqTest, ThresholdZeroDisablesTheAlert) {
  DlqOptions options;
  options.alert_threshold = 0;
  StartManager(options);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(1ms);
    DeadLetterDirectly(OrderEvent("ord-quiet-" + std::to_string(i)), "boom");
  }
  ASSERT_TRUE(WaitDead(3));
  manager_->WaitIdle();
  EXPECT_TRUE(Alerts().empty());
}

TEST_F(DlqTest, ACountAlreadyAboveTheThresholdAtStartDoesNotAlert) {
  StartManager();  // threshold 10, not crossed
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(1ms);
    DeadLetterDirectly(OrderEvent("ord-old-" + std::to_string(i)), "boom");
  }
  ASSERT_TRUE(WaitDead(3));

  std::vector<json::object> alerts;
  DlqOptions low;
  low.alert_threshold = 1;
  DeadLetterManager restarted(*store_, *switch_, DefaultTopology(), clock_, low,
                              [&](const json::object& a) { alerts.push_back(a); });
  ASSERT_TRUE(IsOk(restarted.Start()));
  EXPECT_EQ(restarted.DeadCount(), 3);
  restarted.WaitIdle();
  EXPECT_TRUE(alerts.empty());
}

// --- crash recovery --------------------------------------------------------------------------

TEST_F(DlqTest, StartUpReSendsRecordsACrashLeftRedriving) {
  StartManager();
  const Envelope event = PoisonOrder("ord-00000010");
  const std::string& id = event.metadata.message_id;
  broken_ = false;                                // the cause is fixed
  ForceStatus(id, DeadLetterStatus::kRedriving);  // crashed between the claim and the send

  auto restarted = RestartedManager();
  ASSERT_TRUE(IsOk(restarted->Start()));

  ASSERT_TRUE(WaitUntil([&] { return Applied(id) == 1; }));
  EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kRedriven);
  EXPECT_EQ(switch_->sends(), 1);
  EXPECT_EQ(AuditActions().back(), audit_actions::kRedriveRecovered);
}

TEST_F(DlqTest, ReSendingAMessageThatWasAlreadyRedrivenAppliesItOnce) {
  StartManager();
  const Envelope event = PoisonOrder("ord-00000011");
  const std::string& id = event.metadata.message_id;
  broken_ = false;
  ASSERT_EQ(Retry(id).status, 200);
  ASSERT_TRUE(WaitUntil([&] { return Applied(id) == 1 && fixed_deliveries_ == 1; }));
  ForceStatus(id, DeadLetterStatus::kRedriving);  // crashed after the send, before the mark

  auto restarted = RestartedManager();
  ASSERT_TRUE(IsOk(restarted->Start()));

  ASSERT_TRUE(WaitUntil([&] { return fixed_deliveries_ == 2; }));  // the duplicate arrived...
  ASSERT_TRUE(WaitUntil([&] { return Depth(kPaymentsQueue) == 0; }));
  EXPECT_EQ(Applied(id), 1);  // ...and the consumer's inbox dropped it
  EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kRedriven);
}

TEST_F(DlqTest, RecoveryWithTheBrokerDownPutsRecordsBackToDead) {
  StartManager();
  const Envelope event = PoisonOrder("ord-00000012");
  const std::string& id = event.metadata.message_id;
  ForceStatus(id, DeadLetterStatus::kRedriving);
  switch_->FailSends(UnavailableError("broker down"));

  auto restarted = RestartedManager();
  auto started = restarted->Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kDead);
  EXPECT_EQ(restarted->DeadCount(), 1);
  EXPECT_EQ(AuditActions().back(), audit_actions::kRedriveFailed);
}

TEST_F(DlqTest, AReDrivenMessageThatFailsAgainIsANewDeadLetter) {
  StartManager();
  const Envelope event = PoisonOrder("ord-00000013");
  const std::string& id = event.metadata.message_id;
  ASSERT_EQ(Retry(id).status, 200);  // not fixed: it fails again
  ASSERT_TRUE(WaitUntil([&] {
    clock_.Advance(50ms);
    return RecordsOf(id).size() == 2;
  }));
  auto records = RecordsOf(id);
  EXPECT_EQ(records[0].status, DeadLetterStatus::kRedriven);
  EXPECT_EQ(records[1].status, DeadLetterStatus::kDead);
  EXPECT_EQ(records[1].attempts, 3);  // a re-drive starts again at attempt 1
  EXPECT_THAT(AuditActions(),
              ElementsAre(audit_actions::kRedrive, audit_actions::kRedriveCompleted));
}

}  // namespace
}  // namespace shopflow::monitor::testing
