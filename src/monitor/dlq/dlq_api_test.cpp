#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <set>

#include "monitor/dlq/audit_log.hpp"
#include "monitor/dlq/dlq_routes.hpp"
#include "monitor/dlq/dlq_test_support.hpp"

namespace shopflow::monitor::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Strings(const json::object& obj, std::string_view key) {
  std::vector<std::string> out;
  if (const json::array* values = GetArray(obj, key)) {
    for (const auto& v : *values) out.emplace_back(v.as_string());
  }
  return out;
}

std::vector<std::string> MessageIdsOf(const json::object& queue_entry) {
  std::vector<std::string> ids;
  for (const auto& m : *GetArray(queue_entry, "messages")) {
    ids.push_back(GetString(m.as_object(), "messageId"));
  }
  return ids;
}

class DlqApiTest : public DlqTest {
 protected:
  void SetUp() override {
    DlqTest::SetUp();
    if (!HasFatalFailure()) StartManager();
  }

  /// `count` messages dead in the payments DLQ with `reason`, one fake millisecond apart.
  std::vector<std::string> DeadLetters(int count, std::string_view reason,
                                       std::string_view dlq = kPaymentsDlq) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
      clock_.Advance(1ms);
      Envelope e = OrderEvent("ord-" + std::to_string(next_order_++));
      DeadLetterDirectly(e, reason, dlq);
      ids.push_back(e.metadata.message_id);
    }
    // Waits on the store, not on a manager's cached count: some tests run a second manager.
    for (const auto& id : ids) {
      EXPECT_TRUE(WaitUntil([&] {
        auto records = RecordsOf(id);
        return !records.empty() && records.back().status == DeadLetterStatus::kDead;
      })) << id;
    }
    return ids;
  }

  int next_order_ = 1000;
};

// --- GET /api/dlq ------------------------------------------------------------------------------

TEST_F(DlqApiTest, APoisonMessageShowsPerQueueWithItsReasonGroupedByCause) {
  const Envelope first = PoisonOrder("ord-10000001");
  const Envelope second = PoisonOrder("ord-10000002");
  DeadLetters(1, "validation_failed: unsupported version 2 of ORDER_CREATED");

  auto r = GetDlq();
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetInt(Body(r), "total"), 3);
  ASSERT_EQ(GetArray(Body(r), "queues")->size(), 4u);  // every module's DLQ, also when empty
  const json::object* payments = QueueEntry(r, kPaymentsDlq);
  ASSERT_NE(payments, nullptr);
  EXPECT_EQ(GetString(*payments, "originalQueue"), kPaymentsQueue);
  EXPECT_EQ(GetString(*payments, "module"), "payments");
  EXPECT_EQ(GetInt(*payments, "count"), 3);
  EXPECT_EQ(GetInt(*QueueEntry(r, kInventoryDlq), "count"), 0);

  const json::object* poisoned = nullptr;
  for (const auto& m : *GetArray(*payments, "messages")) {
    if (GetString(m.as_object(), "messageId") == first.metadata.message_id) {
      poisoned = &m.as_object();
    }
  }
  ASSERT_NE(poisoned, nullptr);
  EXPECT_EQ(GetString(*poisoned, "reason"), std::string(kGatewayTimeout) + "ord-10000001");
  EXPECT_EQ(GetInt(*poisoned, "attempts"), 3);
  EXPECT_EQ(GetString(*poisoned, "status"), "dead");
  EXPECT_EQ(GetString(*poisoned, "eventType"), "ORDER_CREATED");
  EXPECT_EQ(GetString(*poisoned, "correlationId"), "corr-ord-10000001");
  EXPECT_EQ(GetString(*GetObject(*poisoned, "data"), "orderId"), "ord-10000001");
  EXPECT_FALSE(GetString(*poisoned, "firstFailure").empty());
  EXPECT_FALSE(GetString(*poisoned, "deadLetteredAt").empty());

  // The two timeouts differ only by order id: one cause, largest group first.
  const json::array* by_reason = GetArray(Body(r), "byReason");
  ASSERT_NE(by_reason, nullptr);
  ASSERT_EQ(by_reason->size(), 2u);
  EXPECT_EQ(GetString(by_reason->at(0).as_object(), "reason"),
            std::string(kGatewayTimeout) + "<id>");
  EXPECT_EQ(GetInt(by_reason->at(0).as_object(), "count"), 2);
  EXPECT_EQ(GetInt(by_reason->at(1).as_object(), "count"), 1);
  (void)second;
}

