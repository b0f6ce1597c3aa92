#include "monitor/saga_timeline.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "events/event_types.hpp"
#include "monitor/message_log.hpp"
#include "monitor/monitor_test_support.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;
using ::testing::Contains;
using ::testing::Not;
using testing::TestEvent;

/// Builds event-log rows of a synthetic saga, with the times the test chooses.
class SagaLog {
 public:
  explicit SagaLog(const Topology& topology) : topology_(topology) {}

  Envelope Event(std::string_view type, std::string source, const Envelope* cause) {
    return TestEvent(type, {{"orderId", "o1"}}, std::move(source), "c1",
                     cause ? cause->metadata.message_id : "", start_);
  }

  void Published(const Envelope& e, Duration at) { Add(e, "published", "", 0, at); }
  void Handled(const Envelope& e, std::string queue, std::string_view status, int attempt,
               Duration at) {
    Add(e, status, std::move(queue), attempt, at);
  }
  /// Published at `at`, consumed by every routed queue at `at` + 1 ms.
  void Delivered(const Envelope& e, Duration at) {
    Published(e, at);
    for (const auto& q : topology_.Route(topology_.events_exchange, *RoutingKeyFor(e.event_type))) {
      Handled(e, q, "consumed", 1, at + 1ms);
    }
  }

  std::vector<json::object> rows;

 private:
  void Add(const Envelope& e, std::string_view status, std::string queue, int attempt,
           Duration at) {
    MessageObservation o;
    o.row_id = ids_.Next();
    o.envelope = e;
    o.status = std::string(status);
    o.routing_key = std::string(RoutingKeyFor(e.event_type).value_or(""));
    o.queue = queue;
    o.module = queue.empty() ? e.metadata.source : topology_.ModuleOfQueue(queue)->module;
    o.attempt = attempt;
    o.at = start_ + at;
    rows.push_back(ToMessageRow(o));
  }

  const Topology& topology_;
  FakeClock clock_;
  TimePoint start_ = clock_.Now();
  UlidGenerator ids_{clock_};
};

/// Position of the first entry matching (eventType, status, module).
size_t IndexOf(const json::array& events, std::string_view type, std::string_view status,
               std::string_view module = "") {
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i].as_object();
    if (GetString(e, "eventType") == type && GetString(e, "status") == status &&
        (module.empty() || GetString(e, "module") == module)) {
      return i;
    }
  }
  ADD_FAILURE() << "no " << type << " " << status << " " << module;
  return events.size();
}

std::vector<std::string> PendingOf(const json::object& timeline) {
  std::vector<std::string> out;
  if (const auto* steps = GetArray(timeline, "pendingSteps")) {
    for (const auto& s : *steps) out.emplace_back(s.as_string());
  }
  return out;
}

class SagaTimelineTest : public ::testing::Test {
 protected:
  /// The happy saga: ORDER_CREATED → INVENTORY_RESERVED, PAYMENT_REQUESTED → PAYMENT_SUCCEEDED
  /// → ORDER_CONFIRMED → INVENTORY_CONFIRMED, every delivery consumed. The children are
  /// logged with times *before* their causes' consumption (clock skew between processes).
  void LogHappySaga(SagaLog& log) {
    created_ = log.Event(events::kOrderCreated, "orders", nullptr);
    reserved_ = log.Event(events::kInventoryReserved, "inventory", &created_);
    requested_ = log.Event(events::kPaymentRequested, "payments", &created_);
    succeeded_ = log.Event(events::kPaymentSucceeded, "payments", &requested_);
    confirmed_ = log.Event(events::kOrderConfirmed, "orders", &succeeded_);
    stock_confirmed_ = log.Event(events::kInventoryConfirmed, "inventory", &confirmed_);
    log.Delivered(created_, 100ms);
    log.Delivered(reserved_, 50ms);  // "earlier" than its cause
    log.Delivered(requested_, 120ms);
    log.Delivered(succeeded_, 90ms);
    log.Delivered(confirmed_, 95ms);
    log.Delivered(stock_confirmed_, 10ms);
  }

