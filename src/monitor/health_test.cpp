#include "monitor/health.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "monitor/monitor_test_support.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;
using testing::BodyOf;
using testing::CallRoute;
using ::testing::Contains;
using testing::FakeEventBus;
using ::testing::HasSubstr;
using testing::SwitchableStore;
using testing::TempStore;

class HealthTest : public ::testing::Test {
 protected:
  HealthTest() : store_(*temp_) {
    temp_.Insert("orders", {{"o1", {{"status", "pending"}}}, {"o2", {{"status", "paid"}}}});
  }

  HealthSources Sources() {
    HealthSources s;
    s.store = &store_;
    s.bus = &bus_;
    s.modules = {"orders", "payments", "inventory", "notifications"};
    s.version = "test";
    s.started_at = clock_.Now() - 5s;
    s.clock = &clock_;
    s.outbox_backlog = [this] { return backlog_.load(); };
    s.dlq_size = [this] { return dlq_.load(); };
    s.circuit_breakers = &breakers_;
    s.thresholds.outbox_backlog = 100;
    s.thresholds.dlq_growth = 10;
    s.thresholds.dlq_window = 5min;
    return s;
  }

  static std::string StatusOf(const HealthReport& r) { return GetString(r.document, "status"); }
  static const json::object& Services(const HealthReport& r) {
    return r.document.at("services").as_object();
  }
  static const json::object& Module(const HealthReport& r, std::string_view name) {
    return r.document.at("modules").as_object().at(name).as_object();
  }

  FakeClock clock_;
  TempStore temp_;
  SwitchableStore store_;
  FakeEventBus bus_;
  CircuitBreakerSet breakers_;
  std::atomic<int64_t> backlog_{0};
  std::atomic<int64_t> dlq_{0};
};

TEST_F(HealthTest, HealthyWithTheSeedsDocument) {
  HealthMonitor health(Sources());
  const HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kHealthy);
  EXPECT_EQ(r.HttpStatus(), 200);
  EXPECT_EQ(StatusOf(r), "healthy");
  EXPECT_TRUE(Services(r).at("rabbitmq").as_bool());
  EXPECT_FALSE(Services(r).at("mongodb").as_bool());  // SQLite
  EXPECT_TRUE(Services(r).at("store").as_bool());
  EXPECT_TRUE(Services(r).at("orders").as_bool());
  EXPECT_TRUE(Services(r).at("dlqManager").as_bool());
  const json::object& orders = Module(r, "orders");
  EXPECT_EQ(GetString(orders, "status"), "healthy");
  EXPECT_TRUE(orders.at("initialized").as_bool());
  EXPECT_TRUE(GetObject(orders, "database")->at("connected").as_bool());
  EXPECT_EQ(GetInt(*GetObject(orders, "database"), "orderCount"), 2);
  EXPECT_EQ(GetInt(*GetObject(Module(r, "payments"), "database"), "paymentCount"), 0);
  EXPECT_TRUE(GetObject(orders, "eventBus")->at("connected").as_bool());
  EXPECT_EQ(GetInt(r.document, "uptimeSeconds"), 5);
  EXPECT_EQ(GetInt(*GetObject(r.document, "outbox"), "backlog"), 0);
  EXPECT_EQ(GetInt(*GetObject(r.document, "dlq"), "size"), 0);
}

TEST_F(HealthTest, DegradedWhileTheBrokerIsAwayAndHealthyAgainAfter) {
  HealthMonitor health(Sources());
  bus_.set_connected(false, "connection refused");
  HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kDegraded);
  EXPECT_EQ(r.HttpStatus(), 200);  // orders are still accepted into the outbox
  EXPECT_FALSE(Services(r).at("rabbitmq").as_bool());
  EXPECT_FALSE(Services(r).at("eventBus").as_bool());
  EXPECT_TRUE(Services(r).at("store").as_bool());
  EXPECT_TRUE(Services(r).at("orders").as_bool());
  EXPECT_EQ(GetString(Module(r, "orders"), "status"), "degraded");
  EXPECT_THAT(ToJsonText(r.document.at("reasons")), HasSubstr("connection refused"));

  bus_.set_connected(true);
  r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kHealthy);
  EXPECT_EQ(GetString(Module(r, "orders"), "status"), "healthy");
}

TEST_F(HealthTest, UnhealthyWhenTheStoreIsDown) {
  HealthMonitor health(Sources());
  store_.set_down(true);
  HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kUnhealthy);
  EXPECT_EQ(r.HttpStatus(), 503);
  EXPECT_FALSE(Services(r).at("store").as_bool());
  EXPECT_FALSE(Services(r).at("orders").as_bool());
  EXPECT_EQ(GetString(Module(r, "orders"), "status"), "unhealthy");
  EXPECT_FALSE(GetObject(Module(r, "orders"), "database")->at("connected").as_bool());

  bus_.set_connected(false);  // still unhealthy, not merely degraded
  EXPECT_EQ(health.Check().status, HealthStatus::kUnhealthy);
  store_.set_down(false);
  bus_.set_connected(true);
  EXPECT_EQ(health.Check().status, HealthStatus::kHealthy);
}

