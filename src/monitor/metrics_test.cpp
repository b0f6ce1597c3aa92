#include "monitor/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "monitor/prometheus_test_parser.hpp"

namespace shopflow::monitor {
namespace {

using ::testing::HasSubstr;
using testing::ParseExposition;

TEST(MetricsFormatTest, FormatsValuesAsPrometheusExpects) {
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(-2), "-2");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(0.001), "0.001");
  EXPECT_EQ(FormatMetricValue(HUGE_VAL), "+Inf");
  EXPECT_EQ(FormatMetricValue(-HUGE_VAL), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(EscapeHelp("line\\one\nline \"two\""), "line\\\\one\\nline \"two\"");
}

TEST(MetricsRegistryTest, ExpositionParsesWithEveryKindOfFamily) {
  MetricsRegistry registry;
  auto& requests =
      registry.AddCounter("demo_requests_total", "Requests.\nSecond line", {"route", "status"});
  auto& temperature = registry.AddGauge("demo_temperature", "A gauge.");
  auto& latency =
      registry.AddHistogram("demo_latency_seconds", "A histogram.", {"route"}, {0.1, 0.5, 1});
  registry.AddCallback("demo_depth", "Computed.", MetricType::kGauge, {"queue"}, [] {
    return std::vector<Sample>{{{"orders.events.queue"}, 4}, {{"weird \"q\"\n"}, 1}};
  });
  registry.AddCounter("demo_empty_total", "No series yet.");

  requests.With({"/api/orders/:id", "200"}).Inc();
  requests.With({"/api/orders/:id", "200"}).Inc(2);
  requests.With({"/api/orders", "201"}).Inc();
  requests.With({"/api/orders", "201"}).Inc(-5);  // ignored: counters only go up
  temperature.With({}).Set(-3.5);
  for (double v : {0.05, 0.1, 0.2, 0.7, 3.0}) latency.With({"/a"}).Observe(v);
  latency.With({"/b"}).Observe(NAN);  // ignored
  latency.With({"/b"}).Observe(0.3);

  const std::string text = registry.Expose();
  const auto parsed = ParseExposition(text);
  EXPECT_THAT(parsed.errors, ::testing::IsEmpty()) << text;
  EXPECT_THAT(text, HasSubstr("# HELP demo_requests_total Requests.\\nSecond line\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE demo_latency_seconds histogram\n"));
  EXPECT_EQ(parsed.types.at("demo_empty_total"), "counter");
  EXPECT_EQ(parsed.Value("demo_requests_total", {{"route", "/api/orders/:id"}, {"status", "200"}}),
            3);
  EXPECT_EQ(parsed.Value("demo_requests_total", {{"route", "/api/orders"}}), 1);
  EXPECT_EQ(parsed.Value("demo_temperature"), -3.5);
  EXPECT_EQ(parsed.Value("demo_depth", {{"queue", "weird \"q\"\n"}}), 1);
  // Buckets are inclusive upper bounds and cumulative.
  EXPECT_EQ(parsed.Value("demo_latency_seconds_bucket", {{"route", "/a"}, {"le", "0.1"}}), 2);
  EXPECT_EQ(parsed.Value("demo_latency_seconds_bucket", {{"route", "/a"}, {"le", "0.5"}}), 3);
  EXPECT_EQ(parsed.Value("demo_latency_seconds_bucket", {{"route", "/a"}, {"le", "1"}}), 4);
  EXPECT_EQ(parsed.Value("demo_latency_seconds_bucket", {{"route", "/a"}, {"le", "+Inf"}}), 5);
  EXPECT_EQ(parsed.Value("demo_latency_seconds_count", {{"route", "/a"}}), 5);
  EXPECT_DOUBLE_EQ(*parsed.Value("demo_latency_seconds_sum", {{"route", "/a"}}), 4.05);
  EXPECT_EQ(parsed.Value("demo_latency_seconds_count", {{"route", "/b"}}), 1);
}

TEST(MetricsRegistryTest, TheParserRejectsBrokenExpositions) {
  EXPECT_FALSE(ParseExposition("x 1\n").errors.empty());  // no TYPE
  EXPECT_FALSE(ParseExposition("# TYPE x counter\nx{a=\"1} 1\n").errors.empty());
  EXPECT_FALSE(ParseExposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                               "h_count 1\nh_sum 1\n")
                   .errors.empty());  // not cumulative
  EXPECT_FALSE(ParseExposition("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\nh_sum 1\n")
                   .errors.empty());  // +Inf != count
}

TEST(MetricsRegistryTest, SeriesBeyondTheCapShareAnOverflowSeries) {
  MetricsRegistry registry;
  auto& events = registry.AddCounter("demo_events_total", "Events.", {"type"}, 2);
  events.With({"a"}).Inc();
  events.With({"b"}).Inc();
  events.With({"c"}).Inc();
  events.With({"d"}).Inc();
  events.With({"a"}).Inc();
  const auto parsed = ParseExposition(registry.Expose());
  EXPECT_EQ(parsed.Value("demo_events_total", {{"type", "a"}}), 2);
  EXPECT_EQ(parsed.Value("demo_events_total", {{"type", "_other"}}), 2);
  EXPECT_EQ(parsed.samples.size(), 3u);
}

TEST(MetricsRegistryTest, ProgrammingErrorsThrow) {
  MetricsRegistry registry;
  EXPECT_THROW(registry.AddCounter("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("ok", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "x", {"le"}, {1}), std::invalid_argument);
  auto& c = registry.AddCounter("dup_total", "x", {"a"});
  EXPECT_THROW(registry.AddGauge("dup_total", "x"), std::invalid_argument);
  EXPECT_THROW(c.With({"1", "2"}), std::invalid_argument);
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto& counter = registry.AddCounter("demo_total", "x", {"worker"});
  auto& histogram = registry.AddHistogram("demo_seconds", "x", {}, DefaultLatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2'500; ++i) {
        counter.With({t % 2 == 0 ? "even" : "odd"}).Inc();
        histogram.With({}).Observe(0.002 * (i % 7));
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto parsed = ParseExposition(registry.Expose());
  EXPECT_THAT(parsed.errors, ::testing::IsEmpty());
  EXPECT_EQ(parsed.Value("demo_total", {{"worker", "even"}}), 5'000);
  EXPECT_EQ(parsed.Value("demo_total", {{"worker", "odd"}}), 5'000);
  EXPECT_EQ(parsed.Value("demo_seconds_count"), 10'000);
}

}  // namespace
}  // namespace shopflow::monitor
