#include "monitor/live/live_feed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "events/envelope.hpp"
#include "events/event_types.hpp"
#include "events/observed_event_bus.hpp"
#include "events/topology.hpp"
#include "http/http_server.hpp"
#include "http/websocket_hub.hpp"
#include "tests/support/ws_client.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using testing::WsClient;

constexpr std::string_view kPaymentsQueue = "payments.events.queue";
constexpr std::string_view kInventoryQueue = "inventory.events.queue";

// Polls a condition that no event announces, with a deadline (and without sleeping).
template <class Predicate>
bool WaitUntil(Predicate predicate, std::chrono::milliseconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

std::string Str(const json::object& object, std::string_view key) {
  const json::value* member = object.if_contains(key);
  if (member == nullptr || !member->is_string()) return "<no string " + std::string(key) + ">";
  return std::string(member->as_string());
}

/// The next frame as a JSON object, or nullopt on timeout.
std::optional<json::object> NextFrame(WsClient& client, std::chrono::milliseconds within = 10s) {
  auto text = client.Read(within);
  if (!text) return std::nullopt;
  auto parsed = ParseJson(*text);
  if (!parsed || !parsed->is_object()) {
    ADD_FAILURE() << "not a JSON object: " << *text;
    return std::nullopt;
  }
  return parsed->as_object();
}

/// The next frame of `type`, skipping others (stats ticks while waiting for events).
std::optional<json::object> NextOfType(WsClient& client, std::string_view type) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto frame = NextFrame(client);
    if (!frame) return std::nullopt;
    if (Str(*frame, "type") == type) return frame;
  }
  return std::nullopt;
}

class LiveFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RetryPolicy retry;
    retry.initial_delay = 10ms;
    retry.max_attempts = 3;
    retry.jitter = 0;
    InMemoryBusOptions bus_options;
    bus_options.seed = 1;
    bus_ = std::make_unique<InMemoryEventBus>(DefaultTopology(retry), SystemClock::Instance(),
                                              bus_options);
    events_ = std::make_unique<ObservedEventBus>(*bus_, DefaultTopology(retry));
    server_ = std::make_unique<HttpServer>(HttpServerOptions{}, std::vector<Route>{});
    server_->AddWebSocket(hub_);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }

  void TearDown() override {
    // The composition root's order: HTTP first, then the bus, then the feed.
    server_->Stop();
    bus_->Stop();
    if (feed_) feed_->Stop();
  }

  /// A feed observing the bus; its ticker is not started.
  void MakeFeed(LiveFeedOptions options = {}) {
    feed_ = std::make_unique<LiveFeed>(
        hub_, [this] { return Stats(); }, [this] { return Health(); }, SystemClock::Instance(),
        options);
    events_->AddObserver(feed_.get());
  }

  json::object Stats() {
    const int n = ++stats_calls_;
    if (stats_throw_) throw std::runtime_error("store unavailable");
    return json::object{
        {"totalMessages", n}, {"activeOrders", 2}, {"totalPayments", 3}, {"inventoryAlerts", 0}};
  }

  json::object Health() {
    const int n = ++health_calls_;
    const bool up = broker_up_.load();
    return json::object{
        {"status", up ? "healthy" : "degraded"},
        {"services", json::object{{"rabbitmq", up}, {"mongodb", true}, {"orders", true}}},
        {"modules", json::object{{"checks", n}}},  // changes every tick: not a change of state
    };
  }

  WsClient Connect() {
    WsClient client("127.0.0.1", port_);
    return client;
  }

  Envelope Event(std::string_view type, json::object data, std::string causation = "") {
    return MakeEvent(std::string(type), std::move(data), "orders", "corr-" + std::to_string(++n_),
                     std::move(causation), SystemClock::Instance().Now());
  }

  WebSocketHub hub_;  // outlives the server and the feed
  std::unique_ptr<InMemoryEventBus> bus_;
  std::unique_ptr<ObservedEventBus> events_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<LiveFeed> feed_;
  int port_ = 0;
  int n_ = 0;
  std::atomic<int> stats_calls_{0};
  std::atomic<int> health_calls_{0};
  std::atomic<bool> stats_throw_{false};
  std::atomic<bool> broker_up_{true};
};

