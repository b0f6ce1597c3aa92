#include "payments/payment_events.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "events/event_types.hpp"
#include "payments/payments_test_support.hpp"
#include "storage/outbox_relay.hpp"

namespace shopflow::payments::testing {
namespace {

std::vector<std::string> Types(const std::vector<Envelope>& events) {
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.event_type);
  return types;
}

using Types_ = std::vector<std::string>;

class PaymentSagaTest : public PaymentsTest {};

TEST_F(PaymentSagaTest, OrderCreatedChargesTheCardAndPublishesTheStepsInOrder) {
  const Envelope created = OrderEvent(
      events::kOrderCreated, {.order_id = "o1", .card_number = "4242424242424242"}, clock_.Now());
  Deliver(created);
  EXPECT_EQ(Outcomes().back().kind, HandlerOutcome::Kind::kAck);

  auto payment = PaymentOf("o1");
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kSucceeded);
  EXPECT_EQ(payment->amount, Money::FromCents(5990));
  EXPECT_EQ(payment->method, "credit_card");
  EXPECT_TRUE(payment->transaction_id.starts_with("txn_"));
  EXPECT_EQ(payment->processed_at, clock_.Now());
  EXPECT_EQ(payment->customer_id(), "cust-1");
  EXPECT_EQ(GetString(payment->metadata, "correlationId"), "corr-1");
  EXPECT_EQ(GetString(payment->metadata, "cardLast4"), "4242");

  auto events = Outbox();
  ASSERT_EQ(Types(events),
            (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_SUCCEEDED"}));
  const char* statuses[] = {"requested", "processing", "succeeded"};
  for (size_t i = 0; i < events.size(); ++i) {
    const Envelope& e = events[i];
    EXPECT_EQ(e.metadata.causation_id, created.metadata.message_id);
    EXPECT_EQ(e.metadata.correlation_id, "corr-1");
    EXPECT_EQ(e.metadata.source, "payments");
    EXPECT_EQ(GetString(e.data, "status"), statuses[i]);
    EXPECT_EQ(GetString(e.data, "paymentId"), payment->payment_id);
    EXPECT_EQ(GetString(e.data, "orderId"), "o1");
    EXPECT_EQ(GetString(e.data, "customerId"), "cust-1");
    EXPECT_EQ(ToJsonText(e.data.at("amount")), "59.9");
  }
  EXPECT_EQ(events.back().data, [&] {
    json::object data = payment->ToJson();
    data["customerId"] = "cust-1";
    return data;
  }());
}

struct DeclineCase {
  std::string card;
  std::string reason;
};

void PrintTo(const DeclineCase& c, std::ostream* os) { *os << c.card << " -> " << c.reason; }

class PaymentSagaDeclineTest : public PaymentsTest,
                               public ::testing::WithParamInterface<DeclineCase> {};

TEST_P(PaymentSagaDeclineTest, DeclinedCardFailsThePaymentWithTheGatewayReason) {
  Deliver(OrderEvent(events::kOrderCreated,
                     {.order_id = "o1", .method = "debit_card", .card_number = GetParam().card},
                     clock_.Now()));
  auto payment = PaymentOf("o1");
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->failure_reason, GetParam().reason);
  EXPECT_TRUE(payment->processed_at.has_value());
  auto events = Outbox();
  ASSERT_EQ(Types(events), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_FAILED"}));
  EXPECT_EQ(GetString(events.back().data, "failureReason"), GetParam().reason);
  EXPECT_EQ(GetString(events.back().data, "status"), "failed");
}

INSTANTIATE_TEST_SUITE_P(TestCards, PaymentSagaDeclineTest,
                         ::testing::Values(DeclineCase{"4000000000000002", "card_declined"},
                                           DeclineCase{"4000000000009995", "insufficient_funds"}));

TEST_F(PaymentSagaTest, TheSameOrderCreatedTwiceMakesOnePaymentAndOneSetOfEvents) {
  const Envelope created = OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now());
  Publish(created);
  Publish(created);
  ASSERT_TRUE(WaitHandled(2));
  for (const auto& outcome : Outcomes()) EXPECT_EQ(outcome.kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(Docs(kPaymentsCollection).size(), 1u);
  EXPECT_EQ(OutboxTypes(),
            (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_SUCCEEDED"}));
}

TEST_F(PaymentSagaTest, OrderCancelledAfterSuccessRefunds) {
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  clock_.Advance(5s);
  const Envelope cancelled = OrderEvent(
      events::kOrderCancelled, {.order_id = "o1", .correlation_id = "corr-2"}, clock_.Now());
  Deliver(cancelled);
  auto payment = PaymentOf("o1");
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kRefunded);
  EXPECT_EQ(GetString(payment->metadata, "refundReason"), "order_cancelled");
  auto events = Outbox();
  ASSERT_EQ(events.size(), 4u);
  const Envelope& refunded = events.back();
  EXPECT_EQ(refunded.event_type, "PAYMENT_REFUNDED");
  EXPECT_EQ(GetString(refunded.data, "reason"), "order_cancelled");
  EXPECT_EQ(GetString(refunded.data, "status"), "refunded");
  EXPECT_EQ(GetString(refunded.data, "customerId"), "cust-1");
  EXPECT_EQ(refunded.metadata.causation_id, cancelled.metadata.message_id);
  EXPECT_EQ(refunded.metadata.correlation_id, "corr-2");

  // Cancelled again (redelivered under a new id, or ORDER_FAILED later): nothing to undo.
  Deliver(OrderEvent(events::kOrderFailed, {.order_id = "o1"}, clock_.Now()));
  EXPECT_EQ(Outbox().size(), 4u);
}

TEST_F(PaymentSagaTest, OrderCancelledBeforeCreatedLeavesATombstoneSoNothingIsCharged) {
  Deliver(OrderEvent(events::kOrderCancelled, {.order_id = "o1"}, clock_.Now()));
  auto tombstone = PaymentOf("o1");
  ASSERT_TRUE(tombstone.has_value());
  EXPECT_EQ(tombstone->status, PaymentStatus::kFailed);
  EXPECT_EQ(tombstone->failure_reason, "order_cancelled");
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_FAILED"}));

  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  EXPECT_EQ(Outcomes().back().kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(gateway_.charges(), 0);
  EXPECT_EQ(Docs(kPaymentsCollection).size(), 1u);
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kFailed);
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_FAILED"}));
}

TEST_F(PaymentSagaTest, OrderFailedRefundsASucceededCharge) {
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  Deliver(OrderEvent(events::kOrderFailed, {.order_id = "o1"}, clock_.Now()));
  auto payment = PaymentOf("o1");
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kRefunded);
  auto events = Outbox();
  ASSERT_EQ(events.back().event_type, "PAYMENT_REFUNDED");
  EXPECT_EQ(GetString(events.back().data, "reason"), "order_failed");
}

TEST_F(PaymentSagaTest, OrderFailedAfterADeclineChangesNothing) {
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .card_number = "4000000000000002"},
                     clock_.Now()));
  Deliver(OrderEvent(events::kOrderFailed, {.order_id = "o1"}, clock_.Now()));
  EXPECT_EQ(PaymentOf("o1")->failure_reason, "card_declined");
  EXPECT_EQ(Outbox().size(), 3u);
}

