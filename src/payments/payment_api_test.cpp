#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "payments/payment_records.hpp"
#include "payments/payments_test_support.hpp"

namespace shopflow::payments::testing {
namespace {

using Types_ = std::vector<std::string>;

const json::object& Body(const ApiResponse& r) { return r.body.as_object(); }

std::string ErrorCodeOf(const ApiResponse& r) {
  const auto* error = GetObject(Body(r), "error");
  return error ? GetString(*error, "code") : "";
}

std::vector<std::string> ErrorFields(const ApiResponse& r) {
  std::vector<std::string> fields;
  if (const auto* error = GetObject(Body(r), "error")) {
    if (const auto* details = GetArray(*error, "details")) {
      for (const auto& d : *details) fields.push_back(GetString(d.as_object(), "field"));
    }
  }
  return fields;
}

class PaymentApiTest : public PaymentsTest {
 protected:
  /// A payment stored directly, as another writer (or an older version) would have left it.
  Payment StorePayment(std::string order_id, PaymentStatus status, std::string method = "pix") {
    Payment p;
    p.payment_id = NewId();
    p.order_id = std::move(order_id);
    p.amount = Money::FromCents(1000);
    p.status = status;
    p.method = std::move(method);
    p.created_at = clock_.Now();
    p.metadata = {{"customerId", "cust-9"}, {"correlationId", "corr-old"}};
    EXPECT_TRUE(
        IsOk(WriteAndWait(*store_, [&](Transaction& txn) { return InsertPayment(txn, p); })));
    return p;
  }

  std::string ProcessedPaymentId(std::string order_id, std::string card = "") {
    PendingOrder(order_id);
    json::object body{{"orderId", order_id}};
    if (!card.empty()) body["paymentDetails"] = json::object{{"cardNumber", card}};
    auto r = Post("/api/payments/process", "", body);
    EXPECT_EQ(r.status, 201) << ToJsonText(r.body);
    return GetString(Body(r), "paymentId");
  }
};

// --- POST /api/payments/process ------------------------------------------------------------------

TEST_F(PaymentApiTest, ProcessCreatesAndChargesThePaymentOfAPendingOrder) {
  PendingOrder("o1", 2550, "debit_card");
  auto r = Post("/api/payments/process", "",
                json::object{{"orderId", "o1"},
                             {"paymentDetails", json::object{{"cardNumber", "4242424242424242"}}}});
  ASSERT_EQ(r.status, 201) << ToJsonText(r.body);
  EXPECT_EQ(GetString(Body(r), "status"), "succeeded");
  EXPECT_EQ(ToJsonText(Body(r).at("amount")), "25.5");
  EXPECT_EQ(GetString(Body(r), "method"), "debit_card");
  EXPECT_TRUE(GetString(Body(r), "transactionId").starts_with("txn_"));
  EXPECT_FALSE(Body(r).at("processedAt").is_null());
  const json::object& metadata = *GetObject(Body(r), "metadata");
  EXPECT_EQ(GetString(metadata, "customerId"), "cust-9");
  EXPECT_EQ(GetString(metadata, "correlationId"), "corr-api");
  EXPECT_EQ(GetString(metadata, "cardLast4"), "4242");
  EXPECT_EQ(PaymentOf("o1")->ToJson(), Body(r));

  auto events = Outbox();
  ASSERT_EQ(events.size(), 3u);
  const char* types[] = {"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_SUCCEEDED"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].event_type, types[i]);
    EXPECT_EQ(events[i].metadata.correlation_id, "corr-api");
    EXPECT_EQ(events[i].metadata.causation_id, "");
    EXPECT_EQ(GetString(events[i].data, "customerId"), "cust-9");
  }

  // The saga's ORDER_CREATED arriving afterwards finds the payment and charges nothing more.
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1"}, clock_.Now()));
  EXPECT_EQ(Outbox().size(), 3u);
  EXPECT_EQ(Docs(kPaymentsCollection).size(), 1u);
}