TEST_F(DlqApiTest, ListFiltersByEventTypeReasonQueueTimeStatusAndPages) {
  const TimePoint start = clock_.Now();
  auto timeouts = DeadLetters(3, "Gateway Timeout after 30s");
  clock_.Advance(1s);
  const TimePoint middle = clock_.Now();
  auto invalid = DeadLetters(2, "validation_failed: bad data", kInventoryDlq);

  auto count = [&](std::vector<std::pair<std::string, std::string>> query) {
    auto r = GetDlq(std::move(query));
    EXPECT_EQ(r.status, 200) << ToJsonText(r.body);
    return GetInt(Body(r), "total");
  };
  EXPECT_EQ(count({}), 5);
  EXPECT_EQ(count({{"reason", "gateway timeout"}}), 3);  // case-insensitive substring
  EXPECT_EQ(count({{"queue", "inventory"}}), 2);         // a module names its DLQ
  EXPECT_EQ(count({{"queue", "inventory.events.queue"}}), 2);
  EXPECT_EQ(count({{"eventType", "ORDER_CREATED"}}), 5);
  EXPECT_EQ(count({{"eventType", "PAYMENT_FAILED"}}), 0);
  EXPECT_EQ(count({{"since", FormatRfc3339(middle)}}), 2);
  EXPECT_EQ(count({{"until", FormatRfc3339(middle)}}), 3);
  EXPECT_EQ(count({{"since", FormatRfc3339(start)}, {"until", FormatRfc3339(middle)}}), 3);

  // Only one queue listed when filtered by queue.
  auto only = GetDlq({{"queue", std::string(kInventoryDlq)}});
  EXPECT_EQ(GetArray(Body(only), "queues")->size(), 1u);

  // limit/offset page each queue's messages, newest first; counts stay whole.
  auto paged = GetDlq({{"limit", "2"}, {"offset", "1"}});
  const json::object* payments = QueueEntry(paged, kPaymentsDlq);
  EXPECT_EQ(GetInt(*payments, "count"), 3);
  EXPECT_THAT(MessageIdsOf(*payments), ElementsAre(timeouts[1], timeouts[0]));

  // Status: dead by default; all, or one status.
  ASSERT_EQ(Discard(invalid[0]).status, 200);
  EXPECT_EQ(count({}), 4);
  EXPECT_EQ(count({{"status", "discarded"}}), 1);
  EXPECT_EQ(count({{"status", "all"}}), 5);
}

