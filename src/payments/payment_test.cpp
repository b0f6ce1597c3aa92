#include "payments/payment.hpp"

#include <gtest/gtest.h>

namespace shopflow::payments {
namespace {

const PaymentStatus kAll[] = {PaymentStatus::kRequested, PaymentStatus::kProcessing,
                              PaymentStatus::kSucceeded, PaymentStatus::kFailed,
                              PaymentStatus::kRefunded};

Payment PaymentIn(PaymentStatus status) {
  Payment p;
  p.payment_id = "pay1";
  p.order_id = "o1";
  p.status = status;
  return p;
}

TEST(PaymentStateMachine, AllowsExactlyTheContractTransitions) {
  using S = PaymentStatus;
  auto allowed = [](S from, S to) {
    return (from == S::kRequested && (to == S::kProcessing || to == S::kFailed)) ||
           (from == S::kProcessing && (to == S::kSucceeded || to == S::kFailed)) ||
           (from == S::kSucceeded && to == S::kRefunded);
  };
  int allowed_count = 0;
  for (auto from : kAll) {
    for (auto to : kAll) {
      Payment p = PaymentIn(from);
      const Payment before = p;
      EXPECT_EQ(IsAllowedTransition(from, to), allowed(from, to))
          << StatusName(from) << " -> " << StatusName(to);
      auto r = Transition(p, to, FromUnixMillis(5), "why");
      EXPECT_EQ(r.ok(), allowed(from, to)) << StatusName(from) << " -> " << StatusName(to);
      if (r.ok()) {
        ++allowed_count;
        EXPECT_EQ(p.status, to);
      } else {
        EXPECT_EQ(r.error().code, ErrorCode::kConflict);
        EXPECT_EQ(p.ToJson(), before.ToJson()) << "a refused transition changed the payment";
      }
    }
  }
  EXPECT_EQ(allowed_count, 5);
}

TEST(PaymentStateMachine, RecordsWhatEachStatusImplies) {
  const TimePoint now = FromUnixMillis(1'795'000'000'123);
  Payment p = PaymentIn(PaymentStatus::kRequested);
  ASSERT_TRUE(Transition(p, PaymentStatus::kProcessing, now).ok());
  EXPECT_FALSE(p.processed_at.has_value());
  ASSERT_TRUE(Transition(p, PaymentStatus::kSucceeded, now).ok());
  EXPECT_EQ(p.processed_at, now);
  EXPECT_TRUE(p.failure_reason.empty());
  ASSERT_TRUE(Transition(p, PaymentStatus::kRefunded, now, "order_cancelled").ok());
  EXPECT_EQ(GetString(p.metadata, "refundReason"), "order_cancelled");
  EXPECT_EQ(GetString(p.metadata, "refundedAt"), FormatRfc3339(now));

  Payment f = PaymentIn(PaymentStatus::kProcessing);
  ASSERT_TRUE(Transition(f, PaymentStatus::kFailed, now, "card_declined").ok());
  EXPECT_EQ(f.failure_reason, "card_declined");
  EXPECT_EQ(f.processed_at, now);
}

TEST(PaymentStatus, NamesRoundTrip) {
  for (auto s : kAll) EXPECT_EQ(ParseStatus(StatusName(s)), s);
  EXPECT_FALSE(ParseStatus("paid").has_value());
  EXPECT_FALSE(ParseStatus("").has_value());
}

TEST(PaymentMethods, CardsAreDecidedAtOnce) {
  for (auto m : kPaymentMethods) EXPECT_TRUE(IsPaymentMethod(m));
  EXPECT_FALSE(IsPaymentMethod("cash"));
  EXPECT_TRUE(IsCardMethod("credit_card"));
  EXPECT_TRUE(IsCardMethod("debit_card"));
  EXPECT_FALSE(IsCardMethod("pix"));
  EXPECT_FALSE(IsCardMethod("boleto"));
}

TEST(CardLast4, KeepsOnlyTheLastFourDigits) {
  EXPECT_EQ(CardLast4("4242424242424242"), "4242");
  EXPECT_EQ(CardLast4("4000 0000 0000 9995"), "9995");
  EXPECT_EQ(CardLast4("123"), "");
  EXPECT_EQ(CardLast4(""), "");
}

TEST(Payment, HasTheApiShapeAndRoundTrips) {
  Payment p = PaymentIn(PaymentStatus::kProcessing);
  p.amount = Money::FromCents(5990);
  p.method = "pix";
  p.created_at = FromUnixMillis(1'795'000'000'000);
  p.metadata = {{"customerId", "c1"}, {"correlationId", "corr"}};
  json::object doc = p.ToJson();
  EXPECT_EQ(ToJsonText(doc.at("amount")), "59.9");
  EXPECT_TRUE(doc.at("transactionId").is_null());
  EXPECT_TRUE(doc.at("processedAt").is_null());
  EXPECT_FALSE(doc.contains("failureReason"));
  for (const char* field : {"paymentId", "orderId", "amount", "status", "method", "transactionId",
                            "createdAt", "processedAt", "metadata"}) {
    EXPECT_TRUE(doc.contains(field)) << field;
  }
  EXPECT_EQ(doc.size(), 9u);
  EXPECT_EQ(p.customer_id(), "c1");
  auto back = Payment::FromJson(doc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), doc);

  ASSERT_TRUE(Transition(p, PaymentStatus::kFailed, FromUnixMillis(1'795'000'000'500), "x").ok());
  p.transaction_id = "txn_1";
  doc = p.ToJson();
  EXPECT_EQ(GetString(doc, "failureReason"), "x");
  EXPECT_EQ(GetString(doc, "processedAt"), FormatRfc3339(FromUnixMillis(1'795'000'000'500)));
  back = Payment::FromJson(doc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), doc);
}

TEST(Payment, MalformedStoredDocumentIsInternal) {
  auto missing = Payment::FromJson(json::object{{"status", "processing"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInternal);
  auto bad_status = Payment::FromJson(json::object{{"paymentId", "p"}, {"status", "paid"}});
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace shopflow::payments