TEST_F(PaymentApiTest, ProcessUsesTheBodyMethodAndAnswersADeclineAsAFailedPayment) {
  PendingOrder("o1", 1000, "pix");
  auto r = Post("/api/payments/process", "",
                json::object{{"orderId", "o1"},
                             {"method", "credit_card"},
                             {"paymentDetails", json::object{{"cardNumber", "4000000000009995"}}}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(GetString(Body(r), "method"), "credit_card");
  EXPECT_EQ(GetString(Body(r), "status"), "failed");
  EXPECT_EQ(GetString(Body(r), "failureReason"), "insufficient_funds");
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING", "PAYMENT_FAILED"}));
}

TEST_F(PaymentApiTest, ProcessOfPixLeavesItProcessing) {
  PendingOrder("o1", 1000, "pix");
  auto r = Post("/api/payments/process", "", json::object{{"orderId", "o1"}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(GetString(Body(r), "status"), "processing");
  EXPECT_TRUE(Body(r).at("processedAt").is_null());
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_REQUESTED", "PAYMENT_PROCESSING"}));
}

TEST_F(PaymentApiTest, ProcessRunsAPaymentStillRequested) {
  PendingOrder("o1");
  Payment requested = StorePayment("o1", PaymentStatus::kRequested, "credit_card");
  auto r = Post("/api/payments/process", "", json::object{{"orderId", "o1"}});
  ASSERT_EQ(r.status, 201) << ToJsonText(r.body);
  EXPECT_EQ(GetString(Body(r), "paymentId"), requested.payment_id);
  EXPECT_EQ(GetString(Body(r), "status"), "succeeded");
  EXPECT_EQ(OutboxTypes(), (Types_{"PAYMENT_PROCESSING", "PAYMENT_SUCCEEDED"}));
}

TEST_F(PaymentApiTest, ProcessRefusesUnknownOrdersOrdersNotPendingAndPaymentsUnderWay) {
  auto r = Post("/api/payments/process", "", json::object{{"orderId", "nope"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCodeOf(r), "not_found");

  PendingOrder("o-paid");
  orders_.SetStatus("o-paid", "paid");
  r = Post("/api/payments/process", "", json::object{{"orderId", "o-paid"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCodeOf(r), "conflict");
  EXPECT_EQ(Counts(), StoredCounts{});

  const PaymentStatus under_way[] = {PaymentStatus::kProcessing, PaymentStatus::kSucceeded,
                                     PaymentStatus::kFailed, PaymentStatus::kRefunded};
  for (auto status : under_way) {
    const std::string order_id = "o-" + std::string(StatusName(status));
    PendingOrder(order_id);
    StorePayment(order_id, status);
    const StoredCounts before = Counts();
    r = Post("/api/payments/process", "", json::object{{"orderId", order_id}});
    EXPECT_EQ(r.status, 409) << StatusName(status);
    EXPECT_EQ(ErrorCodeOf(r), "conflict");
    EXPECT_EQ(Counts(), before) << StatusName(status);
    EXPECT_EQ(PaymentOf(order_id)->status, status);
  }
}

TEST_F(PaymentApiTest, ProcessRejectsBadInputWithoutWritingAnything) {
  PendingOrder("o1");
  struct Case {
    std::string body;
    std::string content_type;
    int status;
    std::string code;
    Types_ fields;
  };
  const Case cases[] = {
      {R"({})", "application/json", 400, "validation_failed", {"orderId"}},
      {R"({"orderId": 5})", "application/json", 400, "validation_failed", {"orderId"}},
      {R"({"orderId": "o1", "method": "cash"})",
       "application/json",
       400,
       "validation_failed",
       {"method"}},
      {R"({"orderId": "o1", "amount": 1, "status": "succeeded"})",
       "application/json",
       400,
       "validation_failed",
       {"amount", "status"}},
      {R"({"orderId": "o1", "paymentDetails": "4242"})",
       "application/json",
       400,
       "validation_failed",
       {"paymentDetails"}},
      {R"({"orderId": "o1", "paymentDetails": {"cardNumber": 4242}})",
       "application/json",
       400,
       "validation_failed",
       {"paymentDetails.cardNumber"}},
      {R"({"orderId": "o1"})", "text/plain", 415, "unsupported_media_type", {}},
      {R"({"orderId": )", "application/json", 400, "malformed_json", {}},
      {R"(["o1"])", "application/json", 400, "validation_failed", {}},
  };
  for (const auto& c : cases) {
    ApiCall call{.method = "POST",
                 .pattern = "/api/payments/process",
                 .body = c.body,
                 .content_type = c.content_type};
    auto r = Invoke(call);
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.body;
    if (!c.fields.empty()) {
      EXPECT_EQ(ErrorFields(r), c.fields) << c.body;
    }
  }
  ApiCall bad_key{.method = "POST",
                  .pattern = "/api/payments/process",
                  .body = R"({"orderId": "o1"})",
                  .headers = {{"idempotency-key", "has spaces"}}};
  auto r = Invoke(bad_key);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorFields(r), Types_{"Idempotency-Key"});
  EXPECT_EQ(Counts(), StoredCounts{});
}

TEST_F(PaymentApiTest, ProcessHonoursTheIdempotencyKey) {
  PendingOrder("o1");
  const json::object body{{"orderId", "o1"},
                          {"paymentDetails", json::object{{"cardNumber", "4242424242424242"}}}};
  auto first = Post("/api/payments/process", "", body, {{"idempotency-key", "key-1"}});
  ASSERT_EQ(first.status, 201);
  const StoredCounts after_first = Counts();
  auto repeat = Post("/api/payments/process", "", body, {{"idempotency-key", "key-1"}});
  EXPECT_EQ(repeat.status, 201);
  EXPECT_EQ(repeat.body, first.body);
  EXPECT_EQ(Counts(), after_first);
  // Also once the order moved on (the saga made it paid): the first answer, not a 409.
  orders_.SetStatus("o1", "paid");
  repeat = Post("/api/payments/process", "", body, {{"idempotency-key", "key-1"}});
  EXPECT_EQ(repeat.status, 201);
  EXPECT_EQ(repeat.body, first.body);
  orders_.SetStatus("o1", "pending");

  json::object other = body;
  other["method"] = "debit_card";
  auto clash = Post("/api/payments/process", "", other, {{"idempotency-key", "key-1"}});
  EXPECT_EQ(clash.status, 409);
  EXPECT_EQ(ErrorCodeOf(clash), "conflict");
  // Without the key the same request is a second attempt, refused: the order is paid for.
  auto unkeyed = Post("/api/payments/process", "", body);
  EXPECT_EQ(unkeyed.status, 409);
  EXPECT_EQ(Counts(), after_first);
}

// --- PUT /api/payments/:id/status ----------------------------------------------------------------

TEST_F(PaymentApiTest, BankConfirmationSucceedsAProcessingPix) {
  Deliver(OrderEvent(events::kOrderCreated, {.order_id = "o1", .method = "pix"}, clock_.Now()));
  const Payment pix = *PaymentOf("o1");
  ASSERT_EQ(pix.status, PaymentStatus::kProcessing);
  clock_.Advance(std::chrono::minutes(3));
  auto r = Put("/api/payments/:id/status", pix.payment_id, json::object{{"status", "succeeded"}});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetString(Body(r), "status"), "succeeded");
  EXPECT_EQ(GetString(Body(r), "processedAt"), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(GetString(Body(r), "transactionId"), pix.transaction_id);
  auto events = Outbox();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back().event_type, "PAYMENT_SUCCEEDED");
  EXPECT_EQ(events.back().metadata.correlation_id, "corr-api");

  // Settled: a second answer of the bank is a conflict.
  r = Put("/api/payments/:id/status", pix.payment_id, json::object{{"status", "failed"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Outbox().size(), 3u);
}

TEST_F(PaymentApiTest, BankRefusalFailsAProcessingBoletoWithTheReason) {
  Payment boleto = StorePayment("o1", PaymentStatus::kProcessing, "boleto");
  auto r = Put("/api/payments/:id/status", boleto.payment_id,
               json::object{{"status", "failed"}, {"reason", "boleto_expired"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(GetString(Body(r), "failureReason"), "boleto_expired");
  EXPECT_EQ(OutboxTypes(), Types_{"PAYMENT_FAILED"});
}

TEST_F(PaymentApiTest, StatusChangesByHandFollowTheContract) {
  using S = PaymentStatus;
  const S all[] = {S::kRequested, S::kProcessing, S::kSucceeded, S::kFailed, S::kRefunded};
  auto by_hand = [](S from, S to) {
    return (from == S::kProcessing && (to == S::kSucceeded || to == S::kFailed)) ||
           (from == S::kRequested && (to == S::kProcessing || to == S::kFailed));
  };
  for (S from : all) {
    for (S to : all) {
      Payment p = StorePayment("o-" + NewId(), from);
      const size_t outbox_before = Outbox().size();
      auto r =
          Put("/api/payments/:id/status", p.payment_id, json::object{{"status", StatusName(to)}});
      const std::string label =
          std::string(StatusName(from)) + " -> " + std::string(StatusName(to));
      if (by_hand(from, to)) {
        EXPECT_EQ(r.status, 200) << label;
        EXPECT_EQ(GetString(Body(r), "status"), StatusName(to)) << label;
        auto events = Outbox();
        ASSERT_EQ(events.size(), outbox_before + 1) << label;
        EXPECT_EQ(events.back().event_type, EventTypeFor(to)) << label;
      } else {
        EXPECT_EQ(r.status, 409) << label;
        EXPECT_EQ(ErrorCodeOf(r), "conflict") << label;
        EXPECT_EQ(Outbox().size(), outbox_before) << label;
        EXPECT_EQ(PaymentById(p.payment_id)->status, from) << label;
      }
    }
  }
}

TEST_F(PaymentApiTest, StatusChangeRejectsBadInputAndUnknownIds) {
  Payment p = StorePayment("o1", PaymentStatus::kProcessing);
  const StoredCounts before = Counts();
  auto r = Put("/api/payments/:id/status", p.payment_id, json::object{{"status", "paid"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorFields(r), Types_{"status"});
  r = Put("/api/payments/:id/status", p.payment_id, json::object{{"reason", "x"}});
  EXPECT_EQ(r.status, 400);
  r = Put("/api/payments/:id/status", p.payment_id,
          json::object{{"status", "succeeded"}, {"amount", 5}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorFields(r), Types_{"amount"});
  ApiCall wrong_type{.method = "PUT",
                     .pattern = "/api/payments/:id/status",
                     .id = p.payment_id,
                     .body = R"({"status":"succeeded"})",
                     .content_type = "text/plain"};
  EXPECT_EQ(Invoke(wrong_type).status, 415);
  ApiCall malformed{
      .method = "PUT", .pattern = "/api/payments/:id/status", .id = p.payment_id, .body = "{"};
  EXPECT_EQ(ErrorCodeOf(Invoke(malformed)), "malformed_json");
  r = Put("/api/payments/:id/status", "nope", json::object{{"status", "succeeded"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCodeOf(r), "not_found");
  EXPECT_EQ(Counts(), before);
  EXPECT_EQ(PaymentById(p.payment_id)->status, PaymentStatus::kProcessing);
}

// --- GET -----------------------------------------------------------------------------------------

TEST_F(PaymentApiTest, GetAnswersThePaymentOr404) {
  const std::string id = ProcessedPaymentId("o1");
  auto r = Get("/api/payments/:id", id);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), PaymentById(id)->ToJson());
  r = Get("/api/payments/:id", "nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCodeOf(r), "not_found");
}

TEST_F(PaymentApiTest, ListFiltersPagesAndAnswersNewestFirst) {
  const std::string a = ProcessedPaymentId("o-a");
  const std::string b = ProcessedPaymentId("o-b", "4000000000000002");
  const std::string c = ProcessedPaymentId("o-c");

  auto ids = [](const ApiResponse& r) {
    std::vector<std::string> out;
    for (const auto& p : *GetArray(r.body.as_object(), "data")) {
      out.push_back(GetString(p.as_object(), "paymentId"));
    }
    return out;
  };
  auto r = Get("/api/payments");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(ids(r), (Types_{c, b, a}));
  EXPECT_EQ(GetInt(Body(r), "total"), 3);
  EXPECT_EQ(GetInt(Body(r), "limit"), 50);
  EXPECT_EQ(GetInt(Body(r), "offset"), 0);

  r = Get("/api/payments", "", {{"status", "succeeded"}});
  EXPECT_EQ(ids(r), (Types_{c, a}));
  r = Get("/api/payments", "", {{"orderId", "o-b"}});
  EXPECT_EQ(ids(r), Types_{b});
  r = Get("/api/payments", "", {{"status", "failed"}, {"orderId", "o-a"}});
  EXPECT_TRUE(ids(r).empty());
  EXPECT_EQ(GetInt(Body(r), "total"), 0);
  r = Get("/api/payments", "", {{"limit", "1"}, {"offset", "1"}});
  EXPECT_EQ(ids(r), Types_{b});
  EXPECT_EQ(GetInt(Body(r), "total"), 3);

  r = Get("/api/payments", "", {{"status", "paid"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorFields(r), Types_{"status"});
  r = Get("/api/payments", "", {{"limit", "501"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCodeOf(r), "validation_failed");
}

// --- POST /api/payments/:id/refund ---------------------------------------------------------------

TEST_F(PaymentApiTest, RefundOfASucceededPaymentWithOrWithoutABody) {
  const std::string with_reason = ProcessedPaymentId("o1");
  auto r = Post("/api/payments/:id/refund", with_reason, json::object{{"reason", "changed_mind"}});
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetString(Body(r), "status"), "refunded");
  EXPECT_EQ(GetString(*GetObject(Body(r), "metadata"), "refundReason"), "changed_mind");
  auto events = Outbox();
  EXPECT_EQ(events.back().event_type, "PAYMENT_REFUNDED");
  EXPECT_EQ(GetString(events.back().data, "reason"), "changed_mind");
  EXPECT_EQ(events.back().metadata.correlation_id, "corr-api");

  // Refunded already: a conflict, nothing written.
  const StoredCounts before = Counts();
  r = Post("/api/payments/:id/refund", with_reason, json::object{});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Counts(), before);

  // No body at all, and an empty body with a JSON content type, are both accepted.
  const std::string no_body = ProcessedPaymentId("o2");
  ApiCall call{.method = "POST", .pattern = "/api/payments/:id/refund", .id = no_body};
  r = Invoke(call);
  ASSERT_EQ(r.status, 200) << ToJsonText(r.body);
  EXPECT_EQ(GetString(*GetObject(Body(r), "metadata"), "refundReason"), "requested_by_customer");
  const std::string empty_body = ProcessedPaymentId("o3");
  call.id = empty_body;
  call.body = "";
  EXPECT_EQ(Invoke(call).status, 200);
}

TEST_F(PaymentApiTest, RefundRulesAndBadInput) {
  const std::string paid = ProcessedPaymentId("o1");
  const std::string declined = ProcessedPaymentId("o2", "4000000000000002");
  const std::string shipped = ProcessedPaymentId("o3");
  orders_.SetStatus("o3", "shipped");
  const std::string delivered = ProcessedPaymentId("o4");
  orders_.SetStatus("o4", "delivered");
  const StoredCounts before = Counts();

  auto r = Post("/api/payments/:id/refund", declined, json::object{});
  EXPECT_EQ(r.status, 409);
  for (const auto& id : {shipped, delivered}) {
    r = Post("/api/payments/:id/refund", id, json::object{});
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(ErrorCodeOf(r), "conflict");
  }
  r = Post("/api/payments/:id/refund", "nope", json::object{});
  EXPECT_EQ(r.status, 404);
  r = Post("/api/payments/:id/refund", paid, json::object{{"amount", 5}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorFields(r), Types_{"amount"});
  r = Post("/api/payments/:id/refund", paid, json::object{{"reason", 5}});
  EXPECT_EQ(r.status, 400);
  ApiCall wrong_type{.method = "POST",
                     .pattern = "/api/payments/:id/refund",
                     .id = paid,
                     .body = R"({"reason":"x"})",
                     .content_type = "text/plain"};
  EXPECT_EQ(Invoke(wrong_type).status, 415);
  ApiCall malformed{
      .method = "POST", .pattern = "/api/payments/:id/refund", .id = paid, .body = "{nope"};
  EXPECT_EQ(ErrorCodeOf(Invoke(malformed)), "malformed_json");
  EXPECT_EQ(Counts(), before);
  EXPECT_EQ(PaymentById(paid)->status, PaymentStatus::kSucceeded);
}

}  // namespace
}  // namespace shopflow::payments::testing
