// The whole order saga over HTTP on the embedded bus: every path of EVENTS.md's saga, with
// compensation, watched through the API and the published events.
#include <gmock/gmock.h>

#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {
using ::testing::ElementsAre;

constexpr const char* kDeclinedCard = "4000000000000002";
constexpr const char* kNoFundsCard = "4000000000009995";

class Saga : public AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    auto r = Post("/api/inventory/products",
                  R"({"name":"Lamp","sku":"LAMP","price":25,"stock":10,"minStock":2})");
    ASSERT_EQ(r.status, 201) << r.body;
    lamp_ = GetString(r.Json().as_object(), "productId");
  }

  std::string Order(int64_t quantity, const std::string& method = "credit_card",
                    const std::string& card = "") {
    json::object body{
        {"customerId", "dana@example.com"},
        {"items", json::array{json::object{{"productId", lamp_}, {"quantity", quantity}}}},
        {"paymentMethod", method}};
    if (!card.empty()) body["paymentDetails"] = json::object{{"cardNumber", card}};
    auto r = Post("/api/orders", ToJsonText(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return GetString(r.Json().as_object(), "orderId");
  }

  json::object OrderDoc(const std::string& id) {
    return Get("/api/orders/" + id).Json().as_object();
  }
  std::string StatusOf(const std::string& id) { return GetString(OrderDoc(id), "status"); }

  bool WaitStatus(const std::string& id, const std::string& status) {
    return WaitFor([&] { return StatusOf(id) == status; });
  }

  json::object Lamp() { return Get("/api/inventory/products/" + lamp_).Json().as_object(); }

  /// The answer of GET /api/payments?orderId=.
  json::object PaymentsOf(const std::string& order_id) {
    return Get("/api/payments?orderId=" + order_id).Json().as_object();
  }

  /// The first payment of a payments list; empty when there is none.
  static json::object FirstOf(const json::object& list) {
    const auto& data = list.at("data").as_array();
    return data.empty() ? json::object{} : data[0].as_object();
  }

  /// The order's payment (the saga creates exactly one).
  json::object PaymentOf(const std::string& order_id) {
    auto list = PaymentsOf(order_id);
    EXPECT_EQ(GetInt(list, "total"), 1) << ToJsonText(list);
    return FirstOf(list);
  }

  /// The status of the order's payment, "" while the saga has not created it (for polling).
  std::string PaymentStatusOf(const std::string& order_id) {
    const json::object payment = FirstOf(PaymentsOf(order_id));
    return payment.empty() ? "" : GetString(payment, "status");
  }

  bool WaitPaymentStatus(const std::string& order_id, const std::string& status) {
    return WaitFor([&] { return PaymentStatusOf(order_id) == status; });
  }

  bool WaitStock(int64_t stock, int64_t reserved) {
    return WaitFor([&] {
      auto p = Lamp();
      return GetInt(p, "stock") == stock && GetInt(p, "reserved") == reserved;
    });
  }

  std::vector<std::string> TypesFor(const std::string& order_id) {
    std::vector<std::string> types;
    for (const auto& e : recorder_.Find("", order_id)) types.push_back(e.event_type);
    return types;
  }

  std::string lamp_;
};

TEST_F(Saga, HappyPathEndsPaidWithStockSold) {
  const std::string id = Order(3);
  ASSERT_TRUE(WaitStatus(id, "paid")) << ToJsonText(OrderDoc(id));
  ASSERT_TRUE(WaitStock(7, 0));
  EXPECT_EQ(GetInt(Lamp(), "available"), 7);
  auto payment = PaymentOf(id);
  EXPECT_EQ(GetString(payment, "status"), "succeeded");
  EXPECT_EQ(ToJsonText(payment.at("amount")), "75");
  EXPECT_FALSE(GetString(payment, "transactionId").empty());
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count("INVENTORY_CONFIRMED", id) == 1; }));

  // Every event of the saga happened once, and all carry the request's correlation id.
  for (const char* type :
       {"ORDER_CREATED", "INVENTORY_RESERVED", "PAYMENT_REQUESTED", "PAYMENT_PROCESSING",
        "PAYMENT_SUCCEEDED", "ORDER_CONFIRMED", "INVENTORY_CONFIRMED"}) {
    EXPECT_EQ(recorder_.Count(type, id), 1u) << type;
  }
  const std::string correlation =
      GetString(OrderDoc(id).at("metadata").as_object(), "correlationId");
  for (const auto& e : recorder_.Find("", id)) {
    EXPECT_EQ(e.metadata.correlation_id, correlation) << e.event_type;
  }
  // Causal links: the payment answers the order, the confirmation answers the payment or stock.
  auto created = recorder_.Find("ORDER_CREATED", id)[0];
  EXPECT_EQ(recorder_.Find("PAYMENT_REQUESTED", id)[0].metadata.causation_id,
            created.metadata.message_id);
  EXPECT_EQ(recorder_.Find("INVENTORY_RESERVED", id)[0].metadata.causation_id,
            created.metadata.message_id);
  auto history = OrderDoc(id).at("history").as_array();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(GetString(history[1].as_object(), "status"), "paid");
}

