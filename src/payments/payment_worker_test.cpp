#include "payments/payment_worker.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "events/event_types.hpp"
#include "payments/payments_test_support.hpp"
#include "payments/run_blocking.hpp"

namespace shopflow::payments::testing {
namespace {

using Types_ = std::vector<std::string>;

class PaymentWorkerTest : public PaymentsTest {
 protected:
  PaymentsOptions Options() {
    PaymentsOptions options;
    options.auto_confirm_delay = std::chrono::minutes(10);
    options.stall_timeout = std::chrono::seconds(30);
    options.scan_interval = std::chrono::milliseconds(5);
    return options;
  }

  /// The order's payment ended as `status` (with `reason`), its last event `event_type`.
  void ExpectEnded(const std::string& order_id, PaymentStatus status, const std::string& reason,
                   const std::string& event_type) {
    auto payment = PaymentOf(order_id);
    ASSERT_TRUE(payment.has_value());
    EXPECT_EQ(payment->status, status) << order_id;
    EXPECT_EQ(payment->failure_reason, reason) << order_id;
    EXPECT_FALSE(payment->metadata.contains(kGatewayRetryAtKey)) << order_id;
    EXPECT_EQ(OutboxFor(order_id).back().event_type, event_type) << order_id;
  }
};

// --- pix / boleto auto-confirm -------------------------------------------------------------------

TEST_F(PaymentWorkerTest, AutoConfirmSucceedsPixOnceTheDelayPassedOnTheInjectedClock) {
  PaymentWorker worker(*store_, gateway_, clock_, Options());
  worker.Start();
  Deliver(OrderEvent(events::kOrderCreated,
                     {.order_id = "o1", .method = "pix", .correlation_id = "corr-pix"},
                     clock_.Now()));
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o2", .method = "boleto"}, clock_.Now()));
  Deliver(
      OrderEvent(events::kOrderCreated, {.order_id = "o3", .method = "credit_card"}, clock_.Now()));

  clock_.Advance(std::chrono::minutes(9));
  auto early = worker.ConfirmDue();
  ASSERT_TRUE(IsOk(early));
  EXPECT_EQ(*early, 0);
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kProcessing);

  clock_.Advance(std::chrono::minutes(1));
  worker.Wake();
  ASSERT_TRUE(WaitUntil([&] {
    return PaymentOf("o1")->status == PaymentStatus::kSucceeded &&
           PaymentOf("o2")->status == PaymentStatus::kSucceeded;
  }));
  worker.Stop();
  auto pix = *PaymentOf("o1");
  EXPECT_EQ(pix.processed_at, clock_.Now());
  auto events = OutboxFor("o1");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back().event_type, "PAYMENT_SUCCEEDED");
  EXPECT_EQ(events.back().metadata.correlation_id, "corr-pix");
  EXPECT_EQ(OutboxFor("o3").size(), 3u) << "the card payment was touched";
}

TEST_F(PaymentWorkerTest, AutoConfirmIsOffByDefault) {
  PaymentsOptions options;
  PaymentWorker worker(*store_, gateway_, clock_, options);
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  clock_.Advance(std::chrono::hours(24 * 30));
  auto confirmed = worker.RunOnce();
  ASSERT_TRUE(IsOk(confirmed));
  EXPECT_EQ(*confirmed, 0);
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kProcessing);
}

TEST_F(PaymentWorkerTest, AutoConfirmLeavesPaymentsSettledMeanwhileAlone) {
  PaymentWorker worker(*store_, gateway_, clock_, Options());
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  Deliver(OrderEvent(events::kOrderCancelled, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  clock_.Advance(std::chrono::hours(1));
  auto confirmed = worker.ConfirmDue();
  ASSERT_TRUE(IsOk(confirmed));
  EXPECT_EQ(*confirmed, 0);
  EXPECT_EQ(PaymentOf("o1")->failure_reason, "order_cancelled");
}

// --- two phases (gateway latency) ----------------------------------------------------------------

TEST_F(PaymentWorkerTest, WithLatencyTheGatewayIsCalledBetweenTwoWrites) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kHold);
  const Envelope created = OrderEvent(
      events::kOrderCreated, {.order_id = "o1", .card_number = "4000000000000002"}, clock_.Now());
  Publish(created);
  ASSERT_TRUE(gateway_.WaitHeld(1));

  // Phase 1 is committed while the gateway is being asked, and the store's writer is free.
  auto payment = PaymentOf("o1");
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kProcessing);
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING"}));
  EXPECT_TRUE(IsOk(WriteAndWait(*store_, [](Transaction& txn) {
    return txn.Insert("idempotency_keys", "probe", json::object{{"probe", true}});
  })));

  gateway_.Release();
  ASSERT_TRUE(WaitHandled(1));
  EXPECT_EQ(Outcomes().back().kind, HandlerOutcome::Kind::kAck);
  payment = PaymentOf("o1");
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->failure_reason, "card_declined");
  auto events = Outbox();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].event_type, "PAYMENT_FAILED");
  for (const auto& e : events) EXPECT_EQ(e.metadata.causation_id, created.metadata.message_id);

  // Redelivery after both phases: nothing new.
  Deliver(created);
  EXPECT_EQ(Outbox().size(), 3u);
}

