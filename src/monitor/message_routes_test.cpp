#include "monitor/message_routes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "events/event_types.hpp"
#include "monitor/message_log.hpp"
#include "monitor/monitor_test_support.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;
using testing::BodyOf;
using testing::CallRoute;
using ::testing::ElementsAre;
using testing::TempStore;
using testing::TestEvent;

class MessageRoutesTest : public ::testing::Test {
 protected:
  MessageRoutesTest() : queries_(*store_, DefaultTopology()), routes_(MessageRoutes(queries_)) {}

  /// Logs one row of `event` with `status` at the clock's time.
  std::string Log(const Envelope& event, std::string_view status, std::string queue = "",
                  std::string module = "") {
    MessageObservation o;
    o.row_id = ids_.Next();
    o.envelope = event;
    o.status = std::string(status);
    o.exchange = "ecommerce.events";
    o.routing_key = std::string(RoutingKeyFor(event.event_type).value_or(""));
    o.queue = std::move(queue);
    o.module = module.empty() ? event.metadata.source : module;
    o.attempt = o.queue.empty() ? 0 : 1;
    o.at = clock_.Now();
    store_.Insert(kMessagesCollection, {{o.row_id, ToMessageRow(o)}});
    return o.row_id;
  }

  ApiResponse Get(std::string_view pattern, std::vector<std::pair<std::string, std::string>> query,
                  std::vector<std::pair<std::string, std::string>> params = {}) {
    ApiRequest req;
    req.query = std::move(query);
    req.path_params = std::move(params);
    return CallRoute(routes_, "GET", pattern, std::move(req));
  }

  static std::vector<std::string> Types(const json::array& data) {
    std::vector<std::string> out;
    for (const auto& d : data) out.push_back(GetString(d.as_object(), "eventType"));
    return out;
  }

  FakeClock clock_;
  UlidGenerator ids_{clock_};
  TempStore store_;
  MessageQueries queries_;
  std::vector<Route> routes_;
};

TEST_F(MessageRoutesTest, ListsNewestFirstWithFiltersAndPagination) {
  const TimePoint t0 = clock_.Now();
  const Envelope a = TestEvent(events::kOrderCreated, {{"orderId", "o1"}}, "orders", "c1", "", t0);
  Log(a, "published");
  clock_.Advance(1s);
  Log(a, "consumed", "payments.events.queue", "payments");
  clock_.Advance(1s);
  const Envelope b = TestEvent(events::kPaymentRequested, {{"orderId", "o1"}}, "payments", "c1",
                               a.metadata.message_id, clock_.Now());
  Log(b, "published");
  clock_.Advance(1s);
  const Envelope c =
      TestEvent(events::kOrderCreated, {{"orderId", "o2"}}, "orders", "c2", "", clock_.Now());
  Log(c, "published");

  ApiResponse all = Get("/api/messages", {});
  ASSERT_EQ(all.status, 200);
  json::object body = BodyOf(all);
  EXPECT_EQ(GetInt(body, "total"), 4);
  EXPECT_EQ(GetInt(body, "limit"), 50);
  EXPECT_EQ(GetInt(body, "offset"), 0);
  EXPECT_THAT(Types(*GetArray(body, "data")),
              ElementsAre("ORDER_CREATED", "PAYMENT_REQUESTED", "ORDER_CREATED", "ORDER_CREATED"));

  body = BodyOf(Get("/api/messages", {{"eventType", "ORDER_CREATED"}, {"status", "published"}}));
  EXPECT_EQ(GetInt(body, "total"), 2);

  body = BodyOf(Get("/api/messages", {{"correlationId", "c1"}}));
  EXPECT_EQ(GetInt(body, "total"), 3);

  body = BodyOf(Get("/api/messages", {{"since", FormatRfc3339(t0 + 2s)}}));
  EXPECT_THAT(Types(*GetArray(body, "data")), ElementsAre("ORDER_CREATED", "PAYMENT_REQUESTED"));

  body = BodyOf(Get("/api/messages", {{"limit", "1"}, {"offset", "1"}}));
  EXPECT_EQ(GetInt(body, "total"), 4);
  EXPECT_THAT(Types(*GetArray(body, "data")), ElementsAre("PAYMENT_REQUESTED"));
  const json::object row = GetArray(body, "data")->at(0).as_object();
  EXPECT_EQ(GetString(row, "messageId"), b.metadata.message_id);
  EXPECT_EQ(GetString(row, "status"), "published");
  EXPECT_EQ(GetString(row, "routingKey"), "payment.requested");
  EXPECT_TRUE(row.contains("data"));
  EXPECT_TRUE(row.contains("metadata"));
  EXPECT_TRUE(row.contains("createdAt"));
}

TEST_F(MessageRoutesTest, BadFiltersAre400ValidationFailed) {
  for (auto query : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"since", "yesterday"}}, {{"status", "retried"}}, {{"limit", "501"}}}) {
    const ApiResponse r = Get("/api/messages", query);
    EXPECT_EQ(r.status, 400) << query[0].first;
    EXPECT_EQ(GetString(*GetObject(BodyOf(r), "error"), "code"), "validation_failed");
  }
  const ApiResponse r = Get("/api/messages", {{"since", "2026-13-01T00:00:00Z"}});
  const json::object body = BodyOf(r);
  const auto* details = GetArray(*GetObject(body, "error"), "details");
  ASSERT_NE(details, nullptr);
  EXPECT_EQ(GetString(details->at(0).as_object(), "field"), "since");
}

TEST_F(MessageRoutesTest, TimelineIs404ForAnUnknownOrder) {
  const ApiResponse r = Get("/api/orders/:id/timeline", {}, {{"id", "nope"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(GetString(*GetObject(BodyOf(r), "error"), "code"), "not_found");
}

TEST_F(MessageRoutesTest, TimelineFollowsCausationIntoEventsWithoutAnOrderId) {
  const Envelope created =
      TestEvent(events::kOrderCreated, {{"orderId", "o1"}}, "orders", "c1", "", clock_.Now());
  Log(created, "published");
  clock_.Advance(1s);
  Log(created, "consumed", "notifications.events.queue", "notifications");
  // The notification's data names no order; it is part of the saga through its causationId.
  const Envelope sent = TestEvent(events::kNotificationEmailSent, {{"notificationId", "n1"}},
                                  "notifications", "c1", created.metadata.message_id, clock_.Now());
  Log(sent, "published");
  // Same correlation, unrelated (no causal link): left out.
  const Envelope stray =
      TestEvent(events::kLowStockAlert, {{"productId", "p1"}}, "inventory", "c1", "", clock_.Now());
  Log(stray, "published");
  // Another order on the same correlation: left out.
  const Envelope other =
      TestEvent(events::kOrderCreated, {{"orderId", "o2"}}, "orders", "c1", "", clock_.Now());
  Log(other, "published");

  const ApiResponse r = Get("/api/orders/:id/timeline", {}, {{"id", "o1"}});
  ASSERT_EQ(r.status, 200);
  const json::object body = BodyOf(r);
  EXPECT_EQ(GetString(body, "orderId"), "o1");
  EXPECT_THAT(Types(*GetArray(body, "events")),
              ElementsAre("ORDER_CREATED", "ORDER_CREATED", "NOTIFICATION_EMAIL_SENT"));
  EXPECT_FALSE(body.at("settled").as_bool());
}

}  // namespace
}  // namespace shopflow::monitor