TEST_F(PaymentSagaTest, PixStaysProcessingAndACancelFailsIt) {
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  auto payment = PaymentOf("o1");
  ASSERT_TRUE(payment.has_value());
  EXPECT_EQ(payment->status, PaymentStatus::kProcessing);
  EXPECT_TRUE(payment->transaction_id.starts_with("txn_"));
  EXPECT_FALSE(payment->processed_at.has_value());
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING"}));

  Deliver(OrderEvent(events::kOrderCancelled, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  payment = PaymentOf("o1");
  EXPECT_EQ(payment->status, PaymentStatus::kFailed);
  EXPECT_EQ(payment->failure_reason, "order_cancelled");
  auto events = Outbox();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back().event_type, "PAYMENT_FAILED");
  EXPECT_EQ(GetString(events.back().data, "failureReason"), "order_cancelled");
}

TEST_F(PaymentSagaTest, OtherEventsAreAcknowledgedUntouched) {
  Delivery delivery;
  delivery.envelope = OrderEvent(events::kOrderUpdated, {.order_id = "o1"}, clock_.Now());
  delivery.queue = std::string(PaymentEventHandler::kQueue);
  EXPECT_EQ(handler_->Handle(delivery).kind, HandlerOutcome::Kind::kAck);
  delivery.envelope = OrderEvent(events::kOrderConfirmed, {.order_id = "o1"}, clock_.Now());
  EXPECT_EQ(handler_->Handle(delivery).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(Counts(), StoredCounts{});
}

TEST_F(PaymentSagaTest, UnusableOrderEventsAreDeadLetteredWithoutEffect) {
  Delivery delivery;
  delivery.queue = std::string(PaymentEventHandler::kQueue);
  delivery.envelope = OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now());
  delivery.envelope.data.erase("orderId");
  EXPECT_EQ(handler_->Handle(delivery).kind, HandlerOutcome::Kind::kDeadLetter);

  delivery.envelope = OrderEvent(events::kOrderCreated, {.order_id = "o2"}, clock_.Now());
  delivery.envelope.data["totalAmount"] = -1;
  EXPECT_EQ(handler_->Handle(delivery).kind, HandlerOutcome::Kind::kDeadLetter);

  delivery.envelope =
      OrderEvent(events::kOrderCreated, {.order_id = "o3", .method = "cash"}, clock_.Now());
  EXPECT_EQ(handler_->Handle(delivery).kind, HandlerOutcome::Kind::kDeadLetter);

  delivery.envelope = OrderEvent(events::kOrderCreated, {.order_id = "o4"}, clock_.Now());
  delivery.envelope.metadata.version = "2";
  EXPECT_EQ(handler_->Handle(delivery).kind, HandlerOutcome::Kind::kDeadLetter);
  EXPECT_EQ(Counts(), StoredCounts{});
}

Delivery ToPayments(Envelope envelope) {
  Delivery delivery;
  delivery.queue = std::string(PaymentEventHandler::kQueue);
  delivery.envelope = std::move(envelope);
  return delivery;
}

using Kinds = std::vector<HandlerOutcome::Kind>;

Kinds KindsOf(const std::vector<HandlerOutcome>& outcomes) {
  Kinds kinds;
  for (const auto& o : outcomes) kinds.push_back(o.kind);
  return kinds;
}

constexpr auto kAck = HandlerOutcome::Kind::kAck;
constexpr auto kDeadLetter = HandlerOutcome::Kind::kDeadLetter;

TEST_F(PaymentSagaTest, ABatchAnswersEachDeliveryAndAPoisonOneHoldsNothingBack) {
  std::vector<Delivery> batch;
  batch.push_back(ToPayments(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now())));
  batch.push_back(ToPayments(OrderEvent(
      events::kOrderCreated, {.order_id = "o2", .card_number = "4000000000000002"}, clock_.Now())));
  batch.push_back(ToPayments(OrderEvent(events::kOrderUpdated, {.order_id = "o1"}, clock_.Now())));
  batch.push_back(ToPayments(OrderEvent(events::kOrderCreated, {.order_id = "o3"}, clock_.Now())));
  batch.back().envelope.metadata.version = "2";
  batch.push_back(ToPayments(OrderEvent(events::kOrderCreated, {.order_id = "o4"}, clock_.Now())));
  batch.back().envelope.data.erase("orderId");
  batch.push_back(
      ToPayments(OrderEvent(events::kOrderCancelled, {.order_id = "o5"}, clock_.Now())));

  EXPECT_EQ(KindsOf(handler_->HandleBatch(batch)),
            (Kinds{kAck, kAck, kAck, kDeadLetter, kDeadLetter, kAck}));
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kSucceeded);
  EXPECT_EQ(PaymentOf("o2")->failure_reason, "card_declined");
  EXPECT_FALSE(PaymentOf("o3").has_value());
  EXPECT_EQ(PaymentOf("o5")->status, PaymentStatus::kFailed);  // a tombstone
  EXPECT_EQ(Docs(kPaymentsCollection).size(), 3u);
  EXPECT_EQ(Outbox().size(), 7u);

  // The same batch again (a redelivery): every effect is already applied.
  EXPECT_EQ(KindsOf(handler_->HandleBatch(batch)),
            (Kinds{kAck, kAck, kAck, kDeadLetter, kDeadLetter, kAck}));
  EXPECT_EQ(Outbox().size(), 7u);
  EXPECT_EQ(gateway_.charges(), 2);
}

