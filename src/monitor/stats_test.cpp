#include "monitor/stats.hpp"

#include <gtest/gtest.h>

#include "events/event_types.hpp"
#include "monitor/monitor_test_support.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;
using testing::BodyOf;
using testing::CallRoute;
using testing::TempStore;
using testing::TestEvent;
using testing::WaitUntil;

class StatsTest : public ::testing::Test {
 protected:
  Envelope Event(std::string_view type) {
    return TestEvent(type, {{"orderId", "o1"}}, "orders", "c1", "", clock_.Now());
  }
  void Publish(StatsCollector& stats, int n, std::string_view type = events::kOrderCreated) {
    std::vector<Envelope> batch;
    for (int i = 0; i < n; ++i) batch.push_back(Event(type));
    stats.OnPublished(batch);
  }
  void Handle(StatsCollector& stats, HandlerOutcome outcome, std::chrono::milliseconds took) {
    Delivery d;
    d.envelope = Event(events::kOrderCreated);
    d.queue = "payments.events.queue";
    stats.OnHandled(d, outcome, took);
  }

  FakeClock clock_{FromUnixMillis(1'795'000'000'000)};  // on a whole second
};

TEST_F(StatsTest, PerMinuteRatesSlideWithTheClock) {
  StatsCollector stats(clock_);
  Publish(stats, 3);
  Handle(stats, HandlerOutcome::Ack(), 10ms);
  clock_.Advance(30s);
  Publish(stats, 2);
  Handle(stats, HandlerOutcome::Retry("x"), 30ms);
  Handle(stats, HandlerOutcome::DeadLetter("y"), 20ms);

  EventCounts minute = stats.LastMinute();
  EXPECT_EQ(minute.published, 5);
  EXPECT_EQ(minute.consumed, 1);
  EXPECT_EQ(minute.failed, 1);
  EXPECT_EQ(minute.dead_lettered, 1);
  EXPECT_DOUBLE_EQ(minute.AverageMs(), 20.0);

  clock_.Advance(30s);  // the first second has left the window
  minute = stats.LastMinute();
  EXPECT_EQ(minute.published, 2);
  EXPECT_EQ(minute.consumed, 0);
  EXPECT_DOUBLE_EQ(minute.AverageMs(), 25.0);

  clock_.Advance(30s);
  minute = stats.LastMinute();
  EXPECT_EQ(minute.published, 0);
  EXPECT_EQ(minute.AverageMs(), 0.0);

  const EventCounts total = stats.Totals();  // totals never slide
  EXPECT_EQ(total.published, 5);
  EXPECT_EQ(total.consumed, 1);
  EXPECT_EQ(total.failed, 1);
  EXPECT_EQ(total.dead_lettered, 1);
  EXPECT_DOUBLE_EQ(total.AverageMs(), 20.0);
}

TEST_F(StatsTest, TheWindowIgnoresTimesOlderThanItsBuckets) {
  RateWindow window;
  const TimePoint now = clock_.Now();
  window.Add(RateWindow::Kind::kPublished, now, 4);
  window.Add(RateWindow::Kind::kPublished, now - 60s, 7);  // same bucket, older second: ignored
  window.Add(RateWindow::Kind::kPublished, now - 59s, 1);
  EXPECT_EQ(window.Sum(now).published, 5);
  EXPECT_EQ(window.Sum(now + 1s).published, 4);
}