TEST_F(DlqApiTest, ListRejectsBadQueryParametersNamingEachOne) {
  auto r =
      GetDlq({{"since", "yesterday"}, {"status", "zombie"}, {"queue", "nope"}, {"limit", "0"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCodeOf(r), "validation_failed");
  EXPECT_THAT(ErrorFields(r), UnorderedElementsAre("since", "status", "queue", "limit"));

  auto reversed = GetDlq({{"since", "2026-11-29T10:00:00Z"}, {"until", "2026-11-29T09:00:00Z"}});
  EXPECT_EQ(reversed.status, 400);
  EXPECT_THAT(ErrorFields(reversed), ElementsAre("since"));
}

// --- dry run and re-drive ----------------------------------------------------------------------

TEST_F(DlqApiTest, ADryRunReportsThePoisonMessageAndMovesNothing) {
  const Envelope event = PoisonOrder("ord-10000010");
  const std::string& id = event.metadata.message_id;

  auto r = RetryAll(json::object{{"dryRun", true}});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(Body(r).at("dryRun").as_bool(), true);
  EXPECT_EQ(GetInt(Body(r), "matched"), 1);
  EXPECT_EQ(GetInt(Body(r), "moved"), 0);
  EXPECT_THAT(Strings(Body(r), "messages"), ElementsAre(id));

  EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kDead);
  EXPECT_EQ(switch_->sends(), 0);
  EXPECT_EQ(manager_->DeadCount(), 1);
  EXPECT_THAT(AuditActions(), ElementsAre(audit_actions::kRedriveAllDryRun));
}

TEST_F(DlqApiTest, ARedriveAfterFixingTheCauseSettlesItExactlyOnce) {
  const Envelope event = PoisonOrder("ord-10000011");
  const std::string& id = event.metadata.message_id;
  broken_ = false;  // the cause is fixed

  auto r = Retry(id);
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetString(Body(r), "messageId"), id);
  EXPECT_EQ(GetString(Body(r), "status"), "redriven");
  EXPECT_EQ(GetString(Body(r), "queue"), kPaymentsDlq);

  ASSERT_TRUE(WaitUntil([&] { return Applied(id) == 1; }));
  ASSERT_TRUE(WaitUntil([&] { return Depth(kPaymentsQueue) == 0; }));
  EXPECT_EQ(fixed_deliveries_, 1);
  EXPECT_EQ(switch_->sends(), 1);
  EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kRedriven);
  EXPECT_EQ(manager_->DeadCount(), 0);
  EXPECT_EQ(GetInt(Body(GetDlq()), "total"), 0);
  EXPECT_EQ(GetInt(Body(GetDlq({{"status", "redriven"}})), "total"), 1);

  // Once redriven it cannot be re-driven or discarded again.
  auto again = Retry(id);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(ErrorCodeOf(again), "conflict");
  EXPECT_EQ(Discard(id).status, 409);
  EXPECT_EQ(switch_->sends(), 1);
  EXPECT_EQ(Applied(id), 1);

  auto rows = AuditRows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(GetString(rows[0], "action"), audit_actions::kRedrive);
  EXPECT_EQ(GetString(rows[0], "actor"), kClientAddress);
  EXPECT_EQ(GetString(rows[0], "correlationId"), kCorrelationId);
  EXPECT_THAT(Strings(rows[0], "messageIds"), ElementsAre(id));
  EXPECT_EQ(GetString(rows[1], "action"), audit_actions::kRedriveCompleted);
}

TEST_F(DlqApiTest, ABrokerRefusingTheRedriveAnswers503AndKeepsTheMessageDead) {
  const Envelope event = PoisonOrder("ord-10000012");
  const std::string& id = event.metadata.message_id;
  broken_ = false;
  switch_->FailSends(UnavailableError("connection to the broker lost"));

  auto r = Retry(id);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ErrorCodeOf(r), "unavailable");
  EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kDead);
  EXPECT_EQ(manager_->DeadCount(), 1);
  EXPECT_THAT(AuditActions(), ElementsAre(audit_actions::kRedrive, audit_actions::kRedriveFailed));

  switch_->FailSends(std::nullopt);  // the broker is back
  EXPECT_EQ(Retry(id).status, 200);
  EXPECT_TRUE(WaitUntil([&] { return Applied(id) == 1; }));
}