TEST_F(PaymentWorkerTest, ACancelThatWinsTheRaceWithTheGatewayIsKept) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kHold);
  Publish(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  ASSERT_TRUE(gateway_.WaitHeld(1));
  // A second consumer (another thread or process) applies the cancel meanwhile.
  Delivery cancel;
  cancel.queue = std::string(PaymentEventHandler::kQueue);
  cancel.envelope = OrderEvent(events::kOrderCancelled, {.order_id = "o1"}, clock_.Now());
  EXPECT_EQ(handler_->Handle(cancel).kind, HandlerOutcome::Kind::kAck);
  gateway_.Release();
  ASSERT_TRUE(WaitHandled(1));
  auto payment = PaymentOf("o1");
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->failure_reason, "order_cancelled");
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_FAILED"}));
}

TEST_F(PaymentWorkerTest, RealGatewayLatencyThroughTheApiAndTheSaga) {
  SimulatedGateway slow(std::chrono::milliseconds(20));
  PaymentService service(*store_, orders_, slow, clock_);
  PendingOrder("o1");
  auto processed = RunBlocking([&] {
    return service.Process(json::object{{"orderId", "o1"}}, RequestContext{"corr-x", "key-1"});
  });
  ASSERT_TRUE(IsOk(processed));
  EXPECT_EQ(GetString(*processed, "status"), "succeeded");
  auto again = RunBlocking([&] {
    return service.Process(json::object{{"orderId", "o1"}}, RequestContext{"corr-x", "key-1"});
  });
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(*again, *processed);
  EXPECT_EQ(OutboxTypes(),
            (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_SUCCEEDED"}));

  PaymentEventHandler handler(*store_, slow, clock_);
  Delivery delivery;
  delivery.queue = std::string(PaymentEventHandler::kQueue);
  delivery.envelope = OrderEvent(
      events::kOrderCreated, {.order_id = "o2", .card_number = "4000000000009995"}, clock_.Now());
  EXPECT_EQ(handler.Handle(delivery).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(PaymentOf("o2")->failure_reason, "insufficient_funds");
}

TEST_F(PaymentWorkerTest, AKeyedRepeatWhileTheFirstIsAtTheGatewayCreatesNothing) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kHold);
  PendingOrder("o1");
  const json::object body{{"orderId", "o1"}};
  auto first = std::async(std::launch::async, [&] {
    return Post("/api/payments/process", "", body, {{"idempotency-key", "k"}});
  });
  ASSERT_TRUE(gateway_.WaitHeld(1));
  auto repeat = Post("/api/payments/process", "", body, {{"idempotency-key", "k"}});
  EXPECT_EQ(repeat.status, 201);
  EXPECT_EQ(GetString(repeat.body.as_object(), "status"), "processing");
  gateway_.Release();
  auto answered = first.get();
  ASSERT_EQ(answered.status, 201);
  EXPECT_EQ(GetString(answered.body.as_object(), "status"), "succeeded");
  EXPECT_EQ(GetString(answered.body.as_object(), "paymentId"),
            GetString(repeat.body.as_object(), "paymentId"));
  auto later = Post("/api/payments/process", "", body, {{"idempotency-key", "k"}});
  EXPECT_EQ(later.body, answered.body);
  EXPECT_EQ(gateway_.charges(), 1);
  EXPECT_EQ(Docs(kPaymentsCollection).size(), 1u);
  EXPECT_EQ(Outbox().size(), 3u);
}

// --- recovery ------------------------------------------------------------------------------------

TEST_F(PaymentWorkerTest, RecoverStalledAppliesTheAnswerTheGatewayGaveBeforeTheCrash) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kCrashAfterCharge);
  Deliver(
      OrderEvent(events::kOrderCreated,
                 {.order_id = "o1", .card_number = "4000000000000002", .correlation_id = "corr-9"},
                 clock_.Now()));
  EXPECT_EQ(Outcomes().back().kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kProcessing);

  PaymentWorker worker(*store_, gateway_, clock_, Options());
  auto too_early = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(too_early));
  EXPECT_EQ(*too_early, 0) << "a charge may still be at the gateway";
  clock_.Advance(std::chrono::seconds(30));
  auto recovered = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(recovered));
  EXPECT_EQ(*recovered, 1);
  auto payment = PaymentOf("o1");
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->failure_reason, "card_declined");
  EXPECT_EQ(payment->transaction_id, gateway_.Lookup(payment->payment_id)->transaction_id);
  auto events = Outbox();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back().event_type, "PAYMENT_FAILED");
  EXPECT_EQ(events.back().metadata.correlation_id, "corr-9");
  // Idempotent.
  recovered = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(recovered));
  EXPECT_EQ(*recovered, 0);
  EXPECT_EQ(Outbox().size(), 3u);
}