TEST_F(Saga, DeclinedCardFailsTheOrderAndReleasesStock) {
  for (auto [card, reason] :
       {std::pair{kDeclinedCard, "card_declined"}, std::pair{kNoFundsCard, "insufficient_funds"}}) {
    const std::string id = Order(4, "credit_card", card);
    ASSERT_TRUE(WaitStatus(id, "failed")) << ToJsonText(OrderDoc(id));
    EXPECT_EQ(GetString(OrderDoc(id), "failureReason"), reason);
    EXPECT_EQ(GetString(PaymentOf(id), "status"), "failed");
    EXPECT_EQ(GetString(PaymentOf(id), "failureReason"), reason);
    EXPECT_TRUE(WaitStock(10, 0)) << ToJsonText(Lamp());
    // The status is committed with its event, which the relay publishes a moment later.
    EXPECT_TRUE(WaitFor([&] { return recorder_.Count("ORDER_FAILED", id) == 1; }));
  }
}

TEST_F(Saga, MissingStockFailsTheOrderAndRefundsThePayment) {
  const std::string id = Order(11);
  ASSERT_TRUE(WaitStatus(id, "failed"));
  EXPECT_EQ(GetString(OrderDoc(id), "failureReason"), "insufficient_stock");
  // Payments and inventory run in parallel: the charge usually succeeds before ORDER_FAILED
  // arrives, and is refunded; when ORDER_FAILED comes first, nothing is charged at all.
  std::string payment;
  // Polled without PaymentOf's check: the order can fail before the payment exists.
  ASSERT_TRUE(WaitFor([&] {
    payment = PaymentStatusOf(id);
    return payment == "refunded" || payment == "failed";
  })) << ToJsonText(PaymentOf(id));
  EXPECT_EQ(GetString(PaymentOf(id), "status"), payment);  // exactly one payment
  if (payment == "refunded") {
    EXPECT_TRUE(WaitFor([&] { return recorder_.Count("PAYMENT_REFUNDED", id) == 1; }));
  } else {
    EXPECT_EQ(GetString(PaymentOf(id), "failureReason"), "order_failed");
    EXPECT_EQ(recorder_.Count("PAYMENT_SUCCEEDED", id), 0);
    EXPECT_EQ(recorder_.Count("PAYMENT_REFUNDED", id), 0);
  }
  EXPECT_TRUE(WaitStock(10, 0));
}

TEST_F(Saga, CancellingAPendingOrderReleasesStockAndVoidsThePayment) {
  const std::string id = Order(2, "pix");  // pix waits for the bank: the order stays pending
  ASSERT_TRUE(WaitPaymentStatus(id, "processing"));
  ASSERT_TRUE(WaitStock(10, 2));
  EXPECT_EQ(StatusOf(id), "pending");
  ASSERT_EQ(Delete("/api/orders/" + id).status, 200);
  ASSERT_TRUE(WaitPaymentStatus(id, "failed"));
  EXPECT_EQ(GetString(PaymentOf(id), "failureReason"), "order_cancelled");
  EXPECT_TRUE(WaitStock(10, 0));
  EXPECT_EQ(StatusOf(id), "cancelled");
}