TEST_F(DlqApiTest, RetryAllReDrivesTheMatchesOldestFirst) {
  broken_ = false;
  auto payments = DeadLetters(3, "validation_failed: amount");
  auto inventory = DeadLetters(2, "validation_failed: amount", kInventoryDlq);

  auto r = RetryAll(json::object{{"queue", "payments"}, {"reason", "AMOUNT"}});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(Body(r).at("dryRun").as_bool(), false);
  EXPECT_EQ(GetInt(Body(r), "matched"), 3);
  EXPECT_EQ(GetInt(Body(r), "moved"), 3);
  EXPECT_THAT(Strings(Body(r), "messages"), ElementsAre(payments[0], payments[1], payments[2]));
  for (const auto& id : payments) {
    EXPECT_TRUE(WaitUntil([&] { return Applied(id) == 1; })) << id;
    EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kRedriven);
  }
  for (const auto& id : inventory) EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kDead);
  EXPECT_EQ(manager_->DeadCount(), 2);
  EXPECT_EQ(AuditActions().back(), audit_actions::kRedriveCompleted);
}

TEST_F(DlqApiTest, RetryAllHonoursItsLimitAndEventType) {
  broken_ = false;
  auto ids = DeadLetters(3, "boom");
  auto none = RetryAll(json::object{{"eventType", "PAYMENT_FAILED"}});
  EXPECT_EQ(GetInt(Body(none), "matched"), 0);

  auto r = RetryAll(json::object{{"eventType", "ORDER_CREATED"}, {"limit", 2}});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetInt(Body(r), "matched"), 3);
  EXPECT_EQ(GetInt(Body(r), "moved"), 2);
  EXPECT_THAT(Strings(Body(r), "messages"), ElementsAre(ids[0], ids[1]));
  EXPECT_EQ(RecordsOf(ids[2]).back().status, DeadLetterStatus::kDead);
}

TEST_F(DlqApiTest, RetryAllIsPacedToTheRedriveRate) {
  // A manager whose pacing runs on virtual time: the waits it asks for are the assertion.
  auto pacer = std::make_shared<VirtualPacer>();
  DlqOptions options;
  options.redrive_rate = 4;  // one every 250 ms
  options.pacer = pacer;
  DeadLetterManager paced(*store_, *switch_, DefaultTopology(), clock_, options);
  routes_ = DlqRoutes(paced);
  broken_ = false;
  auto ids = DeadLetters(5, "boom");

  auto r = RetryAll(json::object{});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetInt(Body(r), "moved"), 5);
  auto waits = pacer->waits();
  ASSERT_EQ(waits.size(), 5u);
  for (size_t i = 1; i < waits.size(); ++i) EXPECT_EQ(waits[i] - waits[i - 1], 250ms) << i;

  // The rate is shared: a second run right after continues the spacing.
  auto more = DeadLetters(1, "boom");
  ASSERT_EQ(RetryAll(json::object{}).status, 200);
  waits = pacer->waits();
  ASSERT_EQ(waits.size(), 6u);
  EXPECT_EQ(waits[5] - waits[4], 250ms);
  routes_ = DlqRoutes(*manager_);
}

TEST_F(DlqApiTest, RetryAllWaitsOnTheSteadyClockBetweenMessages) {
  DlqOptions options;
  options.redrive_rate = 20;  // 50 ms apart: 3 messages take at least 100 ms
  DeadLetterManager paced(*store_, *switch_, DefaultTopology(), clock_, options);
  routes_ = DlqRoutes(paced);
  broken_ = false;
  DeadLetters(3, "boom");

  const auto started = std::chrono::steady_clock::now();
  auto r = RetryAll(json::object{});
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetInt(Body(r), "moved"), 3);
  EXPECT_GE(elapsed, 95ms);  // loosely: timers never fire early, scheduling may add delay
  routes_ = DlqRoutes(*manager_);
}