TEST_F(LiveFeedTest, PublishedAndConsumedEventsBecomeMessageFlowFrames) {
  MakeFeed();
  auto client = Connect();
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 1; }));
  events_->Subscribe(std::string(kPaymentsQueue),
                     [](const Delivery&) { return HandlerOutcome::Ack(); }, {});

  Envelope event =
      Event(events::kOrderCreated, json::object{{"orderId", "o-1"}, {"total", 19.99}}, "cause-0");
  // Published before the bus starts, so the delivery cannot overtake the publication.
  ASSERT_TRUE(events_->Publish(std::span(&event, 1)));
  ASSERT_TRUE(events_->Start());

  auto published = NextFrame(client);
  ASSERT_TRUE(published.has_value());
  EXPECT_EQ(Str(*published, "type"), "message_flow");
  EXPECT_EQ(Str(*published, "status"), "published");
  EXPECT_EQ(Str(*published, "eventType"), "ORDER_CREATED");
  EXPECT_EQ(published->at("data"), json::value(event.data));
  EXPECT_EQ(Str(*published, "timestamp"), FormatRfc3339(event.metadata.timestamp));
  EXPECT_EQ(Str(*published, "source"), "orders");
  EXPECT_EQ(Str(*published, "correlationId"), event.metadata.correlation_id);
  EXPECT_EQ(Str(*published, "messageId"), event.metadata.message_id);
  EXPECT_EQ(Str(*published, "causationId"), "cause-0");
  EXPECT_FALSE(published->contains("queue"));

  auto consumed = NextFrame(client);
  ASSERT_TRUE(consumed.has_value());
  EXPECT_EQ(Str(*consumed, "type"), "message_flow");
  EXPECT_EQ(Str(*consumed, "status"), "consumed");
  EXPECT_EQ(Str(*consumed, "eventType"), "ORDER_CREATED");
  EXPECT_EQ(Str(*consumed, "messageId"), event.metadata.message_id);
  EXPECT_EQ(Str(*consumed, "correlationId"), event.metadata.correlation_id);
  EXPECT_EQ(consumed->at("data"), json::value(event.data));
  EXPECT_EQ(Str(*consumed, "queue"), kPaymentsQueue);
  EXPECT_EQ(consumed->at("attempt"), json::value(1));
  ASSERT_TRUE(consumed->at("durationMs").is_double());
  EXPECT_GE(consumed->at("durationMs").as_double(), 0.0);
  EXPECT_TRUE(ParseRfc3339(Str(*consumed, "handledAt")).has_value());
  EXPECT_FALSE(consumed->contains("reason"));
}

