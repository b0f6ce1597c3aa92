// The observability endpoints over real HTTP: the event log, an order's timeline, stats,
// Prometheus metrics and health.
#include <gmock/gmock.h>

#include <sstream>

#include "storage/sqlite/sqlite_export.hpp"
#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {
namespace {

class MonitorApi : public AppTest {
 protected:
  std::string PaidOrder() {
    auto p = CreateProduct("MON", 12.5, 10);
    auto r = Post("/api/orders",
                  ToJsonText(json::object{
                      {"customerId", "mona@example.com"},
                      {"items", json::array{json::object{{"productId", GetString(p, "productId")},
                                                         {"quantity", 1}}}}}));
    EXPECT_EQ(r.status, 201);
    const std::string id = GetString(r.Json().as_object(), "orderId");
    EXPECT_TRUE(WaitFor([&] {
      return GetString(Get("/api/orders/" + id).Json().as_object(), "status") == "paid";
    }));
    return id;
  }

  /// The value of the first sample of `name` whose labels contain `labels`, or -1.
  double Sample(const std::string& text, const std::string& name, const std::string& labels) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name + "{", 0) == 0 && line.find(labels) != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return -1;
  }
};

TEST_F(MonitorApi, TheTimelineOfAPaidOrderListsItsWholeSaga) {
  const std::string id = PaidOrder();
  json::object timeline;
  ASSERT_TRUE(WaitFor([&] {
    auto r = Get("/api/orders/" + id + "/timeline");
    if (r.status != 200) return false;
    timeline = r.Json().as_object();
    return timeline.at("settled").as_bool();
  })) << ToJsonText(timeline);
  std::vector<std::string> published;
  for (const auto& e : timeline.at("events").as_array()) {
    if (GetString(e.as_object(), "status") == "published") {
      published.push_back(GetString(e.as_object(), "eventType"));
    }
  }
  for (const char* type : {"ORDER_CREATED", "INVENTORY_RESERVED", "PAYMENT_SUCCEEDED",
                           "ORDER_CONFIRMED", "INVENTORY_CONFIRMED"}) {
    EXPECT_THAT(published, ::testing::Contains(type));
  }
  // Causal order: the order's creation comes first.
  EXPECT_EQ(published.front(), "ORDER_CREATED");
  EXPECT_EQ(Get("/api/orders/01ARZ3NDEKTSV4RRFFQ69G5FAV/timeline").status, 404);
}

TEST_F(MonitorApi, TheEventLogFilters) {
  const std::string id = PaidOrder();
  ASSERT_TRUE(WaitFor([&] {
    auto r = Get("/api/messages?eventType=ORDER_CONFIRMED&status=published").Json().as_object();
    return GetInt(r, "total") == 1;
  }));
  auto list = Get("/api/messages?eventType=ORDER_CONFIRMED&status=published").Json().as_object();
  auto row = list.at("data").as_array()[0].as_object();
  EXPECT_EQ(GetString(row, "eventType"), "ORDER_CONFIRMED");
  const std::string correlation = GetString(row.at("metadata").as_object(), "correlationId");
  auto same = Get("/api/messages?correlationId=" + correlation).Json().as_object();
  EXPECT_GE(GetInt(same, "total"), 8);
  EXPECT_EQ(Get("/api/messages?since=yesterday").status, 400);
  EXPECT_EQ(Get("/api/messages?since=2999-01-01T00:00:00Z").status, 400);  // beyond the clock
  auto future = Get("/api/messages?since=2200-01-01T00:00:00Z").Json().as_object();
  EXPECT_EQ(GetInt(future, "total"), 0);
}

TEST_F(MonitorApi, TheEventLogHasItsOwnDatabaseFileBesideTheModules) {
  PaidOrder();
  ASSERT_TRUE(WaitFor([&] {
    return GetInt(Get("/api/messages?eventType=ORDER_CONFIRMED").Json().as_object(), "total") >= 1;
  }));
  // The log's rows are in shopflow-messages.db (its own writer); the modules' file holds none.
  auto log = SqliteSnapshot::Open((data_dir_ / "shopflow-messages.db").string());
  ASSERT_TRUE(log.ok()) << log.error().message;
  // Its partitions (message_log_ring.hpp) and the ring's state; the first rows go to "messages".
  EXPECT_THAT((*log)->collections(),
              ::testing::ElementsAre("messages", "messages_p1", "messages_p2", "messages_p3",
                                     "messages_ring"));
  auto rows = (*log)->Documents("messages", "", 1000);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_GE(rows->size(), 8u);
  auto modules = SqliteSnapshot::Open((data_dir_ / "shopflow.db").string());
  ASSERT_TRUE(modules.ok()) << modules.error().message;
  EXPECT_THAT((*modules)->collections(), ::testing::Contains("orders"));
  EXPECT_THAT((*modules)->collections(), ::testing::Not(::testing::Contains("messages")));
}

TEST_F(MonitorApi, StatsAndMetricsMoveWithTraffic) {
  auto before = Get("/metrics");
  ASSERT_EQ(before.status, 200);
  EXPECT_NE(before.Header("content-type").find("text/plain"), std::string::npos);
  PaidOrder();
  ASSERT_TRUE(WaitFor([&] {
    return Sample(Get("/metrics").body, "shopflow_events_total",
                  "event_type=\"ORDER_CONFIRMED\",outcome=\"consumed\"") >= 1;
  }));
  auto after = Get("/metrics").body;
  EXPECT_GE(Sample(after, "shopflow_http_requests_total", "route=\"/api/orders\",status=\"201\""),
            1);
  auto stats = Get("/api/stats").Json().as_object();
  EXPECT_GE(GetInt(stats.at("events").as_object(), "published"), 8);
  EXPECT_EQ(GetInt(stats.at("orders").as_object(), "paid"), 1);
  auto health = Get("/api/health").Json().as_object();
  EXPECT_EQ(GetString(health, "status"), "healthy");
}

}  // namespace
}  // namespace shopflow::testing

namespace shopflow::testing {
namespace {

/// An SMTP server that refuses every connection (a closed port on loopback).
class BrokenSmtp : public AppTest {
 protected:
  Settings MakeSettings() override {
    Settings s = AppTest::MakeSettings();
    s.smtp_url = "smtp://127.0.0.1:1";
    return s;
  }
};

TEST_F(BrokenSmtp, RepeatedFailuresOpenTheCircuitAndHealthSaysDegraded) {
  for (int i = 0; i < 6; ++i) {
    auto r = Post("/api/notifications/email",
                  R"({"to":"ops@example.com","subject":"hello","content":"<p>hi</p>"})");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(GetString(r.Json().as_object(), "status"), "failed");
  }
  auto health = Get("/api/health").Json().as_object();
  EXPECT_EQ(GetString(health, "status"), "degraded") << ToJsonText(health);
  EXPECT_EQ(GetString(health.at("circuitBreakers").as_object().at("smtp").as_object(), "state"),
            "open");
  EXPECT_NE(Get("/metrics").body.find("shopflow_circuit_breaker_state{name=\"smtp\"} 2"),
            std::string::npos);
}

}  // namespace
}  // namespace shopflow::testing