TEST_F(DlqApiTest, ConcurrentRetryAllRunsReDriveEachMessageOnce) {
  broken_ = false;
  auto ids = DeadLetters(6, "boom");
  // Two runs interleaved on one io_context (as two HTTP connections would be).
  boost::asio::io_context& io = io_;
  RedriveAllRequest request;
  request.limit = 100;
  auto run = [&](Actor actor) {
    return boost::asio::co_spawn(
        io,
        [&, actor]() -> boost::asio::awaitable<std::optional<Result<json::object>>> {
          co_return co_await manager_->RedriveAll(request, actor);
        },
        boost::asio::use_future);
  };
  auto a = run(Actor{"a", "c1"});
  auto b = run(Actor{"b", "c2"});
  io.restart();
  io.run();
  auto ra = *a.get();
  auto rb = *b.get();
  ASSERT_TRUE(IsOk(ra));
  ASSERT_TRUE(IsOk(rb));
  EXPECT_EQ(GetInt(*ra, "moved") + GetInt(*rb, "moved"), 6);
  EXPECT_EQ(switch_->sends(), 6);
  for (const auto& id : ids) EXPECT_TRUE(WaitUntil([&] { return Applied(id) == 1; })) << id;
}

TEST_F(DlqApiTest, RetryAllAcceptsAnEmptyBodyOrNone) {
  auto blank = Call(ApiCall{"POST", "/api/dlq/retry-all", "", std::string(""), ""});
  EXPECT_EQ(blank.status, 200) << ToJsonText(blank.body);
  auto none = Call(ApiCall{"POST", "/api/dlq/retry-all"});
  EXPECT_EQ(none.status, 200) << ToJsonText(none.body);
  EXPECT_EQ(GetInt(Body(none), "matched"), 0);
}