TEST_F(LiveFeedTest, FailedAndDeadLetteredDeliveriesCarryTheReason) {
  MakeFeed();
  auto client = Connect();
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 1; }));
  events_->Subscribe(std::string(kPaymentsQueue),
                     [](const Delivery& delivery) {
                       if (GetString(delivery.envelope.data, "mode") == "poison") {
                         return HandlerOutcome::DeadLetter("poison pill");
                       }
                       if (delivery.attempt == 1) return HandlerOutcome::Retry("gateway timeout");
                       return HandlerOutcome::Ack();
                     },
                     {});
  std::vector<Envelope> batch{Event(events::kOrderCreated, json::object{{"mode", "flaky"}}),
                              Event(events::kOrderCreated, json::object{{"mode", "poison"}})};
  ASSERT_TRUE(events_->Publish(batch));
  ASSERT_TRUE(events_->Start());

  // One consumer, FIFO: both publications, the first attempt of each, then the retry.
  struct Expected {
    size_t event;
    std::string status;
    int attempt;
    std::string reason;
  };
  const std::vector<Expected> expected{{0, "published", 0, ""},
                                       {1, "published", 0, ""},
                                       {0, "failed", 1, "gateway timeout"},
                                       {1, "dead_lettered", 1, "poison pill"},
                                       {0, "consumed", 2, ""}};
  for (const auto& want : expected) {
    auto frame = NextFrame(client);
    ASSERT_TRUE(frame.has_value()) << want.status;
    EXPECT_EQ(Str(*frame, "messageId"), batch[want.event].metadata.message_id) << want.status;
    EXPECT_EQ(Str(*frame, "status"), want.status);
    EXPECT_TRUE(frame->contains("causationId") && frame->at("causationId").is_null());
    if (want.attempt > 0) {
      EXPECT_EQ(frame->at("attempt"), json::value(want.attempt));
    }
    if (!want.reason.empty()) {
      EXPECT_EQ(Str(*frame, "reason"), want.reason);
    } else {
      EXPECT_FALSE(frame->contains("reason"));
    }
  }
}

TEST_F(LiveFeedTest, EachFrameIsSerializedOnceWhateverTheNumberOfClients) {
  MakeFeed();
  Envelope unseen = Event(events::kOrderCreated, json::object{{"n", 1}});
  ASSERT_TRUE(events_->Publish(std::span(&unseen, 1)));
  EXPECT_EQ(feed_->frames_serialized(), 0u) << "no client: no work";

  std::vector<WsClient> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect());
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 3; }));
  Envelope event = Event(events::kOrderCreated, json::object{{"n", 2}});
  ASSERT_TRUE(events_->Publish(std::span(&event, 1)));
  EXPECT_EQ(feed_->frames_serialized(), 1u);

  std::vector<std::string> received;
  for (auto& client : clients) {
    auto text = client.Read();
    ASSERT_TRUE(text.has_value());
    received.push_back(*text);
  }
  EXPECT_EQ(received[0], received[1]);
  EXPECT_EQ(received[0], received[2]);
  EXPECT_NE(received[0].find(event.metadata.message_id), std::string::npos);
}

TEST_F(LiveFeedTest, AFilteredClientGetsOnlyTheMessageFlowFramesItAskedFor) {
  MakeFeed();
  WsClient all("127.0.0.1", port_);
  WsClient settled("127.0.0.1", port_,
                   {.target = "/ws?eventType=ORDER_CONFIRMED,ORDER_FAILED&status=published"});
  WsClient consumed("127.0.0.1", port_, {.target = "/ws?status=consumed&access_token=x"});
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 3; }));
  events_->Subscribe(std::string(kInventoryQueue),
                     [](const Delivery&) { return HandlerOutcome::Ack(); }, {});

  // Inventory consumes order.*: each event gives a published and a consumed frame.
  std::vector<Envelope> batch = {Event(events::kOrderCreated, {{"n", 1}}),
                                 Event(events::kOrderConfirmed, {{"n", 2}}),
                                 Event(events::kOrderFailed, {{"n", 3}})};
  ASSERT_TRUE(events_->Publish(batch));
  ASSERT_TRUE(events_->Start());

  auto flows = [](WsClient& client, size_t n) {
    std::multiset<std::string> seen;  // "status eventType"
    while (seen.size() < n) {
      auto frame = NextOfType(client, "message_flow");
      if (!frame) break;
      seen.insert(Str(*frame, "status") + " " + Str(*frame, "eventType"));
    }
    return seen;
  };
  EXPECT_EQ(flows(all, 6).size(), 6u);
  EXPECT_EQ(flows(settled, 2),
            (std::multiset<std::string>{"published ORDER_CONFIRMED", "published ORDER_FAILED"}));
  EXPECT_EQ(flows(consumed, 3),
            (std::multiset<std::string>{"consumed ORDER_CREATED", "consumed ORDER_CONFIRMED",
                                        "consumed ORDER_FAILED"}));
  // Nothing else arrives for the filtered clients: the unfiltered one has seen everything, and
  // one event more shows that the next frame each gets is the next it asked for.
  Envelope last = Event(events::kOrderFailed, {{"n", 4}});
  ASSERT_TRUE(events_->Publish(std::span(&last, 1)));
  auto next = NextOfType(settled, "message_flow");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Str(*next, "messageId"), last.metadata.message_id);
  auto next_consumed = NextOfType(consumed, "message_flow");
  ASSERT_TRUE(next_consumed.has_value());
  EXPECT_EQ(Str(*next_consumed, "messageId"), last.metadata.message_id);
  EXPECT_EQ(Str(*next_consumed, "status"), "consumed");
}

