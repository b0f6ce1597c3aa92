// The live stream and the dead letters of a running application, over real HTTP/WebSocket.
#include <gmock/gmock.h>

#include "events/event_types.hpp"
#include "tests/e2e/app_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace shopflow::testing {
namespace {

class LiveAndDlq : public AppTest {};

TEST_F(LiveAndDlq, AnOrderProducesItsMessageFlowFramesInOrder) {
  WsClient ws("127.0.0.1", app_->port());
  auto p = CreateProduct("LIVE", 9, 5);
  auto r = Post("/api/orders",
                ToJsonText(json::object{
                    {"customerId", "liv@example.com"},
                    {"items", json::array{json::object{{"productId", GetString(p, "productId")},
                                                       {"quantity", 1}}}}}));
  ASSERT_EQ(r.status, 201);
  const std::string order_id = GetString(r.Json().as_object(), "orderId");
  // Collect the published message_flow frames of this order until it is confirmed.
  std::vector<std::string> published;
  bool seen_stats = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline &&
         std::find(published.begin(), published.end(), "ORDER_CONFIRMED") == published.end()) {
    auto frame = ws.Read(std::chrono::seconds(5));
    if (!frame) break;
    auto parsed = ParseJson(*frame);
    ASSERT_TRUE(parsed && parsed->is_object()) << *frame;
    const auto& f = parsed->as_object();
    const std::string type = GetString(f, "type");
    if (type == "stats_update") seen_stats = true;
    if (type != "message_flow" || GetString(f, "status") != "published") continue;
    const auto* data = GetObject(f, "data");
    if (data && GetString(*data, "orderId") == order_id)
      published.push_back(GetString(f, "eventType"));
  }
  ASSERT_FALSE(published.empty());
  EXPECT_EQ(published.front(), "ORDER_CREATED");
  auto at = [&](const char* type) {
    return std::find(published.begin(), published.end(), type) - published.begin();
  };
  EXPECT_LT(at("PAYMENT_REQUESTED"), at("PAYMENT_SUCCEEDED"));
  EXPECT_LT(at("PAYMENT_SUCCEEDED"), at("ORDER_CONFIRMED"));
  EXPECT_LT(at("INVENTORY_RESERVED"), at("ORDER_CONFIRMED"));
  EXPECT_NE(at("ORDER_CONFIRMED"), static_cast<long>(published.size()));
  (void)seen_stats;  // stats arrive once a second; not waited for here
}

TEST_F(LiveAndDlq, APoisonMessageIsListedReportedByADryRunAndDiscarded) {
  // An ORDER_CREATED of an unknown version cannot be understood: payments dead-letters it.
  Envelope poison = MakeEvent(std::string(events::kOrderCreated),
                              json::object{{"orderId", "01ARZ3NDEKTSV4RRFFQ69G5FAV"}}, "orders",
                              "poison-corr", "", SystemClock::Instance().Now());
  poison.metadata.version = "99";
  ASSERT_TRUE(app_->events().SendToQueue("payments.events.queue", poison, {}));
  const std::string id = poison.metadata.message_id;

  json::object dlq;
  ASSERT_TRUE(WaitFor([&] {
    dlq = Get("/api/dlq").Json().as_object();
    return GetInt(dlq, "total") >= 1;
  })) << ToJsonText(dlq);
  bool listed = false;
  for (const auto& q : dlq.at("queues").as_array()) {
    for (const auto& m : q.as_object().at("messages").as_array()) {
      if (GetString(m.as_object(), "messageId") != id) continue;
      listed = true;
      EXPECT_EQ(GetString(q.as_object(), "queue"), "dlq.payments.process.failed");
      EXPECT_FALSE(GetString(m.as_object(), "reason").empty());
    }
  }
  EXPECT_TRUE(listed) << ToJsonText(dlq);
  EXPECT_FALSE(dlq.at("byReason").as_array().empty());

  auto dry = Post("/api/dlq/retry-all", R"({"dryRun":true})");
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_THAT(ToJsonText(dry.Json()), ::testing::HasSubstr(id));
  EXPECT_EQ(GetInt(dry.Json().as_object(), "moved"), 0);

  auto discarded = Delete("/api/dlq/" + id);
  ASSERT_EQ(discarded.status, 200) << discarded.body;
  EXPECT_EQ(GetString(discarded.Json().as_object(), "status"), "discarded");
  EXPECT_EQ(Delete("/api/dlq/" + id).status, 409);
  EXPECT_EQ(Post("/api/dlq/" + id + "/retry", "{}").status, 409);
  EXPECT_EQ(Delete("/api/dlq/01ARZ3NDEKTSV4RRFFQ69G5FAV").status, 404);
}

