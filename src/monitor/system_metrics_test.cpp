#include "monitor/system_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "events/event_types.hpp"
#include "monitor/monitor_test_support.hpp"
#include "monitor/prometheus_test_parser.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;
using testing::CallRoute;
using testing::ParseExposition;
using testing::TestEvent;
using testing::WaitUntil;

class SystemMetricsTest : public ::testing::Test {
 protected:
  SystemMetricsTest() : bus_(DefaultTopology(Retry()), clock_, {.seed = 7}), observed_(bus_) {}
  ~SystemMetricsTest() override { bus_.Stop(); }

  static RetryPolicy Retry() {
    RetryPolicy r;
    r.max_attempts = 2;
    r.initial_delay = 10ms;
    return r;
  }

  Envelope Event(std::string_view type) {
    return TestEvent(type, json::object{{"orderId", "o-1"}}, "orders", "c-1", "", clock_.Now());
  }

  FakeClock clock_;
  InMemoryEventBus bus_;
  ObservedEventBus observed_;
};

TEST_F(SystemMetricsTest, EventCountersAndHandlerHistogramsMoveWithTraffic) {
  QueueDepthCache depths(bus_, 0ms);
  SystemMetrics metrics({.bus = &bus_, .queue_depths = &depths});
  observed_.AddObserver(&metrics);
  std::atomic<int> payments{0};
  observed_.Subscribe("payments.events.queue",
                      [&](const Delivery&) {
                        ++payments;
                        return HandlerOutcome::Ack();
                      },
                      {});
  observed_.Subscribe("inventory.events.queue",
                      [](const Delivery&) { return HandlerOutcome::DeadLetter("poison"); }, {});
  ASSERT_TRUE(observed_.Start().ok());
  // The bus's handler threads call `metrics`: they stop before it goes, however the test ends.
  struct StopBusFirst {
    InMemoryEventBus& bus;
    ~StopBusFirst() { bus.Stop(); }
  } stop_bus_first{bus_};

  auto before = ParseExposition(metrics.Exposition());
  EXPECT_THAT(before.errors, ::testing::IsEmpty());
  EXPECT_FALSE(before.Value("shopflow_events_total").has_value());

  const std::vector<Envelope> batch = {Event(events::kOrderCreated), Event(events::kOrderCreated)};
  ASSERT_TRUE(observed_.Publish(batch).ok());
  // A handler's outcome is counted before its duration is observed, and a dead-lettered event
  // reaches its DLQ after both: wait for every figure asserted below, not just the first.
  ASSERT_TRUE(WaitUntil([&] {
    auto p = ParseExposition(metrics.Exposition());
    return p.Value("shopflow_events_total", {{"outcome", "consumed"}}) == 2 &&
           p.Value("shopflow_events_total", {{"outcome", "dead_lettered"}}) == 2 &&
           p.Value("shopflow_handler_duration_seconds_count",
                   {{"queue", "payments.events.queue"}}) == 2 &&
           p.Value("shopflow_handler_duration_seconds_count",
                   {{"queue", "inventory.events.queue"}}) == 2 &&
           p.Value("shopflow_queue_depth", {{"queue", "dlq.inventory.reserve.failed"}}) == 2;
  }));

  const std::string text = metrics.Exposition();
  const auto after = ParseExposition(text);
  EXPECT_THAT(after.errors, ::testing::IsEmpty()) << text;
  EXPECT_EQ(after.Value("shopflow_events_total",
                        {{"event_type", "ORDER_CREATED"}, {"outcome", "published"}}),
            2);
  EXPECT_EQ(
      after.Value("shopflow_handler_duration_seconds_count", {{"queue", "payments.events.queue"}}),
      2);
  EXPECT_EQ(
      after.Value("shopflow_handler_duration_seconds_count", {{"queue", "inventory.events.queue"}}),
      2);
  EXPECT_EQ(after.Value("shopflow_bus_connected"), 1);
  // Nobody consumes the notifications queue: both events wait there.
  EXPECT_EQ(after.Value("shopflow_queue_depth", {{"queue", "notifications.events.queue"}}), 2);
  EXPECT_EQ(after.Value("shopflow_queue_depth", {{"queue", "dlq.inventory.reserve.failed"}}), 2);
}