TEST_F(DlqApiTest, BadRetryAllInputIs400AndWritesNothing) {
  auto ids = DeadLetters(2, "boom");
  const auto audit_before = AuditRows().size();

  auto unknown = RetryAll(json::object{{"queues", "payments"}, {"dryrun", true}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(ErrorCodeOf(unknown), "validation_failed");
  EXPECT_THAT(ErrorFields(unknown), UnorderedElementsAre("queues", "dryrun"));

  auto bad = RetryAll(json::object{{"limit", 1001},
                                   {"dryRun", "yes"},
                                   {"since", "not a time"},
                                   {"queue", "nowhere"},
                                   {"reason", 42}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(ErrorFields(bad),
              UnorderedElementsAre("limit", "dryRun", "since", "queue", "reason"));
  EXPECT_EQ(RetryAll(json::object{{"limit", 0}}).status, 400);
  EXPECT_EQ(
      RetryAll(json::object{{"since", "2026-11-29T10:00:00Z"}, {"until", "2026-11-29T09:00:00Z"}})
          .status,
      400);
  EXPECT_EQ(RetryAll(json::array{}).status, 400);

  auto malformed = Call(ApiCall{"POST", "/api/dlq/retry-all", "", std::string("{\"dryRun\":")});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorCodeOf(malformed), "malformed_json");
  auto text = Call(ApiCall{"POST", "/api/dlq/retry-all", "", std::string("dryRun"), "text/plain"});
  EXPECT_EQ(text.status, 415);

  auto retry_body =
      Call(ApiCall{"POST", "/api/dlq/:messageId/retry", ids[0], std::string("{\"force\":true}")});
  EXPECT_EQ(retry_body.status, 400);
  EXPECT_THAT(ErrorFields(retry_body), ElementsAre("force"));
  EXPECT_EQ(Retry(ids[0], {{"queue", "nowhere"}}).status, 400);

  for (const auto& id : ids) EXPECT_EQ(RecordsOf(id).back().status, DeadLetterStatus::kDead);
  EXPECT_EQ(AuditRows().size(), audit_before);
  EXPECT_EQ(switch_->sends(), 0);
}

// --- discard, 404, queue narrowing, audit log ----------------------------------------------------

TEST_F(DlqApiTest, DiscardMarksTheMessageDiscardedAndAuditsIt) {
  auto ids = DeadLetters(1, "boom");
  auto r = Discard(ids[0]);
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetString(Body(r), "messageId"), ids[0]);
  EXPECT_EQ(GetString(Body(r), "status"), "discarded");
  EXPECT_EQ(GetString(Body(r), "queue"), kPaymentsDlq);
  EXPECT_EQ(RecordsOf(ids[0]).back().status, DeadLetterStatus::kDiscarded);
  EXPECT_EQ(manager_->DeadCount(), 0);

  auto rows = AuditRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(GetString(rows[0], "action"), audit_actions::kDiscard);
  EXPECT_EQ(GetString(rows[0], "actor"), kClientAddress);
  EXPECT_THAT(Strings(rows[0], "messageIds"), ElementsAre(ids[0]));

  EXPECT_EQ(Discard(ids[0]).status, 409);
  EXPECT_EQ(Retry(ids[0]).status, 409);
  EXPECT_EQ(switch_->sends(), 0);
}

TEST_F(DlqApiTest, AnUnknownMessageIs404) {
  auto retry = Retry("01JUNKNOWN0000000000000000");
  EXPECT_EQ(retry.status, 404);
  EXPECT_EQ(ErrorCodeOf(retry), "not_found");
  EXPECT_EQ(Discard("01JUNKNOWN0000000000000000").status, 404);
  auto ids = DeadLetters(1, "boom");
  EXPECT_EQ(Retry(ids[0], {{"queue", "inventory"}}).status, 404);  // not dead in that queue
  EXPECT_TRUE(AuditRows().empty());
}

TEST_F(DlqApiTest, AQueueNarrowsAMessageDeadInTwoModules) {
  broken_ = false;
  const Envelope event = OrderEvent("ord-10000020");
  DeadLetterDirectly(event, "payments failed");
  DeadLetterDirectly(event, "inventory failed", kInventoryDlq);
  ASSERT_TRUE(WaitDead(2));
  const std::string& id = event.metadata.message_id;

  auto discarded = Discard(id, {{"queue", std::string(kInventoryDlq)}});
  ASSERT_EQ(discarded.status, 200) << ToJsonText(discarded.body);
  EXPECT_THAT(Strings(Body(discarded), "queues"), ElementsAre(kInventoryDlq));
  auto redriven = Retry(id);  // the one left
  ASSERT_EQ(redriven.status, 200) << ToJsonText(redriven.body);
  EXPECT_THAT(Strings(Body(redriven), "queues"), ElementsAre(kPaymentsDlq));
  EXPECT_TRUE(WaitUntil([&] { return Applied(id) == 1; }));
}

TEST_F(DlqApiTest, TheAuditLogListsEveryActionNewestFirst) {
  broken_ = false;
  auto ids = DeadLetters(3, "boom");
  ASSERT_EQ(Discard(ids[0]).status, 200);
  ASSERT_EQ(Retry(ids[1]).status, 200);
  ASSERT_EQ(RetryAll(json::object{{"dryRun", true}}).status, 200);
  ASSERT_EQ(RetryAll(json::object{}).status, 200);

  auto r = Call(ApiCall{"GET", "/api/dlq/audit"});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetInt(Body(r), "total"), 6);
  std::vector<std::string> actions;
  for (const auto& row : *GetArray(Body(r), "data")) {
    actions.push_back(GetString(row.as_object(), "action"));
  }
  EXPECT_THAT(actions,
              ElementsAre(audit_actions::kRedriveCompleted, audit_actions::kRedriveAll,
                          audit_actions::kRedriveAllDryRun, audit_actions::kRedriveCompleted,
                          audit_actions::kRedrive, audit_actions::kDiscard));

  auto discards = Call(ApiCall{"GET",
                               "/api/dlq/audit",
                               "",
                               std::nullopt,
                               "",
                               {{"action", std::string(audit_actions::kDiscard)}}});
  EXPECT_EQ(GetInt(Body(discards), "total"), 1);
  auto bad = Call(ApiCall{"GET", "/api/dlq/audit", "", std::nullopt, "", {{"limit", "501"}}});
  EXPECT_EQ(bad.status, 400);
}

}  // namespace
}  // namespace shopflow::monitor::testing