TEST_F(HealthTest, DegradedWhenTheOutboxLags) {
  HealthMonitor health(Sources());
  backlog_ = 101;
  HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kDegraded);
  EXPECT_EQ(GetInt(*GetObject(r.document, "outbox"), "backlog"), 101);
  backlog_ = 100;
  EXPECT_EQ(health.Check().status, HealthStatus::kHealthy);
}

TEST_F(HealthTest, DegradedWhileTheDlqGrowsFastThenHealthyOnceTheGrowthLeavesTheWindow) {
  HealthMonitor health(Sources());
  dlq_ = 3;
  EXPECT_EQ(health.Check().status, HealthStatus::kHealthy);
  clock_.Advance(1min);
  dlq_ = 12;  // +9
  EXPECT_EQ(health.Check().status, HealthStatus::kHealthy);
  clock_.Advance(1min);
  dlq_ = 13;  // +10 within five minutes
  HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kDegraded);
  EXPECT_EQ(GetInt(*GetObject(r.document, "dlq"), "growth"), 10);
  clock_.Advance(5min);  // the size stays, the growth is old news
  EXPECT_EQ(health.Check().status, HealthStatus::kHealthy);
}

TEST_F(HealthTest, AnOpenCircuitBreakerDegradesAndIsReported) {
  HealthMonitor health(Sources());
  breakers_.Get("smtp", clock_, {.failure_threshold = 1, .cool_down = 30s}).RecordFailure();
  HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kDegraded);
  const json::object& smtp = r.document.at("circuitBreakers").as_object().at("smtp").as_object();
  EXPECT_EQ(GetString(smtp, "state"), "open");
  clock_.Advance(30s);  // half-open: trying again, not degraded
  r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kHealthy);
  EXPECT_EQ(GetString(r.document.at("circuitBreakers").as_object().at("smtp").as_object(), "state"),
            "half_open");
}

TEST_F(HealthTest, ModulesReportTheirConsumersAndAQueueWithoutConsumerDegrades) {
  QueueDepthCache depths(bus_, 0ms);
  HealthSources sources = Sources();
  sources.queue_depths = &depths;
  HealthMonitor health(sources);
  bus_.set_depths({{"orders.events.queue", 2, 1},
                   {"payments.events.queue", 0, 3},
                   {"inventory.events.queue", 0, -1}});
  HealthReport r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kHealthy);
  EXPECT_EQ(GetInt(Module(r, "orders"), "consumers"), 1);
  EXPECT_EQ(GetInt(Module(r, "orders"), "queueDepth"), 2);
  EXPECT_EQ(GetInt(Module(r, "payments"), "consumers"), 3);
  EXPECT_TRUE(Module(r, "inventory").at("consumers").is_null());  // unknown

  bus_.set_depths({{"orders.events.queue", 2, 0}});
  r = health.Check();
  EXPECT_EQ(r.status, HealthStatus::kDegraded);
  EXPECT_EQ(GetString(Module(r, "orders"), "status"), "degraded");
}

TEST_F(HealthTest, RoutesAnswerLivenessReadinessAndTheDocument) {
  bool ready = false;
  HealthSources sources = Sources();
  sources.ready = [&] { return ready; };
  HealthMonitor health(sources);
  const auto routes = health.Routes();
  EXPECT_EQ(CallRoute(routes, "GET", "/healthz").status, 200);
  EXPECT_EQ(CallRoute(routes, "GET", "/readyz").status, 503);
  ready = true;
  EXPECT_EQ(CallRoute(routes, "GET", "/readyz").status, 200);

  ApiResponse r = CallRoute(routes, "GET", "/api/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(GetString(BodyOf(r), "status"), "healthy");
  store_.set_down(true);
  r = CallRoute(routes, "GET", "/api/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(GetString(BodyOf(r), "status"), "unhealthy");
}

TEST_F(HealthTest, TheFreeFunctionsStillWork) {
  const HealthSources sources = Sources();
  const auto routes = HealthRoutes(sources);
  bus_.set_connected(false);
  const ApiResponse r = CallRoute(routes, "GET", "/api/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(GetString(BodyOf(r), "status"), "degraded");
  EXPECT_EQ(HealthDocument(sources).status, 200);
  HealthSources nothing;
  EXPECT_EQ(HealthDocument(nothing).status, 503);
}

}  // namespace
}  // namespace shopflow::monitor