TEST_F(PaymentWorkerTest, RecoverStalledFailsAChargeTheGatewayNeverSaw) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kCrashBeforeCharge);
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .card_number = "4242424242424242"},
                     clock_.Now()));
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o-pix", .method = "pix"}, clock_.Now()));
  clock_.Advance(std::chrono::minutes(1));
  PaymentWorker worker(*store_, gateway_, clock_, PaymentsOptions{});
  auto recovered = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(recovered));
  EXPECT_EQ(*recovered, 1);
  auto payment = PaymentOf("o1");
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->failure_reason, "processing_interrupted");
  EXPECT_EQ(OutboxFor("o1").back().event_type, "PAYMENT_FAILED");
  EXPECT_EQ(PaymentOf("o-pix")->status, PaymentStatus::kProcessing)
      << "pix waits for the bank, it is not stalled";
}

TEST_F(PaymentWorkerTest, TheWorkerThreadRecoversStalledPaymentsAndStopsCleanly) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kCrashAfterCharge);
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  auto worker = std::make_unique<PaymentWorker>(*store_, gateway_, clock_, Options());
  worker->Start();
  worker->Start();  // idempotent
  clock_.Advance(std::chrono::seconds(31));
  worker->Wake();
  ASSERT_TRUE(WaitUntil([&] { return PaymentOf("o1")->status == PaymentStatus::kSucceeded; }));
  worker->Stop();
  worker->Stop();  // idempotent
  worker.reset();
  EXPECT_EQ(OutboxFor("o1").back().event_type, "PAYMENT_SUCCEEDED");
}

// --- charges the gateway left unanswered --------------------------------------------------------

TEST_F(PaymentWorkerTest, AChargeTheGatewayLeftUnansweredIsSentAgainWithBackoffUntilAnswered) {
  gateway_.set_mode(ScriptedGateway::Mode::kDown);
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .card_number = "4242424242424242"},
                     clock_.Now()));
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o2", .card_number = "4000000000000002"},
                     clock_.Now()));
  EXPECT_EQ(Outcomes().back().kind, HandlerOutcome::Kind::kAck) << "the event is applied";
  auto waiting = *PaymentOf("o1");
  EXPECT_EQ(waiting.status, PaymentStatus::kProcessing);
  EXPECT_EQ(GetInt(waiting.metadata, kGatewayAttemptsKey), 1);
  EXPECT_EQ(GetString(waiting.metadata, kGatewayErrorKey), ScriptedGateway::kDownReason);
  EXPECT_EQ(GetString(waiting.metadata, kGatewayRetryAtKey),
            FormatRfc3339(clock_.Now() + std::chrono::seconds(1)));
  EXPECT_EQ(GetString(waiting.metadata, kCardTokenKey), "tok_ok_visa_4242");
  EXPECT_EQ(ToJsonText(waiting.ToJson()).find("4242424242424242"), std::string::npos);

  PaymentWorker worker(*store_, gateway_, clock_, Options());
  const int charges = gateway_.charges();
  auto early = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(early));
  EXPECT_EQ(*early, 0);
  EXPECT_EQ(gateway_.charges(), charges) << "not due yet: the gateway is not asked";

  clock_.Advance(std::chrono::seconds(1));
  auto still_down = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(still_down));
  EXPECT_EQ(*still_down, 0);
  EXPECT_EQ(gateway_.charges(), charges + 2);
  waiting = *PaymentOf("o1");
  EXPECT_EQ(waiting.status, PaymentStatus::kProcessing);
  EXPECT_EQ(GetInt(waiting.metadata, kGatewayAttemptsKey), 2);
  EXPECT_EQ(GetString(waiting.metadata, kGatewayRetryAtKey),
            FormatRfc3339(clock_.Now() + std::chrono::seconds(2)))
      << "the delay doubles";

  gateway_.set_mode(ScriptedGateway::Mode::kPass);
  clock_.Advance(std::chrono::seconds(2));
  auto answered = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(answered));
  EXPECT_EQ(*answered, 2);
  ExpectEnded("o1", PaymentStatus::kSucceeded, "", "PAYMENT_SUCCEEDED");
  auto paid = *PaymentOf("o1");
  EXPECT_EQ(paid.transaction_id, gateway_.Lookup(paid.payment_id)->transaction_id);
  // The kept token still says declined.
  ExpectEnded("o2", PaymentStatus::kFailed, "card_declined", "PAYMENT_FAILED");

  auto again = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(*again, 0) << "settled once";
  EXPECT_EQ(OutboxFor("o1").size(), 3u);
}