TEST_F(PaymentSagaTest, ALaterDeliveryOfABatchSeesAnEarlierOnesPayment) {
  const Envelope created = OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now());
  Envelope again = created;  // the same order announced twice, under another messageId
  again.metadata.message_id = "another-id";
  const std::vector<Delivery> batch{
      ToPayments(created), ToPayments(again), ToPayments(created),
      ToPayments(OrderEvent(events::kOrderCancelled, {.order_id = "o1"}, clock_.Now()))};
  EXPECT_EQ(KindsOf(handler_->HandleBatch(batch)), (Kinds{kAck, kAck, kAck, kAck}));
  EXPECT_EQ(Docs(kPaymentsCollection).size(), 1u);
  EXPECT_EQ(gateway_.charges(), 1);
  EXPECT_EQ(PaymentOf("o1")->status, PaymentStatus::kRefunded);
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_SUCCEEDED",
                                   "PAYMENT_REFUNDED"}));
}

TEST_F(PaymentSagaTest, ABatchsChargesAreAtTheGatewayTogether) {
  gateway_.set_instant(false);
  gateway_.set_mode(ScriptedGateway::Mode::kHold);
  std::vector<Delivery> batch;
  for (const char* id : {"o1", "o2", "o3"}) {
    batch.push_back(ToPayments(OrderEvent(events::kOrderCreated, {.order_id = id}, clock_.Now())));
  }
  // A poison delivery makes the batch's transaction fail, so the others are applied again one
  // by one: their charges are still sent, once each.
  batch.push_back(ToPayments(OrderEvent(events::kOrderCreated, {.order_id = "o4"}, clock_.Now())));
  batch.back().envelope.data["totalAmount"] = "lots";
  std::vector<HandlerOutcome> outcomes;
  std::thread consumer([&] { outcomes = handler_->HandleBatch(batch); });
  // Held at the gateway all at once: one charge at a time would never get past the first.
  const bool together = gateway_.WaitHeld(3);
  EXPECT_EQ(PaymentOf("o2")->status, PaymentStatus::kProcessing);
  gateway_.Release();
  consumer.join();
  EXPECT_TRUE(together) << "the charges were sent one after another";
  EXPECT_EQ(KindsOf(outcomes), (Kinds{kAck, kAck, kAck, kDeadLetter}));
  EXPECT_EQ(gateway_.charges(), 3);
  for (const char* id : {"o1", "o2", "o3"}) {
    EXPECT_EQ(PaymentOf(id)->status, PaymentStatus::kSucceeded) << id;
    EXPECT_EQ(OutboxFor(id).back().event_type, "PAYMENT_SUCCEEDED") << id;
  }
}