TEST_F(SystemMetricsTest, HttpRequestsAreCountedByRoutePatternAndStatus) {
  SystemMetrics metrics;
  metrics.RecordHttpRequest("GET", "/api/orders/:id", 200, 0.004);
  metrics.RecordHttpRequest("GET", "/api/orders/:id", 404, 0.001);
  metrics.RecordHttpRequest("GET", "/api/orders/:id", 200, 0.3);
  metrics.RecordHttpRequest("GET", "", 404, 0.0001);
  metrics.RecordHttpRequest("BREW", "unmatched", 405, 0.0001);

  const auto p = ParseExposition(metrics.Exposition());
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  EXPECT_EQ(p.Value("shopflow_http_requests_total",
                    {{"method", "GET"}, {"route", "/api/orders/:id"}, {"status", "200"}}),
            2);
  EXPECT_EQ(p.Value("shopflow_http_requests_total", {{"route", "unmatched"}, {"status", "404"}}),
            1);
  EXPECT_EQ(p.Value("shopflow_http_requests_total", {{"method", "other"}, {"status", "405"}}), 1);
  EXPECT_EQ(p.Value("shopflow_http_request_duration_seconds_count",
                    {{"method", "GET"}, {"route", "/api/orders/:id"}}),
            3);
  EXPECT_EQ(p.Value("shopflow_http_request_duration_seconds_bucket",
                    {{"route", "/api/orders/:id"}, {"le", "0.005"}}),
            2);
}

TEST_F(SystemMetricsTest, GaugesReadTheirSourcesAtScrapeTime) {
  std::atomic<int64_t> backlog{3};
  CircuitBreakerSet breakers;
  breakers.Get("smtp", clock_, {.failure_threshold = 1}).RecordFailure();
  breakers.Get("gateway", clock_);
  SystemMetrics metrics({.outbox_backlog = [&] { return backlog.load(); },
                         .dlq_size = [] { return int64_t{5}; },
                         .bus_reconnects = [] { return int64_t{-1}; },  // unknown: no sample
                         .inbox_marks_pruned = [] { return int64_t{7}; },
                         .idempotency_keys_pruned = [] { return int64_t{4}; },
                         .circuit_breakers = &breakers});
  auto p = ParseExposition(metrics.Exposition());
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  EXPECT_EQ(p.Value("shopflow_outbox_backlog"), 3);
  EXPECT_EQ(p.Value("shopflow_dlq_size"), 5);
  EXPECT_FALSE(p.Value("shopflow_bus_reconnects_total").has_value());
  EXPECT_EQ(p.types.at("shopflow_bus_reconnects_total"), "counter");
  EXPECT_EQ(p.Value("shopflow_inbox_marks_pruned_total"), 7);
  EXPECT_EQ(p.types.at("shopflow_inbox_marks_pruned_total"), "counter");
  EXPECT_EQ(p.Value("shopflow_idempotency_keys_pruned_total"), 4);
  EXPECT_EQ(p.types.at("shopflow_idempotency_keys_pruned_total"), "counter");
  EXPECT_EQ(p.Value("shopflow_circuit_breaker_state", {{"name", "smtp"}}), 2);
  EXPECT_EQ(p.Value("shopflow_circuit_breaker_state", {{"name", "gateway"}}), 0);
  backlog = 0;
  EXPECT_EQ(ParseExposition(metrics.Exposition()).Value("shopflow_outbox_backlog"), 0);
}

TEST_F(SystemMetricsTest, MetricsRouteAnswersPrometheusText) {
  SystemMetrics metrics;
  metrics.RecordHttpRequest("POST", "/api/orders", 201, 0.01);
  const ApiResponse r = CallRoute(metrics.Routes(), "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  ASSERT_TRUE(r.raw_body.has_value());
  const auto p = ParseExposition(*r.raw_body);
  EXPECT_THAT(p.errors, ::testing::IsEmpty());
  EXPECT_EQ(p.Value("shopflow_http_requests_total", {{"route", "/api/orders"}}), 1);
}

}  // namespace
}  // namespace shopflow::monitor