TEST_F(Saga, CancellingAPaidOrderRefundsAndReturnsStock) {
  const std::string id = Order(5);
  ASSERT_TRUE(WaitStatus(id, "paid"));
  ASSERT_TRUE(WaitStock(5, 0));
  ASSERT_EQ(Delete("/api/orders/" + id).status, 200);
  ASSERT_TRUE(WaitPaymentStatus(id, "refunded"));
  EXPECT_TRUE(WaitStock(10, 0)) << ToJsonText(Lamp());
  EXPECT_EQ(StatusOf(id), "cancelled");
}

TEST_F(Saga, PixIsPaidWhenTheBankConfirms) {
  const std::string id = Order(1, "pix");
  ASSERT_TRUE(WaitPaymentStatus(id, "processing"));
  const std::string payment_id = GetString(PaymentOf(id), "paymentId");
  auto r = Put("/api/payments/" + payment_id + "/status", R"({"status":"succeeded"})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitStatus(id, "paid"));
  EXPECT_TRUE(WaitStock(9, 0));
}

TEST_F(Saga, RefundingAPaidOrdersPaymentCancelsIt) {
  const std::string id = Order(2);
  ASSERT_TRUE(WaitStatus(id, "paid"));
  ASSERT_TRUE(WaitStock(8, 0));
  const std::string payment_id = GetString(PaymentOf(id), "paymentId");
  auto r = Post("/api/payments/" + payment_id + "/refund", R"({"reason":"customer asked"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(GetString(r.Json().as_object(), "status"), "refunded");
  ASSERT_TRUE(WaitStatus(id, "cancelled"));
  EXPECT_TRUE(WaitStock(10, 0));
  EXPECT_EQ(Post("/api/payments/" + payment_id + "/refund", "{}").status, 409);
}

TEST_F(Saga, ShippedOrdersCannotBeRefundedOrCancelled) {
  const std::string id = Order(1);
  ASSERT_TRUE(WaitStatus(id, "paid"));
  ASSERT_EQ(Put("/api/orders/" + id + "/status", R"({"status":"shipped"})").status, 200);
  EXPECT_EQ(Delete("/api/orders/" + id).status, 409);
  const std::string payment_id = GetString(PaymentOf(id), "paymentId");
  EXPECT_EQ(Post("/api/payments/" + payment_id + "/refund", "{}").status, 409);
  ASSERT_EQ(Put("/api/orders/" + id + "/status", R"({"status":"delivered"})").status, 200);
  EXPECT_EQ(StatusOf(id), "delivered");
}

TEST_F(Saga, NotificationsFollowTheOrder) {
  const std::string id = Order(1);
  ASSERT_TRUE(WaitStatus(id, "paid"));
  // A notification is recorded `pending` before it is sent, then marked `sent`: wait for both
  // emails to be sent, not merely recorded.
  json::object list;
  auto all_sent = [&] {
    list = Get("/api/notifications?recipient=dana@example.com&type=email").Json().as_object();
    const json::array* data = GetArray(list, "data");
    if (GetInt(list, "total") < 2 || !data) return false;
    for (const auto& n : *data) {
      if (GetString(n.as_object(), "status") != "sent") return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor(all_sent)) << ToJsonText(list);
  std::vector<std::string> triggers;
  for (const auto& n : list.at("data").as_array()) {
    triggers.push_back(GetString(n.as_object(), "eventTrigger"));
  }
  EXPECT_THAT(triggers, ::testing::UnorderedElementsAre("ORDER_CREATED", "PAYMENT_SUCCEEDED"));
}

TEST_F(Saga, LowStockAlertReachesTheOperatorsOnce) {
  const std::string a = Order(8);  // available 2 == minStock: crossed
  ASSERT_TRUE(WaitStatus(a, "paid"));
  const std::string b = Order(1);  // still below: no second alert
  ASSERT_TRUE(WaitStatus(b, "paid"));
  ASSERT_TRUE(WaitFor([&] {
    auto alerts = Get("/api/notifications?recipient=operators@localhost").Json().as_object();
    return GetInt(alerts, "total") == 1;
  }));
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count("INVENTORY_CONFIRMED", b) == 1; }));
  EXPECT_EQ(recorder_.Count("LOW_STOCK_ALERT"), 1u);
}

}  // namespace
}  // namespace shopflow::testing
