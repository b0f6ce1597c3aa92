// End-to-end tests of the /api/inventory stock endpoints over real HTTP.
#include <gmock/gmock.h>

#include <atomic>

#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {
using ::testing::Contains;

class StockApi : public AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    auto r = Post("/api/inventory/products",
                  R"({"name":"Mug","sku":"MUG","price":7.5,"stock":10,"minStock":5})");
    ASSERT_EQ(r.status, 201) << r.body;
    mug_ = GetString(r.Json().as_object(), "productId");
  }

  json::object Product() { return Get("/api/inventory/products/" + mug_).Json().as_object(); }

  HttpResult Stock(const std::string& action, int64_t quantity, const std::string& order_id = "") {
    json::object body{{"productId", mug_}, {"quantity", quantity}};
    if (!order_id.empty()) body["orderId"] = order_id;
    return Post("/api/inventory/stock/" + action, ToJsonText(body));
  }

  std::string mug_;
};

TEST_F(StockApi, AddsStockAndPublishesInventoryUpdated) {
  auto r =
      Post("/api/inventory/stock/add",
           ToJsonText(json::object{{"productId", mug_}, {"quantity", 5}, {"reason", "restock"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(GetInt(r.Json().as_object(), "stock"), 15);
  EXPECT_EQ(GetInt(r.Json().as_object(), "available"), 15);
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& e : recorder_.Find("INVENTORY_UPDATED")) {
      if (GetString(e.data, "reason") == "restock" && GetInt(e.data, "stock") == 15) return true;
    }
    return false;
  }));
}

TEST_F(StockApi, ReservesAndReleasesManualHolds) {
  auto r = Stock("reserve", 3, "ORD-1");
  ASSERT_EQ(r.status, 201) << r.body;
  auto held = r.Json().as_object();
  EXPECT_EQ(GetString(held, "productId"), mug_);
  EXPECT_EQ(GetInt(held, "quantity"), 3);
  EXPECT_EQ(GetString(held, "orderId"), "ORD-1");
  EXPECT_EQ(GetInt(held.at("product").as_object(), "reserved"), 3);
  EXPECT_EQ(GetInt(held.at("product").as_object(), "available"), 7);

  EXPECT_EQ(Stock("release", 4, "ORD-1").status, 409);  // more than that order holds
  EXPECT_EQ(Stock("release", 1, "ORD-2").status, 409);  // another order holds nothing
  EXPECT_EQ(Stock("release", 1).status, 409);           // nothing held without an order
  auto released = Stock("release", 2, "ORD-1");
  ASSERT_EQ(released.status, 200) << released.body;
  EXPECT_EQ(GetInt(released.Json().as_object(), "reserved"), 1);
  EXPECT_EQ(Stock("release", 1, "ORD-1").status, 200);
  EXPECT_EQ(GetInt(Product(), "reserved"), 0);
  EXPECT_EQ(Stock("release", 1, "ORD-1").status, 409);
}

TEST_F(StockApi, NeverReservesMoreThanAvailable) {
  EXPECT_EQ(Stock("reserve", 11).status, 409);
  EXPECT_EQ(ErrorCodeOf(Stock("reserve", 11)), "conflict");
  ASSERT_EQ(Stock("reserve", 10).status, 201);
  EXPECT_EQ(Stock("reserve", 1).status, 409);
  auto p = Product();
  EXPECT_EQ(GetInt(p, "reserved"), 10);
  EXPECT_EQ(GetInt(p, "available"), 0);
}

TEST_F(StockApi, ConcurrentReservationsOfTheLastUnitsNeverOversell) {
  const int port = app_->port();
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      HttpClient c("127.0.0.1", port);
      for (int j = 0; j < 5; ++j) {
        auto r = c.Request("POST", "/api/inventory/stock/reserve",
                           ToJsonText(json::object{{"productId", mug_}, {"quantity", 1}}),
                           {{"Content-Type", "application/json"}});
        if (r.status == 201) ++granted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 10);
  EXPECT_EQ(GetInt(Product(), "available"), 0);
}