  Topology topology_ = DefaultTopology();
  Envelope created_, reserved_, requested_, succeeded_, confirmed_, stock_confirmed_;
};

TEST_F(SagaTimelineTest, OrdersASagaCausallyWhateverTheOrderRowsArriveIn) {
  SagaLog log(topology_);
  LogHappySaga(log);
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    std::vector<json::object> rows = log.rows;
    std::shuffle(rows.begin(), rows.end(), random);
    const json::object timeline = BuildTimeline("o1", rows, topology_);
    const json::array& events = timeline.at("events").as_array();
    ASSERT_EQ(events.size(), log.rows.size());

    const size_t created = IndexOf(events, "ORDER_CREATED", "published");
    const size_t created_by_inventory = IndexOf(events, "ORDER_CREATED", "consumed", "inventory");
    const size_t created_by_payments = IndexOf(events, "ORDER_CREATED", "consumed", "payments");
    const size_t reserved = IndexOf(events, "INVENTORY_RESERVED", "published");
    const size_t requested = IndexOf(events, "PAYMENT_REQUESTED", "published");
    const size_t succeeded = IndexOf(events, "PAYMENT_SUCCEEDED", "published");
    const size_t succeeded_by_orders = IndexOf(events, "PAYMENT_SUCCEEDED", "consumed", "orders");
    const size_t confirmed = IndexOf(events, "ORDER_CONFIRMED", "published");
    const size_t confirmed_by_inventory =
        IndexOf(events, "ORDER_CONFIRMED", "consumed", "inventory");
    const size_t stock_confirmed = IndexOf(events, "INVENTORY_CONFIRMED", "published");

    EXPECT_EQ(created, 0u);
    EXPECT_LT(created, created_by_inventory);
    EXPECT_LT(created_by_inventory, reserved);  // inventory consumed it, then reserved
    EXPECT_LT(created_by_payments, requested);
    EXPECT_LT(requested, succeeded);
    EXPECT_LT(succeeded, succeeded_by_orders);
    EXPECT_LT(succeeded_by_orders, confirmed);
    EXPECT_LT(confirmed, confirmed_by_inventory);
    EXPECT_LT(confirmed_by_inventory, stock_confirmed);
    // Every delivery after its event's publication.
    std::map<std::string, size_t> published_at;
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i].as_object();
      if (GetString(e, "status") == "published") published_at[GetString(e, "messageId")] = i;
    }
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i].as_object();
      if (GetString(e, "status") != "published") {
        EXPECT_LT(published_at.at(GetString(e, "messageId")), i);
      }
    }
    EXPECT_TRUE(timeline.at("settled").as_bool()) << ToJsonText(timeline);
    EXPECT_FALSE(timeline.contains("pendingSteps"));
  }
}

TEST_F(SagaTimelineTest, EntriesCarryModuleStatusCausationAndTimings) {
  SagaLog log(topology_);
  LogHappySaga(log);
  const json::object timeline = BuildTimeline("o1", log.rows, topology_);
  const json::array& events = timeline.at("events").as_array();
  const auto& consumed =
      events[IndexOf(events, "INVENTORY_RESERVED", "consumed", "orders")].as_object();
  EXPECT_EQ(GetString(consumed, "module"), "orders");
  EXPECT_EQ(GetString(consumed, "source"), "inventory");
  EXPECT_EQ(GetString(consumed, "queue"), "orders.events.queue");
  EXPECT_EQ(GetString(consumed, "causationId"), created_.metadata.message_id);
  EXPECT_EQ(GetString(consumed, "messageId"), reserved_.metadata.message_id);
  EXPECT_EQ(GetInt(consumed, "attempt"), 1);
  EXPECT_FALSE(GetString(consumed, "at").empty());
  EXPECT_EQ(GetString(timeline, "orderId"), "o1");
  EXPECT_LE(GetString(timeline, "startedAt"), GetString(timeline, "lastEventAt"));
}

