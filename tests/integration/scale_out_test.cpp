// Modules as separate processes on one broker: inventory, orders and notifications each in its
// own process, payments in two competing processes; the whole saga works across them.
#include <gmock/gmock.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "tests/e2e/app_fixture.hpp"
#include "tests/e2e/saga_books.hpp"
#include "tests/integration/broker.hpp"
#include "tests/integration/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace shopflow::testing {
namespace {

/// The dashboard's stream of one process, read on a thread of its own (so the server never
/// drops it as a slow client): the eventType:status:source of every message_flow frame.
class FlowWatcher {
 public:
  explicit FlowWatcher(int port) : ws_("127.0.0.1", port) {
    reader_ = std::thread([this] {
      while (!stop_) {
        auto frame = ws_.Read(std::chrono::milliseconds(100));
        if (!frame) continue;
        auto parsed = ParseJson(*frame);
        if (!parsed || !parsed->is_object()) continue;
        const auto& f = parsed->as_object();
        if (GetString(f, "type") != "message_flow") continue;
        std::lock_guard lock(mu_);
        seen_.insert(GetString(f, "eventType") + ":" + GetString(f, "status") + ":" +
                     GetString(f, "source"));
      }
    });
  }
  ~FlowWatcher() {
    stop_ = true;
    reader_.join();
  }
  bool Saw(const std::string& key) const {
    std::lock_guard lock(mu_);
    return seen_.count(key) > 0;
  }

 private:
  WsClient ws_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::set<std::string> seen_;
  std::thread reader_;
};

TEST(ScaleOut, TheSagaWorksAcrossProcessesAndPaymentsCompete) {
  ScratchVhost vhost;
  ASSERT_TRUE(vhost.ok()) << "no RabbitMQ: run scripts/broker start";
  const std::string dir = ::testing::TempDir() + "shopflow-scale-" + NewId();
  // Three handler threads per module queue in each process (SHOPFLOW_CONSUMER_THREADS).
  const std::vector<std::string> env{"RABBITMQ_URL=" + vhost.url(), "SHOPFLOW_CONSUMER_THREADS=3"};
  auto start = [&](const std::string& modules, const std::string& name) {
    return std::make_unique<ChildProcess>(
        SHOPFLOW_BINARY,
        std::vector<std::string>{"serve", "--port", "0", "--data-dir", dir, "--modules", modules},
        env, dir + "." + name + ".log");
  };
  auto inventory_p = start("inventory", "inventory");
  auto orders_p = start("orders", "orders");
  auto payments_a = start("payments", "payments-a");
  auto payments_b = start("payments", "payments-b");
  auto notifications_p = start("notifications", "notifications");
  auto inventory_port = inventory_p->WaitForPort();
  auto orders_port = orders_p->WaitForPort();
  auto payments_port = payments_a->WaitForPort();
  ASSERT_TRUE(inventory_port && orders_port && payments_port && payments_b->WaitForPort() &&
              notifications_p->WaitForPort());
  HttpClient inventory("127.0.0.1", *inventory_port);
  HttpClient orders("127.0.0.1", *orders_port);
  HttpClient payments("127.0.0.1", *payments_port);

  // Each process serves its own module's routes only.
  EXPECT_EQ(inventory.Request("GET", "/api/orders").status, 404);
  EXPECT_EQ(orders.Request("GET", "/api/inventory/products").status, 404);

  std::vector<ProductBook> products;
  for (int i = 0; i < 2; ++i) {
    auto r = inventory.Request("POST", "/api/inventory/products",
                               ToJsonText(json::object{{"name", "S" + std::to_string(i)},
                                                       {"sku", "S-" + std::to_string(i)},
                                                       {"price", 2.5},
                                                       {"stock", 100}}),
                               {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 201) << r.body;
    products.push_back({GetString(r.Json().as_object(), "productId"), 100, 0});
  }
  auto order = [&](const std::string& product, const char* card) {
    json::object body{
        {"customerId", "scale@example.com"},
        {"items", json::array{json::object{{"productId", product}, {"quantity", 1}}}}};
    if (card) body["paymentDetails"] = json::object{{"cardNumber", card}};
    return orders.Request("POST", "/api/orders", ToJsonText(body),
                          {{"Content-Type", "application/json"}});
  };
  // A dashboard on the orders process sees the other processes' events too (through the tap
  // the process opens while a client is connected): wait until it shows inventory's.
  FlowWatcher dashboard(*orders_port);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto added = inventory.Request(
            "POST", "/api/inventory/stock/add",
            ToJsonText(json::object{{"productId", products[0].id}, {"quantity", 1}}),
            {{"Content-Type", "application/json"}});
        if (added.status == 200) products[0].added += 1;
        return WaitFor([&] { return dashboard.Saw("INVENTORY_UPDATED:published:inventory"); },
                       std::chrono::milliseconds(500));
      },
      std::chrono::seconds(30)))
      << "the orders process's dashboard never showed inventory's events; its log:\n"
      << orders_p->LogTail() << "\ninventory's log:\n"
      << inventory_p->LogTail();

  // The orders process learns the catalog from INVENTORY_UPDATED events: wait until it knows.
  HttpResult last_refusal;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = order(products[1].id, nullptr);
        if (r.status != 201) last_refusal = r;
        return r.status == 201;
      },
      std::chrono::seconds(30)))
      << "the orders process never learned product " << products[1].id << ": last answer "
      << last_refusal.status << " " << last_refusal.body << "; its log:\n"
      << orders_p->LogTail() << "\ninventory's log:\n"
      << inventory_p->LogTail();
  int accepted = 1;
  for (int n = 0; n < 60; ++n) {
    const char* card = n % 7 == 0 ? "4000000000000002" : nullptr;
    accepted += order(products[static_cast<size_t>(n) % 2].id, card).status == 201;
  }
  EXPECT_EQ(accepted, 61);

  ASSERT_TRUE(WaitFor([&] { return Balanced(orders, inventory, payments, products); },
                      std::chrono::seconds(90)));
  auto list = orders.Request("GET", "/api/orders?status=failed").Json().as_object();
  EXPECT_EQ(GetInt(list, "total"), 9);                           // the declined cards
  EXPECT_EQ(vhost.ConsumersOf("payments.events.queue"), 2 * 3);  // two processes
  EXPECT_TRUE(dashboard.Saw("PAYMENT_SUCCEEDED:published:payments"));
  EXPECT_TRUE(dashboard.Saw("INVENTORY_RESERVED:published:inventory"));
  EXPECT_TRUE(dashboard.Saw("ORDER_CREATED:published:orders"));  // its own, reported once
}

}  // namespace
}  // namespace shopflow::testing