TEST_F(PaymentWorkerTest, ChargesDueAfterAnOutageAreSentAgainTogether) {
  gateway_.set_mode(ScriptedGateway::Mode::kDown);
  const std::vector<std::string> orders{"o1", "o2", "o3", "o4"};
  for (const auto& id : orders) {
    Deliver(OrderEvent(events::kOrderCreated, {.order_id = id}, clock_.Now()));
  }
  PaymentWorker worker(*store_, gateway_, clock_, Options());
  // The gateway is back, and slow: every charge waits until released.
  gateway_.set_mode(ScriptedGateway::Mode::kHold);
  clock_.Advance(std::chrono::seconds(1));
  auto recovered = std::async(std::launch::async, [&] { return worker.RecoverStalled(); });
  // All at the gateway at the same time: one charge after another would never get past one.
  const bool together = gateway_.WaitHeld(static_cast<int>(orders.size()));
  gateway_.Release();
  auto changed = recovered.get();
  EXPECT_TRUE(together) << "the due charges were sent one after another";
  ASSERT_TRUE(IsOk(changed));
  EXPECT_EQ(*changed, 4);
  for (const auto& id : orders) ExpectEnded(id, PaymentStatus::kSucceeded, "", "PAYMENT_SUCCEEDED");
}

TEST_F(PaymentWorkerTest, APaymentTheGatewayNeverAnswersFailsAfterTheGiveUpTime) {
  gateway_.set_mode(ScriptedGateway::Mode::kDown);
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  PaymentsOptions options = Options();
  options.gateway_give_up = std::chrono::minutes(5);
  PaymentWorker worker(*store_, gateway_, clock_, options);
  clock_.Advance(std::chrono::minutes(4));
  ASSERT_TRUE(IsOk(worker.RecoverStalled()));
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kProcessing);
  clock_.Advance(std::chrono::minutes(1));
  auto gave_up = worker.RecoverStalled();
  ASSERT_TRUE(IsOk(gave_up));
  EXPECT_EQ(*gave_up, 1);
  ExpectEnded("o1", PaymentStatus::kFailed, "gateway_unavailable", "PAYMENT_FAILED");
}

TEST_F(PaymentWorkerTest, APixRegistrationTheGatewayLeftUnansweredIsRetriedNotConfirmed) {
  gateway_.set_mode(ScriptedGateway::Mode::kDown);
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  PaymentWorker worker(*store_, gateway_, clock_, Options());
  gateway_.set_mode(ScriptedGateway::Mode::kPass);
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(IsOk(worker.RunOnce()));
  auto registered = *PaymentOf("o1");
  EXPECT_EQ(registered.status, PaymentStatus::kProcessing) << "pix waits for the bank";
  EXPECT_FALSE(registered.transaction_id.empty());
  EXPECT_FALSE(registered.metadata.contains(kGatewayRetryAtKey));
  clock_.Advance(std::chrono::minutes(10));
  ASSERT_TRUE(IsOk(worker.ConfirmDue()));
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kSucceeded);
}

}  // namespace
}  // namespace shopflow::payments::testing