TEST_F(LiveAndDlq, ABrokenModuleDeadLettersAndARedriveAfterTheFixSettlesExactlyOnce) {
  auto p = CreateProduct("FAULT", 10, 5);
  ASSERT_EQ(Put("/api/faults/payments", R"({"mode":"fail"})").status, 200);
  auto r = Post("/api/orders",
                ToJsonText(json::object{
                    {"customerId", "fault@example.com"},
                    {"items", json::array{json::object{{"productId", GetString(p, "productId")},
                                                       {"quantity", 2}}}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string order_id = GetString(r.Json().as_object(), "orderId");

  // Every attempt fails while payments is broken: the message ends in payments' dead letters.
  json::object dlq;
  ASSERT_TRUE(WaitFor([&] {
    dlq = Get("/api/dlq?queue=dlq.payments.process.failed").Json().as_object();
    return GetInt(dlq, "total") >= 1;
  })) << ToJsonText(dlq);
  EXPECT_THAT(ToJsonText(dlq), ::testing::HasSubstr("injected fault"));
  EXPECT_EQ(GetString(Get("/api/orders/" + order_id).Json().as_object(), "status"), "pending");
  EXPECT_EQ(GetInt(Get("/api/payments?orderId=" + order_id).Json().as_object(), "total"), 0);
  auto faults = Get("/api/faults").Json().as_object();
  ASSERT_EQ(faults.at("faults").as_array().size(), 1u);
  EXPECT_GE(GetInt(faults.at("faults").as_array()[0].as_object(), "failed"), 1);
  // Counted where it went: the last attempt's failure is a dead letter in the stats and the log.
  auto events = Get("/api/stats").Json().as_object().at("events").as_object();
  EXPECT_GE(GetInt(events, "deadLettered"), 1) << ToJsonText(events);
  std::string dead;  // the log is written behind the bus
  EXPECT_TRUE(WaitFor([&] {
    dead = Get("/api/messages?status=dead_lettered").body;
    return dead.find("payments.events.queue") != std::string::npos;
  })) << dead;

  // Fix the cause, re-drive everything: the order settles, charged once.
  ASSERT_EQ(Delete("/api/faults/payments").status, 204);
  auto redriven = Post("/api/dlq/retry-all", R"({"queue":"dlq.payments.process.failed"})");
  ASSERT_EQ(redriven.status, 200) << redriven.body;
  EXPECT_GE(GetInt(redriven.Json().as_object(), "moved"), 1);
  ASSERT_TRUE(WaitFor([&] {
    return GetString(Get("/api/orders/" + order_id).Json().as_object(), "status") == "paid";
  }));
  EXPECT_EQ(GetInt(Get("/api/payments?orderId=" + order_id).Json().as_object(), "total"), 1);
  // Re-driving again finds nothing left to move: nothing is applied twice.
  auto again = Post("/api/dlq/retry-all", R"({"queue":"dlq.payments.process.failed"})");
  EXPECT_EQ(GetInt(again.Json().as_object(), "moved"), 0);
  EXPECT_EQ(GetInt(Get("/api/payments?orderId=" + order_id).Json().as_object(), "total"), 1);
}

}  // namespace
}  // namespace shopflow::testing
