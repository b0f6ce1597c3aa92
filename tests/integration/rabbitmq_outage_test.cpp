// The broker stopped and restarted in the middle of a stream of orders: the API keeps accepting
// orders (their events wait in the outbox), and when the broker is back every order settles.
// Runs alone (RUN_SERIAL): it stops the shared local broker.
#include <gmock/gmock.h>

#include <random>

#include "tests/e2e/app_fixture.hpp"
#include "tests/e2e/saga_books.hpp"
#include "tests/integration/broker.hpp"

namespace shopflow::testing {
namespace {

class RabbitOutage : public AppTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(vhost_.ok()) << "no RabbitMQ: run scripts/broker start";
    AppTest::SetUp();
  }
  void TearDown() override {
    ScratchVhost::Run("rabbitmqctl start_app");  // whatever happened, leave the broker running
    AppTest::TearDown();
  }
  Settings MakeSettings() override {
    Settings s = AppTest::MakeSettings();
    s.rabbitmq_url = vhost_.url();
    return s;
  }

  int PostOrders(const std::vector<ProductBook>& products, int count) {
    int accepted = 0;
    for (int n = 0; n < count; ++n) {
      const auto& book = products[static_cast<size_t>(n) % products.size()];
      auto r =
          Post("/api/orders",
               ToJsonText(json::object{
                   {"customerId", "outage"},
                   {"items", json::array{json::object{{"productId", book.id}, {"quantity", 1}}}}}));
      if (r.status == 201) ++accepted;
    }
    return accepted;
  }

  ScratchVhost vhost_;
};

TEST_F(RabbitOutage, OrdersAreAcceptedWhileTheBrokerIsDownAndSettleWhenItReturns) {
  std::vector<ProductBook> products;
  for (int i = 0; i < 2; ++i) {
    auto p = CreateProduct("OUT-" + std::to_string(i), 4, 200);
    products.push_back({GetString(p, "productId"), 200, 0});
  }
  EXPECT_EQ(PostOrders(products, 30), 30);

  ASSERT_TRUE(ScratchVhost::Run("rabbitmqctl stop_app"));
  ASSERT_TRUE(WaitFor([&] {
    auto h = Get("/api/health").Json().as_object();
    return !h.at("services").as_object().at("rabbitmq").as_bool();
  }));
  EXPECT_EQ(PostOrders(products, 30), 30);  // accepted into the outbox while the broker is away

  ASSERT_TRUE(ScratchVhost::Run("rabbitmqctl start_app"));
  ASSERT_TRUE(WaitFor([&] { return Balanced(*client_, products); }, std::chrono::seconds(90)));
  auto by_status = ExpectOrderInvariants(*client_, products);
  EXPECT_EQ(by_status["paid"], 60);
  // Every consumer connection (several per queue) reconnects with its own backoff: the orders
  // may settle before the last one is back, and health turns true once all are.
  EXPECT_TRUE(WaitFor([&] {
    auto h = Get("/api/health").Json().as_object();
    return h.at("services").as_object().at("rabbitmq").as_bool();
  }));
}

}  // namespace
}  // namespace shopflow::testing
