// End-to-end tests of the /api/orders endpoints over real HTTP, on the embedded bus.
#include <gmock/gmock.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {
using ::testing::Contains;

class OrdersApi : public AppTest {
 protected:
  void SetUp() override {
    AppTest::SetUp();
    pen_ = GetString(CreateProduct("PEN", 1.99, 100), "productId");
    ink_ = GetString(CreateProduct("INK", 10, 50), "productId");
  }

  // Orders paid by pix stay `pending` until the bank confirms, so these tests see the order as
  // they left it while the rest of the saga runs (the saga itself is tested in saga_test.cpp).
  std::string OrderBody(int64_t pen_qty = 3, const std::string& customer = "alice",
                        const std::string& method = "pix") {
    json::object body{
        {"customerId", customer},
        {"items",
         json::array{json::object{{"productId", pen_}, {"quantity", pen_qty}, {"price", 0.01}},
                     json::object{{"productId", ink_}, {"quantity", 1}}}}};
    if (!method.empty()) body["paymentMethod"] = method;
    return ToJsonText(body);
  }

  int64_t TotalOrders(const std::string& query = "") {
    auto r = Get("/api/orders" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return GetInt(r.Json().as_object(), "total", -1);
  }

  std::string pen_, ink_;
};

TEST_F(OrdersApi, CreatesAPendingOrderPricedByTheCatalog) {
  auto r = Post("/api/orders", OrderBody(), {{"X-Correlation-Id", "corr-123"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("x-correlation-id"), "corr-123");
  auto o = r.Json().as_object();
  const std::string id = GetString(o, "orderId");
  EXPECT_TRUE(IsWellFormedId(id));
  EXPECT_EQ(GetString(o, "status"), "pending");
  EXPECT_EQ(GetString(o, "customerId"), "alice");
  EXPECT_EQ(GetString(o, "paymentMethod"), "pix");
  const auto& items = o.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(ToJsonText(items[0].as_object().at("price")), "1.99");  // client's 0.01 ignored
  EXPECT_EQ(ToJsonText(items[0].as_object().at("total")), "5.97");
  EXPECT_EQ(ToJsonText(o.at("totalAmount")), "15.97");
  EXPECT_EQ(GetString(o.at("metadata").as_object(), "correlationId"), "corr-123");
  ASSERT_EQ(o.at("history").as_array().size(), 1u);
  EXPECT_EQ(GetString(o.at("history").as_array()[0].as_object(), "status"), "pending");

  auto got = Get("/api/orders/" + id);
  ASSERT_EQ(got.status, 200);
  // The saga may already have moved (its progress and updatedAt); what was ordered stays.
  auto g = got.Json().as_object();
  for (const char* field : {"orderId", "customerId", "status", "items", "totalAmount", "createdAt",
                            "metadata", "history"}) {
    EXPECT_EQ(g.at(field), o.at(field)) << field;
  }

  // ORDER_CREATED went out through the outbox, carrying the request's correlation id.
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count("ORDER_CREATED", id) == 1; }));
  auto event = recorder_.Find("ORDER_CREATED", id)[0];
  EXPECT_EQ(event.metadata.correlation_id, "corr-123");
  EXPECT_EQ(event.metadata.source, "orders");
}

TEST_F(OrdersApi, GeneratesACorrelationIdAndDefaultsToCreditCard) {
  auto r = Post("/api/orders", OrderBody(1, "alice", ""));
  ASSERT_EQ(r.status, 201);
  const std::string corr = r.Header("x-correlation-id");
  EXPECT_FALSE(corr.empty());
  EXPECT_EQ(GetString(r.Json().as_object().at("metadata").as_object(), "correlationId"), corr);
  EXPECT_EQ(GetString(r.Json().as_object(), "paymentMethod"), "credit_card");
}