TEST_F(LiveFeedTest, AFrameNoClientWantsIsNotBuilt) {
  MakeFeed();
  WsClient settled("127.0.0.1", port_, {.target = "/ws?eventType=ORDER_CONFIRMED"});
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 1; }));
  Envelope other = Event(events::kOrderCreated, {{"n", 1}});
  ASSERT_TRUE(events_->Publish(std::span(&other, 1)));
  EXPECT_EQ(feed_->frames_serialized(), 0u);
  Envelope wanted = Event(events::kOrderConfirmed, {{"n", 2}});
  ASSERT_TRUE(events_->Publish(std::span(&wanted, 1)));
  EXPECT_EQ(feed_->frames_serialized(), 1u);
}

TEST_F(LiveFeedTest, AnUnknownStatusInTheFilterRefusesTheUpgradeWith400) {
  MakeFeed();
  try {
    WsClient bad("127.0.0.1", port_, {.target = "/ws?status=published,bogus"});
    ADD_FAILURE() << "the upgrade was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("400"), std::string::npos) << e.what();
  }
  EXPECT_EQ(hub_.client_count(), 0u);
}

TEST(FlowFilterTest, ListsRepeatsAndEmptyItems) {
  auto topic = [](std::string_view status, std::string_view type) {
    return std::string(status) + ":" + std::string(type);
  };
  auto none = ParseFlowFilter("/ws?access_token=abc");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none) << "no filter: an empty interest (everything)";

  auto f = ParseFlowFilter("/ws?eventType=A,,B&eventType=C&status=failed");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(*f);
  EXPECT_TRUE((*f)(topic("failed", "A")));
  EXPECT_TRUE((*f)(topic("failed", "C")));
  EXPECT_FALSE((*f)(topic("consumed", "A")));
  EXPECT_FALSE((*f)(topic("failed", "D")));
  EXPECT_FALSE((*f)(topic("failed", "")));
  EXPECT_FALSE((*f)("no colon"));

  auto statuses = ParseFlowFilter("/ws?status=dead_lettered%2Cpublished");
  ASSERT_TRUE(statuses.ok());
  EXPECT_TRUE((*statuses)(topic("published", "X")));
  EXPECT_TRUE((*statuses)(topic("dead_lettered", "Y")));
  EXPECT_FALSE((*statuses)(topic("consumed", "X")));

  auto bad = ParseFlowFilter("/ws?status=paid");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kValidationFailed);
}

TEST_F(LiveFeedTest, StatsUpdateArrivesEveryInterval) {
  LiveFeedOptions options;
  options.stats_interval = 50ms;
  MakeFeed(options);
  auto client = Connect();
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 1; }));
  feed_->Start();

  const auto started = std::chrono::steady_clock::now();
  int64_t previous = 0;
  for (int i = 0; i < 5; ++i) {
    auto frame = NextOfType(client, "stats_update");
    ASSERT_TRUE(frame.has_value()) << "tick " << i;
    const int64_t total = frame->at("totalMessages").as_int64();
    EXPECT_GT(total, previous);
    previous = total;
    EXPECT_EQ(frame->at("activeOrders"), json::value(2));
    EXPECT_EQ(frame->at("totalPayments"), json::value(3));
    EXPECT_EQ(frame->at("inventoryAlerts"), json::value(0));
    EXPECT_TRUE(ParseRfc3339(Str(*frame, "timestamp")).has_value());
  }
  // The first tick runs at once; four more need four intervals (the ticker does not rush).
  EXPECT_GE(std::chrono::steady_clock::now() - started, 4 * 50ms - 20ms);
}