TEST_F(SagaTimelineTest, AttemptsOfADeliveryFollowTheirNumbersNotTheClock) {
  SagaLog log(topology_);
  const Envelope created = log.Event(events::kOrderCreated, "orders", nullptr);
  log.Published(created, 0ms);
  log.Handled(created, "payments.events.queue", "consumed", 3, 10ms);
  log.Handled(created, "payments.events.queue", "failed", 2, 20ms);  // skewed clock
  log.Handled(created, "payments.events.queue", "failed", 1, 30ms);
  const auto ordered = CausalOrder(log.rows);
  ASSERT_EQ(ordered.size(), 4u);
  EXPECT_EQ(GetInt(ordered[1], "attempt"), 1);
  EXPECT_EQ(GetInt(ordered[2], "attempt"), 2);
  EXPECT_EQ(GetInt(ordered[3], "attempt"), 3);
}

TEST_F(SagaTimelineTest, UnfinishedSagasNameWhatIsMissing) {
  SagaLog log(topology_);
  const Envelope created = log.Event(events::kOrderCreated, "orders", nullptr);
  const Envelope reserved = log.Event(events::kInventoryReserved, "inventory", &created);
  const Envelope requested = log.Event(events::kPaymentRequested, "payments", &created);
  const Envelope succeeded = log.Event(events::kPaymentSucceeded, "payments", &requested);
  const Envelope confirmed = log.Event(events::kOrderConfirmed, "orders", &succeeded);
  log.Delivered(created, 0ms);
  log.Delivered(reserved, 1ms);
  log.Delivered(requested, 2ms);
  log.Delivered(succeeded, 3ms);
  log.Published(confirmed, 4ms);  // no consumer has handled it yet

  const json::object timeline = BuildTimeline("o1", log.rows, topology_);
  EXPECT_FALSE(timeline.at("settled").as_bool());
  const auto pending = PendingOf(timeline);
  EXPECT_THAT(pending, Contains("INVENTORY_CONFIRMED"));
  EXPECT_THAT(pending, Contains("ORDER_CONFIRMED -> inventory.events.queue"));
  EXPECT_THAT(pending, Not(Contains("ORDER_CONFIRMED")));
}

TEST_F(SagaTimelineTest, AFailedSagaSettlesOnlyOnceCompensated) {
  SagaLog log(topology_);
  const Envelope created = log.Event(events::kOrderCreated, "orders", nullptr);
  const Envelope reserved = log.Event(events::kInventoryReserved, "inventory", &created);
  const Envelope requested = log.Event(events::kPaymentRequested, "payments", &created);
  const Envelope declined = log.Event(events::kPaymentFailed, "payments", &requested);
  const Envelope failed = log.Event(events::kOrderFailed, "orders", &declined);
  log.Delivered(created, 0ms);
  log.Delivered(reserved, 1ms);
  log.Delivered(requested, 2ms);
  log.Delivered(declined, 3ms);
  log.Delivered(failed, 4ms);
  json::object timeline = BuildTimeline("o1", log.rows, topology_);
  EXPECT_FALSE(timeline.at("settled").as_bool());
  EXPECT_THAT(PendingOf(timeline), ::testing::ElementsAre("INVENTORY_RELEASED"));

  log.Delivered(log.Event(events::kInventoryReleased, "inventory", &failed), 5ms);
  timeline = BuildTimeline("o1", log.rows, topology_);
  EXPECT_TRUE(timeline.at("settled").as_bool()) << ToJsonText(timeline);
}

TEST_F(SagaTimelineTest, ACausationCycleDoesNotHang) {
  SagaLog log(topology_);
  Envelope a = log.Event(events::kOrderCreated, "orders", nullptr);
  Envelope b = log.Event(events::kInventoryReserved, "inventory", &a);
  a.metadata.causation_id = b.metadata.message_id;  // corrupt data
  log.Published(a, 0ms);
  log.Published(b, 1ms);
  EXPECT_EQ(CausalOrder(log.rows).size(), 2u);
}

}  // namespace
}  // namespace shopflow::monitor