TEST_F(PaymentSagaTest, EventsReachTheOrdersQueueThroughTheOutboxRelay) {
  std::mutex mutex;
  std::vector<Delivery> received;
  bus_->Subscribe("orders.events.queue",
                  [&](const Delivery& d) {
                    std::lock_guard lock(mutex);
                    received.push_back(d);
                    return HandlerOutcome::Ack();
                  },
                  {});
  OutboxRelay relay(*store_, *bus_);
  relay.Start();
  const Envelope created = OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now());
  Publish(created);
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mutex);
    return received.size() >= 3;
  }));
  relay.Stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].envelope.event_type, "PAYMENT_REQUESTED");
  EXPECT_EQ(received[0].routing_key, "payment.requested");
  EXPECT_EQ(received[1].envelope.event_type, "PAYMENT_PROCESSING");
  EXPECT_EQ(received[2].envelope.event_type, "PAYMENT_SUCCEEDED");
  for (const auto& d : received) {
    EXPECT_EQ(d.envelope.metadata.causation_id, created.metadata.message_id);
    EXPECT_EQ(d.envelope.metadata.correlation_id, "corr-1");
  }
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(PaymentSagaTest, FullCardNumbersAreNeverStored) {
  const std::string cards[] = {"4242424242424242", "4000000000000002", "4000000000009995",
                               "5555444433331111"};
  for (size_t i = 0; i < 3; ++i) {
    Deliver(OrderEvent(events::kOrderCreated,
                       {.order_id = "o" + std::to_string(i), .card_number = cards[i]},
                       clock_.Now()));
  }
  PendingOrder("o-api");
  auto answer = Post("/api/payments/process", "",
                     json::object{{"orderId", "o-api"},
                                  {"paymentDetails", json::object{{"cardNumber", cards[3]},
                                                                  {"cvv", "SECRET-CVV-731"}}}},
                     {{"idempotency-key", "k1"}});
  ASSERT_EQ(answer.status, 201) << ToJsonText(answer.body);
  EXPECT_EQ(GetString(*GetObject(answer.body.as_object(), "metadata"), "cardLast4"), "1111");

  std::string stored;
  for (const char* collection : {"payments", "idempotency_keys"}) {
    for (const auto& doc : Docs(collection)) stored += ToJsonText(doc);
  }
  for (const auto& e : Outbox()) stored += SerializeEnvelope(e);
  stored += ToJsonText(answer.body);
  std::string raw;  // the database files themselves, pages and WAL
  for (const char* suffix : {"", "-wal"}) raw += ReadFile(db_path_.string() + suffix);
  for (const auto& card : cards) {
    EXPECT_EQ(stored.find(card), std::string::npos) << card << " was stored";
    EXPECT_EQ(raw.find(card), std::string::npos) << card << " is in the database file";
    EXPECT_NE(stored.find("\"cardLast4\":\"" + card.substr(12) + "\""), std::string::npos)
        << "last four of " << card;
  }
  EXPECT_EQ(stored.find("cvv"), std::string::npos) << "the CVV was stored";
  EXPECT_EQ(stored.find("SECRET-CVV"), std::string::npos) << "the CVV was stored";
  EXPECT_EQ(raw.find("SECRET-CVV"), std::string::npos) << "the CVV is in the database file";
}

}  // namespace
}  // namespace shopflow::payments::testing