TEST_F(LiveFeedTest, SystemHealthIsSentOncePerChange) {
  LiveFeedOptions options;
  options.stats_interval = 20ms;
  MakeFeed(options);
  auto client = Connect();  // before the first tick: no welcome snapshot yet
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 1; }));
  feed_->Start();

  // Counts system_health frames while `ticks` stats_update frames go by.
  auto count_health = [&](int ticks, std::vector<json::object>& health) {
    for (int seen = 0; seen < ticks;) {
      auto frame = NextFrame(client);
      if (!frame) return false;
      if (Str(*frame, "type") == "stats_update") ++seen;
      if (Str(*frame, "type") == "system_health") health.push_back(*frame);
    }
    return true;
  };

  std::vector<json::object> health;
  ASSERT_TRUE(count_health(6, health));
  ASSERT_EQ(health.size(), 1u) << "the first tick only";
  EXPECT_EQ(Str(health[0], "status"), "healthy");
  EXPECT_EQ(health[0].at("services").at("rabbitmq"), json::value(true));
  EXPECT_TRUE(health[0].contains("modules"));

  broker_up_ = false;
  auto changed = NextOfType(client, "system_health");
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(Str(*changed, "status"), "degraded");
  EXPECT_EQ(changed->at("services").at("rabbitmq"), json::value(false));
  health.clear();
  ASSERT_TRUE(count_health(6, health));
  EXPECT_TRUE(health.empty()) << "no change, no frame";
}

TEST_F(LiveFeedTest, NewClientFirstGetsTheLatestStatsAndHealth) {
  LiveFeedOptions options;
  options.stats_interval = 20ms;
  MakeFeed(options);
  feed_->Start();
  // The second stats call begins after the first tick (stats, then health) completed.
  ASSERT_TRUE(WaitUntil([&] { return stats_calls_.load() >= 2; }));

  auto client = Connect();
  auto first = NextFrame(client);
  auto second = NextFrame(client);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Str(*first, "type"), "stats_update");
  EXPECT_EQ(Str(*second, "type"), "system_health");
  EXPECT_EQ(Str(*second, "status"), "healthy");
}

TEST_F(LiveFeedTest, AFailingSourceSkipsItsFrameOnly) {
  LiveFeedOptions options;
  options.stats_interval = 20ms;
  MakeFeed(options);
  stats_throw_ = true;
  auto client = Connect();
  ASSERT_TRUE(WaitUntil([&] { return hub_.client_count() == 1; }));
  feed_->Start();
  auto health = NextFrame(client);
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(Str(*health, "type"), "system_health");
  ASSERT_TRUE(WaitUntil([&] { return stats_calls_.load() >= 3; })) << "the ticker keeps going";
  stats_throw_ = false;
  EXPECT_TRUE(NextOfType(client, "stats_update").has_value());
}

TEST_F(LiveFeedTest, StopIsPromptAndIdempotent) {
  LiveFeedOptions options;
  options.stats_interval = 1h;
  MakeFeed(options);
  feed_->Start();
  ASSERT_TRUE(WaitUntil([&] { return stats_calls_.load() == 1; }));
  const auto started = std::chrono::steady_clock::now();
  feed_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  feed_->Stop();
  feed_->Start();  // restartable; the destructor stops it
  ASSERT_TRUE(WaitUntil([&] { return stats_calls_.load() == 2; }));
}

}  // namespace
}  // namespace shopflow::monitor