TEST_F(StockApi, LowStockAlertFiresOncePerDownwardCrossing) {
  ASSERT_EQ(Stock("reserve", 4).status, 201);  // available 6 > minStock 5
  ASSERT_EQ(Stock("reserve", 1).status, 201);  // available 5: crossed
  ASSERT_EQ(Stock("reserve", 1).status, 201);  // available 4: still below, no new alert
  EXPECT_TRUE(WaitFor([&] { return recorder_.Count("LOW_STOCK_ALERT") == 1; }));
  auto low = Get("/api/inventory/low-stock").Json().as_object();
  EXPECT_EQ(GetInt(low, "total"), 1);
  ASSERT_EQ(Stock("release", 6).status, 200);  // back above minStock: re-armed
  ASSERT_EQ(Stock("reserve", 5).status, 201);
  EXPECT_TRUE(WaitFor([&] { return recorder_.Count("LOW_STOCK_ALERT") == 2; }));
  EXPECT_EQ(recorder_.Count("LOW_STOCK_ALERT"), 2u);
}

TEST_F(StockApi, StatsAddUp) {
  ASSERT_EQ(
      Post("/api/inventory/products", R"({"name":"Pen","sku":"PEN","price":2,"stock":3})").status,
      201);
  ASSERT_EQ(Stock("reserve", 2).status, 201);
  auto s = Get("/api/inventory/stats").Json().as_object();
  EXPECT_EQ(GetInt(s, "totalProducts"), 2);
  EXPECT_EQ(GetInt(s, "totalStock"), 13);
  EXPECT_EQ(GetInt(s, "totalReserved"), 2);
  EXPECT_EQ(GetInt(s, "totalAvailable"), 11);
  EXPECT_EQ(GetInt(s, "lowStockCount"), 0);
  EXPECT_EQ(ToJsonText(s.at("inventoryValue")), "81");  // 10 * 7.5 + 3 * 2
}

TEST_F(StockApi, RejectsBadInputWithoutChangingStock) {
  struct Case {
    std::string path;
    std::string body;
    int status;
    const char* field;
  };
  const std::string id = mug_;
  const Case cases[] = {
      {"add", R"({"productId":")" + id + R"(","quantity":0})", 400, "quantity"},
      {"add", R"({"productId":")" + id + R"(","quantity":-3})", 400, "quantity"},
      {"add", R"({"productId":")" + id + R"(","quantity":"3"})", 400, "quantity"},
      {"add", R"({"quantity":3})", 400, "productId"},
      {"add", R"({"productId":")" + id + R"(","quantity":3,"orderId":"x"})", 400, "orderId"},
      {"reserve", R"({"productId":")" + id + R"(","quantity":1.5})", 400, "quantity"},
      {"reserve", R"({"productId":")" + id + R"(","quantity":1,"extra":1})", 400, "extra"},
      {"release", R"({"productId":")" + id + R"("})", 400, "quantity"},
      {"add", R"({"productId":"01ARZ3NDEKTSV4RRFFQ69G5FAV","quantity":3})", 404, ""},
      {"reserve", R"({"productId":"nope","quantity":3})", 404, ""},
  };
  for (const auto& c : cases) {
    auto r = Post("/api/inventory/stock/" + c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.path << " " << c.body;
    if (*c.field) {
      EXPECT_THAT(ErrorFieldsOf(r), Contains(c.field)) << c.body;
    }
  }
  EXPECT_EQ(ErrorCodeOf(Post("/api/inventory/stock/add", "{")), "malformed_json");
  auto p = Product();
  EXPECT_EQ(GetInt(p, "stock"), 10);
  EXPECT_EQ(GetInt(p, "reserved"), 0);
}

}  // namespace
}  // namespace shopflow::testing