TEST_F(OrdersApi, UnknownProductsAreNamedAndNothingIsWritten) {
  auto body = ToJsonText(json::object{
      {"customerId", "bob"},
      {"items",
       json::array{json::object{{"productId", pen_}, {"quantity", 1}},
                   json::object{{"productId", "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, {"quantity", 1}}}}});
  auto r = Post("/api/orders", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCodeOf(r), "validation_failed");
  EXPECT_THAT(ErrorFieldsOf(r), Contains("items[1].productId"));
  EXPECT_NE(r.body.find("01ARZ3NDEKTSV4RRFFQ69G5FAV"), std::string::npos);
  EXPECT_EQ(TotalOrders(), 0);
}

TEST_F(OrdersApi, RejectsBadInputWithoutWritingAnything) {
  struct Case {
    std::string body;
    const char* code;
    const char* field;  // "" when the error has no field detail
  };
  const std::string pen = pen_;
  auto items = [&](const std::string& line) {
    return R"({"customerId":"c","items":[)" + line + "]}";
  };
  const Case cases[] = {
      {"{\"customerId\":", "malformed_json", ""},
      {"not json at all", "malformed_json", ""},
      {"[]", "validation_failed", ""},
      {R"({"items":[{"productId":")" + pen + R"(","quantity":1}]})", "validation_failed",
       "customerId"},
      {R"({"customerId":"c"})", "validation_failed", "items"},
      {R"({"customerId":"c","items":[]})", "validation_failed", "items"},
      {R"({"customerId":"c","items":{}})", "validation_failed", "items"},
      {R"({"customerId":7,"items":[{"productId":")" + pen + R"(","quantity":1}]})",
       "validation_failed", "customerId"},
      {items(R"({"productId":")" + pen + R"(","quantity":0})"), "validation_failed",
       "items[0].quantity"},
      {items(R"({"productId":")" + pen + R"(","quantity":-2})"), "validation_failed",
       "items[0].quantity"},
      {items(R"({"productId":")" + pen + R"(","quantity":1.5})"), "validation_failed",
       "items[0].quantity"},
      {items(R"({"productId":")" + pen + R"(","quantity":"2"})"), "validation_failed",
       "items[0].quantity"},
      {items(R"({"quantity":1})"), "validation_failed", "items[0].productId"},
      {items(R"({"productId":")" + pen + R"(","quantity":1,"colour":"red"})"), "validation_failed",
       "items[0].colour"},
      {items("5"), "validation_failed", "items[0]"},
      {R"({"customerId":"c","items":[{"productId":")" + pen +
           R"(","quantity":1}],"paymentMethod":"cash"})",
       "validation_failed", "paymentMethod"},
      {R"({"customerId":"c","items":[{"productId":")" + pen +
           R"(","quantity":1}],"status":"paid"})",
       "validation_failed", "status"},
      {R"({"customerId":"c","items":[{"productId":")" + pen + R"(","quantity":1}],"bogus":1})",
       "validation_failed", "bogus"},
  };
  for (const auto& c : cases) {
    auto r = Post("/api/orders", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.body;
    if (*c.field) {
      EXPECT_THAT(ErrorFieldsOf(r), Contains(c.field)) << c.body;
    }
  }
  auto form =
      client_->Request("POST", "/api/orders", OrderBody(), {{"Content-Type", "text/plain"}});
  EXPECT_EQ(form.status, 415);
  EXPECT_EQ(TotalOrders(), 0);
  EXPECT_EQ(Get("/healthz").status, 200);  // still up
}

TEST_F(OrdersApi, ATenMegabyteBodyIsRefused) {
  std::string huge = R"({"customerId":")" + std::string(10 * 1024 * 1024, 'x') + R"("})";
  auto r = Post("/api/orders", huge);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCodeOf(r), "payload_too_large");
  HttpClient fresh("127.0.0.1", app_->port());
  EXPECT_EQ(fresh.Request("GET", "/api/orders").status, 200);
  EXPECT_EQ(TotalOrders(), 0);
}