TEST_F(StatsTest, SnapshotAddsBusinessFiguresQueuesOutboxAndDlq) {
  TempStore store;
  store.Insert("orders", {{"o1", {{"status", "pending"}}},
                          {"o2", {{"status", "paid"}}},
                          {"o3", {{"status", "paid"}}},
                          {"o4", {{"status", "shipped"}}},
                          {"o5", {{"status", "failed"}}}});
  store.Insert("payments", {{"p1", {{"status", "succeeded"}, {"orderId", "o2"}}},
                            {"p2", {{"status", "succeeded"}, {"orderId", "o3"}}},
                            {"p3", {{"status", "failed"}, {"orderId", "o5"}}}});
  InMemoryEventBus bus(DefaultTopology(), clock_);
  const Envelope waiting = Event(events::kOrderCreated);
  ASSERT_TRUE(bus.Publish(std::span<const Envelope>(&waiting, 1)).ok());  // nobody consumes
  QueueDepthCache depths(bus, 0ms);
  StatsCollector stats(clock_, {.store = store.get(),
                                .queue_depths = &depths,
                                .outbox_backlog = [] { return int64_t{4}; },
                                .dlq_size = [] { return int64_t{-1}; }});
  Publish(stats, 2, events::kLowStockAlert);
  Publish(stats, 1);

  const json::object s = stats.Snapshot();
  EXPECT_EQ(GetInt(s, "activeOrders"), 3);
  EXPECT_EQ(GetInt(s, "totalPayments"), 3);
  EXPECT_EQ(GetInt(s, "inventoryAlerts"), 2);
  EXPECT_EQ(GetInt(s, "totalMessages"), 3);
  const auto& orders = *GetObject(s, "orders");
  EXPECT_EQ(GetInt(orders, "pending"), 1);
  EXPECT_EQ(GetInt(orders, "paid"), 2);
  const auto& by_status = *GetObject(*GetObject(s, "payments"), "byStatus");
  EXPECT_EQ(GetInt(by_status, "succeeded"), 2);
  EXPECT_EQ(GetInt(by_status, "failed"), 1);
  EXPECT_EQ(GetInt(by_status, "refunded"), 0);
  const auto& ev = *GetObject(s, "events");
  EXPECT_EQ(GetInt(ev, "published"), 3);
  EXPECT_EQ(GetInt(ev, "published_per_minute"), 3);
  EXPECT_TRUE(ev.contains("average_processing_time"));
  const auto& queues = *GetObject(s, "queues");
  EXPECT_EQ(GetInt(queues, "total_messages"), 3);  // payments, inventory, notifications
  EXPECT_EQ(GetInt(*GetObject(s, "outbox"), "backlog"), 4);
  EXPECT_TRUE(GetObject(s, "dlq")->at("size").is_null());  // unknown
  EXPECT_TRUE(GetObject(s, "store")->at("connected").as_bool());
  bus.Stop();
}

TEST_F(StatsTest, InventoryAlertsMayComeFromTheInventory) {
  StatsCollector stats(clock_, {.inventory_alerts = [] { return int64_t{6}; }});
  Publish(stats, 1, events::kLowStockAlert);
  EXPECT_EQ(GetInt(stats.Snapshot(), "inventoryAlerts"), 6);
}

TEST_F(StatsTest, TheStoreBeingDownLeavesBusinessFiguresUnknown) {
  TempStore store;
  testing::SwitchableStore switchable(*store);
  switchable.set_down(true);
  StatsCollector stats(clock_, {.store = &switchable});
  const json::object s = stats.Snapshot();
  EXPECT_TRUE(s.at("activeOrders").is_null());
  EXPECT_TRUE(s.at("totalPayments").is_null());
  EXPECT_FALSE(GetObject(s, "store")->at("connected").as_bool());
}

TEST_F(StatsTest, CountsRealBusTrafficAndAnswersTheStatsRoute) {
  TempStore store;
  InMemoryEventBus bus(DefaultTopology(), clock_);
  ObservedEventBus observed(bus);
  StatsCollector stats(clock_, {.store = store.get()});
  observed.AddObserver(&stats);
  for (const char* q :
       {"payments.events.queue", "inventory.events.queue", "notifications.events.queue"}) {
    observed.Subscribe(q, [](const Delivery&) { return HandlerOutcome::Ack(); }, {});
  }
  ASSERT_TRUE(observed.Start().ok());
  const Envelope e = Event(events::kOrderCreated);
  ASSERT_TRUE(observed.Publish(std::span<const Envelope>(&e, 1)).ok());
  ASSERT_TRUE(WaitUntil([&] { return stats.Totals().consumed == 3; }));
  bus.Stop();

  const ApiResponse r = CallRoute(stats.Routes(), "GET", "/api/stats");
  ASSERT_EQ(r.status, 200);
  const json::object body = BodyOf(r);
  EXPECT_EQ(GetInt(*GetObject(body, "events"), "consumed"), 3);
  EXPECT_EQ(GetInt(*GetObject(body, "events"), "consumed_per_minute"), 3);
  EXPECT_EQ(GetInt(body, "activeOrders"), 0);
  EXPECT_EQ(GetInt(body, "totalMessages"), 4);
}

}  // namespace
}  // namespace shopflow::monitor
