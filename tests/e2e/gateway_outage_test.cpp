// A payment gateway outage, staged with /api/faults/gateway: charges go unanswered, payments
// wait `processing` and are charged again with backoff, the gateway's circuit breaker opens
// (health, metrics) and keeps retries off the dead gateway; once it is back every order is paid,
// each exactly once.
#include <gmock/gmock.h>

#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {

class GatewayOutage : public AppTest {
 protected:
  Settings MakeSettings() override {
    Settings s = AppTest::MakeSettings();
    s.breaker_failures = 3;
    s.breaker_cool_down = std::chrono::milliseconds(500);
    return s;
  }

  std::string PlaceOrder(const std::string& product_id, int n) {
    auto r =
        Post("/api/orders",
             ToJsonText(json::object{
                 {"customerId", "gw" + std::to_string(n) + "@example.com"},
                 {"items", json::array{json::object{{"productId", product_id}, {"quantity", 1}}}},
                 {"paymentMethod", "credit_card"},
                 {"paymentDetails", json::object{{"cardNumber", "4242424242424242"}}}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return GetString(r.Json().as_object(), "orderId");
  }

  /// The order's payments (API shape).
  json::array PaymentsOf(const std::string& order_id) {
    auto v = Get("/api/payments?orderId=" + order_id).Json();
    if (!v.is_object()) return {};
    const json::array* items = GetArray(v.as_object(), "data");
    return items ? *items : json::array{};
  }

  json::object GatewayBreaker() {
    auto health = Get("/api/health").Json();
    if (!health.is_object()) return {};
    const json::object* breakers = GetObject(health.as_object(), "circuitBreakers");
    const json::object* gateway = breakers ? GetObject(*breakers, "gateway") : nullptr;
    return gateway ? *gateway : json::object{};
  }
};

TEST_F(GatewayOutage, ChargesWaitTheCircuitOpensAndEveryOrderIsPaidOnceWhenTheGatewayIsBack) {
  auto faults = Get("/api/faults").Json().as_object();
  EXPECT_THAT(ToJsonText(faults.at("modules")), ::testing::HasSubstr("\"gateway\""));
  const std::string product = GetString(CreateProduct("GW-1", 10, 20), "productId");
  ASSERT_EQ(Put("/api/faults/gateway", R"({"mode":"fail"})").status, 200);

  std::vector<std::string> orders;
  for (int i = 0; i < 4; ++i) orders.push_back(PlaceOrder(product, i));
  for (const auto& id : orders) {
    json::array payments;
    ASSERT_TRUE(WaitFor([&] {
      payments = PaymentsOf(id);
      return payments.size() == 1 &&
             !GetString(*GetObject(payments[0].as_object(), "metadata"), "gatewayError").empty();
    })) << ToJsonText(payments);
    const json::object& payment = payments[0].as_object();
    EXPECT_EQ(GetString(payment, "status"), "processing");
    EXPECT_THAT(GetString(*GetObject(payment, "metadata"), "gatewayError"),
                ::testing::AnyOf(::testing::HasSubstr("injected fault"),
                                 ::testing::HasSubstr("circuit open")));
    EXPECT_EQ(GetString(Get("/api/orders/" + id).Json().as_object(), "status"), "pending")
        << "the order waits for its payment";
  }

  // Retries keep failing: the breaker opens, and then refuses charges without reaching the
  // gateway (the fault counts only the charges that reached it).
  json::object breaker;
  ASSERT_TRUE(WaitFor(
      [&] {
        breaker = GatewayBreaker();
        return GetInt(breaker, "timesOpened") >= 1 && GetInt(breaker, "rejected") >= 1;
      },
      std::chrono::seconds(30)))
      << ToJsonText(breaker);
  EXPECT_NE(Get("/metrics").body.find("shopflow_circuit_breaker_state{name=\"gateway\"}"),
            std::string::npos);

  // The gateway is back: after the cool-down a trial closes the circuit and every waiting
  // payment is charged again and succeeds, once.
  ASSERT_EQ(Delete("/api/faults/gateway").status, 204);
  for (const auto& id : orders) {
    ASSERT_TRUE(WaitFor(
        [&] { return GetString(Get("/api/orders/" + id).Json().as_object(), "status") == "paid"; },
        std::chrono::seconds(60)))
        << id;
    const json::array payments = PaymentsOf(id);
    ASSERT_EQ(payments.size(), 1u);
    EXPECT_EQ(GetString(payments[0].as_object(), "status"), "succeeded");
    EXPECT_EQ(recorder_.Count("PAYMENT_SUCCEEDED", id), 1u);
  }
  EXPECT_EQ(GetString(GatewayBreaker(), "state"), "closed");
}

}  // namespace
}  // namespace shopflow::testing