TEST_F(OrdersApi, UnknownRoutesAndMethodsAnswerJson) {
  auto r = Get("/api/nothing-here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCodeOf(r), "not_found");
  auto m = client_->Request("PATCH", "/api/orders");
  EXPECT_EQ(m.status, 405);
  EXPECT_FALSE(ErrorCodeOf(m).empty());
  EXPECT_EQ(Get("/api/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV").status, 404);
}

TEST_F(OrdersApi, StatusChangesFollowTheStateMachine) {
  auto id = GetString(Post("/api/orders", OrderBody()).Json().as_object(), "orderId");
  for (const char* illegal : {"shipped", "delivered", "paid", "failed", "pending"}) {
    auto r = Put("/api/orders/" + id + "/status", std::string(R"({"status":")") + illegal + "\"}");
    EXPECT_EQ(r.status, 409) << illegal;
    EXPECT_EQ(ErrorCodeOf(r), "conflict") << illegal;
  }
  auto bad = Put("/api/orders/" + id + "/status", R"({"status":"teleported"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(ErrorFieldsOf(bad), Contains("status"));
  EXPECT_EQ(Put("/api/orders/" + id + "/status", R"({})").status, 400);
  EXPECT_EQ(
      Put("/api/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV/status", R"({"status":"cancelled"})").status,
      404);

  auto cancelled =
      Put("/api/orders/" + id + "/status", R"({"status":"cancelled","reason":"changed mind"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  auto o = cancelled.Json().as_object();
  EXPECT_EQ(GetString(o, "status"), "cancelled");
  const auto& history = o.at("history").as_array();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(GetString(history[1].as_object(), "status"), "cancelled");
  EXPECT_EQ(GetString(history[1].as_object(), "reason"), "changed mind");
  EXPECT_EQ(Put("/api/orders/" + id + "/status", R"({"status":"shipped"})").status, 409);
}

TEST_F(OrdersApi, DeleteCancelsAndPublishesOrderCancelled) {
  auto id = GetString(Post("/api/orders", OrderBody()).Json().as_object(), "orderId");
  auto r = Delete("/api/orders/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(GetString(r.Json().as_object(), "status"), "cancelled");
  EXPECT_EQ(GetString(Get("/api/orders/" + id).Json().as_object(), "status"), "cancelled");
  EXPECT_TRUE(WaitFor([&] { return recorder_.Count("ORDER_CANCELLED", id) == 1; }));
  EXPECT_GE(recorder_.Count("ORDER_UPDATED", id), 1u);
  auto again = Delete("/api/orders/" + id);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Delete("/api/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV").status, 404);
}

TEST_F(OrdersApi, ListsWithFiltersNewestFirst) {
  auto a = GetString(Post("/api/orders", OrderBody(1, "alice")).Json().as_object(), "orderId");
  auto b = GetString(Post("/api/orders", OrderBody(2, "bob")).Json().as_object(), "orderId");
  auto c = GetString(Post("/api/orders", OrderBody(3, "alice")).Json().as_object(), "orderId");
  ASSERT_EQ(Delete("/api/orders/" + b).status, 200);

  auto all = Get("/api/orders").Json().as_object();
  EXPECT_EQ(GetInt(all, "total"), 3);
  const auto& data = all.at("data").as_array();
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(GetString(data[0].as_object(), "orderId"), c);
  EXPECT_EQ(GetString(data[2].as_object(), "orderId"), a);
  EXPECT_EQ(TotalOrders("?customerId=alice"), 2);
  EXPECT_EQ(TotalOrders("?status=cancelled"), 1);
  EXPECT_EQ(TotalOrders("?status=pending&customerId=alice"), 2);
  EXPECT_EQ(TotalOrders("?status=pending&customerId=bob"), 0);
  auto page = Get("/api/orders?limit=1&offset=1").Json().as_object();
  EXPECT_EQ(GetString(page.at("data").as_array()[0].as_object(), "orderId"), b);
  EXPECT_EQ(Get("/api/orders?status=lost").status, 400);
  EXPECT_EQ(Get("/api/orders?limit=1000").status, 400);
}

TEST_F(OrdersApi, IdempotencyKeyReplaysTheFirstResponse) {
  auto first = Post("/api/orders", OrderBody(), {{"Idempotency-Key", "key-1"}});
  ASSERT_EQ(first.status, 201);
  auto repeat = Post("/api/orders", OrderBody(), {{"Idempotency-Key", "key-1"}});
  EXPECT_EQ(repeat.status, 201);
  EXPECT_EQ(repeat.Json(), first.Json());
  auto different = Post("/api/orders", OrderBody(5), {{"Idempotency-Key", "key-1"}});
  EXPECT_EQ(different.status, 409);
  EXPECT_EQ(ErrorCodeOf(different), "conflict");
  EXPECT_EQ(TotalOrders(), 1);
}

TEST_F(OrdersApi, ConcurrentRepeatsOfOneKeyCreateOneOrder) {
  const std::string body = OrderBody();
  const int port = app_->port();
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<std::string> ids;
  std::atomic<int> created{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      HttpClient c("127.0.0.1", port);
      auto r = c.Request("POST", "/api/orders", body,
                         {{"Content-Type", "application/json"}, {"Idempotency-Key", "same-key"}});
      if (r.status == 201) {
        ++created;
        std::lock_guard lock(mutex);
        ids.insert(GetString(r.Json().as_object(), "orderId"));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 8);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(TotalOrders(), 1);
}

TEST_F(OrdersApi, NeverStoresAFullCardNumber) {
  auto body = ToJsonText(json::object{
      {"customerId", "carol"},
      {"items", json::array{json::object{{"productId", pen_}, {"quantity", 1}}}},
      {"paymentDetails", json::object{{"cardNumber", "4242424242424242"}, {"cvv", "123"}}}});
  auto r = Post("/api/orders", body);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.find("4242424242424242"), std::string::npos);
  EXPECT_EQ(r.body.find("123\""), std::string::npos);
  EXPECT_EQ(GetString(r.Json().as_object().at("paymentDetails").as_object(), "cardLast4"), "4242");
}

TEST_F(OrdersApi, HealthEndpointsAnswer) {
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_EQ(Get("/readyz").status, 200);
  auto h = Get("/api/health");
  ASSERT_EQ(h.status, 200) << h.body;
  auto doc = h.Json().as_object();
  EXPECT_EQ(GetString(doc, "status"), "healthy");
  EXPECT_TRUE(doc.at("services").as_object().at("store").as_bool());
  EXPECT_TRUE(doc.at("modules").as_object().contains("orders"));
}

}  // namespace
}  // namespace shopflow::testing
