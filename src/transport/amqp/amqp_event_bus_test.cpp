// Integration tests of AmqpEventBus against a real RabbitMQ (CTest label: integration). Each test
// runs in its own scratch virtual host, so tests may run in parallel, and beside a running
// shopflow. No broker reachable → the tests fail (CI always has one: scripts/broker start).

#include "transport/amqp/amqp_event_bus.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "events/event_types.hpp"
#include "transport/amqp/amqp_wrappers.hpp"
#include "transport/amqp/broker_fixture.hpp"
#include "transport/amqp/definitions.hpp"
#include "transport/amqp/wire_message.hpp"

namespace shopflow {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kOrdersQueue = "orders.events.queue";
constexpr std::string_view kPaymentsQueue = "payments.events.queue";
constexpr std::string_view kInventoryQueue = "inventory.events.queue";
constexpr std::string_view kNotificationsQueue = "notifications.events.queue";
constexpr std::string_view kPaymentsDlq = "dlq.payments.process.failed";

RetryPolicy SmallRetry(int max_attempts = 3) {
  RetryPolicy p;
  p.max_attempts = max_attempts;
  p.initial_delay = 100ms;
  p.multiplier = 2.0;
  p.max_delay = 10s;
  p.jitter = 0.2;
  return p;
}

AmqpBusOptions TestOptions() {
  AmqpBusOptions o;
  o.connection_name = "shopflow-test";
  o.connect_timeout = 3000ms;
  o.operation_timeout = 10000ms;
  o.seed = 42;
  return o;
}

// Polls a condition that nothing notifies (e.g. Status()); the deadline only matters when the
// test is failing.
template <class Condition>
bool WaitUntil(Condition&& condition, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!condition()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct Seen {
  Delivery delivery;
  SteadyClock::time_point at;
  std::thread::id thread;
};

// Thread-safe log of what a handler saw; waits are condition-variable waits with deadlines.
class Recorder {
 public:
  using Outcome = std::function<HandlerOutcome(const Delivery&)>;

  EventHandler Handler(Outcome outcome = [](const Delivery&) { return HandlerOutcome::Ack(); }) {
    return [this, outcome = std::move(outcome)](const Delivery& d) {
      {
        std::lock_guard lock(mu_);
        seen_.push_back({d, SteadyClock::now(), std::this_thread::get_id()});
        cv_.notify_all();
      }
      return outcome(d);  // may throw: the bus must treat that as Retry
    };
  }

  bool WaitFor(const std::function<bool(const std::vector<Seen>&)>& done,
               std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done(seen_); });
  }
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout = 20s) {
    return WaitFor([n](const auto& seen) { return seen.size() >= n; }, timeout);
  }
  bool WaitForMessage(const std::string& message_id, std::chrono::milliseconds timeout = 20s) {
    return WaitFor(
        [&](const auto& seen) {
          return std::any_of(seen.begin(), seen.end(), [&](const Seen& s) {
            return s.delivery.envelope.metadata.message_id == message_id;
          });
        },
        timeout);
  }
  std::vector<Seen> Snapshot() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  size_t CountOf(const std::string& message_id) const {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(seen_.begin(), seen_.end(), [&](const Seen& s) {
      return s.delivery.envelope.metadata.message_id == message_id;
    }));
  }
  std::set<std::string> Ids() const {
    std::lock_guard lock(mu_);
    std::set<std::string> ids;
    for (const Seen& s : seen_) ids.insert(s.delivery.envelope.metadata.message_id);
    return ids;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Seen> seen_;
};

Envelope Event(std::string_view type, std::string order_id = "o-1") {
  Envelope e =
      MakeEvent(std::string(type), json::object{{"orderId", order_id}, {"total", 1999}}, "orders",
                "corr-" + order_id, "cause-" + order_id, SystemClock::Instance().Now());
  return e;
}

Result<void> PublishOne(EventBus& bus, const Envelope& e) {
  return bus.Publish(std::span<const Envelope>(&e, 1));
}

class AmqpEventBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string label = info->name();
    std::transform(label.begin(), label.end(), label.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto vhost = amqp_testing::ScratchVhost::Create(label);
    ASSERT_TRUE(vhost.ok()) << vhost.error().message;
    vhost_ = std::move(vhost).value();
  }

  void TearDown() override {
    buses_.clear();  // stops them before their vhost disappears
    vhost_.reset();
  }

  AmqpEventBus& NewBus(RetryPolicy retry = SmallRetry(), AmqpBusOptions options = TestOptions()) {
    buses_.push_back(std::make_unique<AmqpEventBus>(vhost_->url(), DefaultTopology(retry),
                                                    SystemClock::Instance(), options));
    return *buses_.back();
  }

  // Starts `bus` and waits until the publisher and every consumer are connected.
  ::testing::AssertionResult StartAndWait(AmqpEventBus& bus) {
    auto started = bus.Start();
    if (!started.ok()) {
      return ::testing::AssertionFailure()
             << "no RabbitMQ reachable at " << vhost_->url().Redacted()
             << " (integration tests need one: scripts/broker start): " << started.error().message;
    }
    if (!WaitUntil([&] { return bus.Status().connected; })) {
      return ::testing::AssertionFailure() << "consumers did not connect: " << bus.Status().detail;
    }
    return ::testing::AssertionSuccess();
  }

  std::unique_ptr<amqp_testing::ScratchVhost> vhost_;
  std::vector<std::unique_ptr<AmqpEventBus>> buses_;
};

// ---- Topology --------------------------------------------------------------------------------

using BindingRow = std::tuple<std::string, std::string, std::string, std::string>;

std::string Str(const json::value& v) { return std::string(v.as_string()); }

// Compares what the broker has in `vhost` with `topology`, exactly (apart from the built-in
// amq.* exchanges and the default exchange's implicit bindings).
void ExpectBrokerMatches(const amqp_testing::ScratchVhost& vhost, const Topology& topology) {
  auto exchanges = vhost.List("exchanges", "name type durable");
  ASSERT_TRUE(exchanges.ok()) << exchanges.error().message;
  std::map<std::string, std::string> actual_exchanges, expected_exchanges;
  for (const auto& row : *exchanges) {
    const json::object& o = row.as_object();
    const std::string name = Str(o.at("name"));
    if (name.empty() || name.starts_with("amq.")) continue;
    EXPECT_TRUE(o.at("durable").as_bool()) << name;
    actual_exchanges[name] = Str(o.at("type"));
  }
  for (const ExchangeSpec& e : topology.exchanges) {
    expected_exchanges[e.name] = std::string(ExchangeKindName(e.kind));
  }
  EXPECT_EQ(actual_exchanges, expected_exchanges);

  auto queues = vhost.List("queues", "name durable arguments");
  ASSERT_TRUE(queues.ok()) << queues.error().message;
  using Args = std::map<std::string, std::string>;
  std::map<std::string, Args> actual_queues, expected_queues;
  for (const auto& row : *queues) {
    const json::object& o = row.as_object();
    EXPECT_TRUE(o.at("durable").as_bool());
    Args args;
    for (const auto& arg : o.at("arguments").as_array()) {
      // [name, type, value]
      const json::array& a = arg.as_array();
      args[Str(a[0])] = a[2].is_string() ? "\"" + Str(a[2]) + "\"" : boost::json::serialize(a[2]);
    }
    actual_queues[Str(o.at("name"))] = args;
  }
  for (const QueueSpec& q : topology.queues) {
    Args args;
    for (const amqp::QueueArgument& a : amqp::QueueArguments(q)) {
      if (const auto* n = std::get_if<int64_t>(&a.value)) {
        args[a.name] = std::to_string(*n);
      } else {
        args[a.name] = "\"" + std::get<std::string>(a.value) + "\"";
      }
    }
    expected_queues[q.name] = args;
  }
  EXPECT_EQ(actual_queues, expected_queues);

  auto bindings =
      vhost.List("bindings", "source_name destination_name destination_kind routing_key");
  ASSERT_TRUE(bindings.ok()) << bindings.error().message;
  std::set<BindingRow> actual_bindings, expected_bindings;
  for (const auto& row : *bindings) {
    const json::object& o = row.as_object();
    if (Str(o.at("source_name")).empty()) continue;  // the default exchange's implicit bindings
    actual_bindings.emplace(Str(o.at("source_name")), Str(o.at("destination_name")),
                            Str(o.at("destination_kind")), Str(o.at("routing_key")));
  }
  for (const BindingSpec& b : topology.bindings) {
    expected_bindings.emplace(b.source, b.destination,
                              b.destination_is_exchange ? "exchange" : "queue", b.routing_key);
  }
  EXPECT_EQ(actual_bindings, expected_bindings);
}

TEST_F(AmqpEventBusTest, DeclaresTheTopologyIdempotently) {
  const RetryPolicy retry = SmallRetry(4);
  AmqpEventBus& bus = NewBus(retry);
  ASSERT_TRUE(StartAndWait(bus));
  const Topology topology = DefaultTopology(retry);
  ExpectBrokerMatches(*vhost_, topology);

  // Spot checks of the issue's requirements, beyond "equal to the description".
  auto queues = vhost_->List("queues", "name arguments");
  ASSERT_TRUE(queues.ok());
  std::map<std::string, std::string> ttl;
  for (const auto& row : *queues) {
    for (const auto& arg : row.as_object().at("arguments").as_array()) {
      if (arg.as_array()[0].as_string() == "x-message-ttl") {
        ttl[Str(row.as_object().at("name"))] = boost::json::serialize(arg.as_array()[2]);
      }
    }
  }
  EXPECT_EQ(ttl["dlq.orders.created.failed"], "86400000");
  EXPECT_EQ(ttl["dlq.notifications.send.failed"], "86400000");
  EXPECT_EQ(ttl["retry.payments.queue.1.100ms"], "100");
  EXPECT_EQ(ttl["retry.payments.queue.2.200ms"], "200");
  EXPECT_EQ(ttl["retry.payments.queue.3.400ms"], "400");

  // A second bus (a second process) declares the same topology again: no error, no change.
  AmqpEventBus& again = NewBus(retry);
  ASSERT_TRUE(StartAndWait(again));
  ExpectBrokerMatches(*vhost_, topology);
}

TEST_F(AmqpEventBusTest, DefinitionsImportIntoAFreshVhostAndMatchTheDeclarations) {
  const Topology topology = DefaultTopology(SmallRetry(4));
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("shopflow-definitions-" + vhost_->name() + ".json"))
                               .string();
  {
    std::ofstream out(path);
    out << boost::json::serialize(TopologyDefinitions(topology, vhost_->name()));
  }
  auto imported = amqp_testing::RunCommand(amqp_testing::Rabbitmqctl() + " -q import_definitions " +
                                           amqp_testing::ShellQuote(path));
  std::filesystem::remove(path);
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  // rabbitmqctl says the import is asynchronous: wait for its last part (the bindings).
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto b = vhost_->List("bindings", "source_name");
        return b.ok() && b->size() >= topology.bindings.size();
      },
      10s));
  ExpectBrokerMatches(*vhost_, topology);

  // The transport's declarations are equivalent to the imported ones: RabbitMQ would refuse a
  // queue re-declared with different arguments (PRECONDITION_FAILED).
  AmqpEventBus& bus = NewBus(SmallRetry(4));
  ASSERT_TRUE(StartAndWait(bus));
  ExpectBrokerMatches(*vhost_, topology);
}

TEST_F(AmqpEventBusTest, ANewRetryPolicyStartsBesideTheTiersOfTheOldOne) {
  AmqpEventBus& first = NewBus(SmallRetry(3));
  ASSERT_TRUE(StartAndWait(first));
  RetryPolicy slower = SmallRetry(3);
  slower.initial_delay = 150ms;  // other tier TTLs: tiers carry their delay in their names
  AmqpEventBus& second = NewBus(slower);
  auto started = second.Start();
  EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
  auto queues = vhost_->List("queues", "name");
  ASSERT_TRUE(queues.ok());
  std::vector<std::string> names;
  for (const auto& row : *queues)
    names.push_back(std::string(row.as_object().at("name").as_string()));
  EXPECT_THAT(names, ::testing::Contains("retry.orders.queue.1.100ms"));
  EXPECT_THAT(names, ::testing::Contains("retry.orders.queue.1.150ms"));
}

// ---- Publishing and routing ------------------------------------------------------------------

// A queue of its own bound to the events exchange with '#', read with rabbitmq-c directly, to
// see the AMQP properties the bus puts on the wire.
class Tap {
 public:
  static std::unique_ptr<Tap> Open(const AmqpUrl& url) {
    auto c = amqp::Connection::Open(url, {});
    if (!c.ok()) return nullptr;
    auto tap = std::unique_ptr<Tap>(new Tap(std::move(c).value()));
    Topology t;
    t.queues.push_back(QueueSpec{"test.tap", QueueRole::kModule, "test"});
    t.bindings.push_back({"ecommerce.events", "test.tap", false, "#"});
    if (!tap->c_->OpenChannel(1).ok() || !tap->c_->DeclareTopology(1, t).ok() ||
        !tap->c_->Consume(1, "test.tap").ok()) {
      return nullptr;
    }
    return tap;
  }
  std::optional<amqp::InboundMessage> Next(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      auto event = c_->Next(100ms);
      if (!event.ok()) return std::nullopt;
      if (*event) {
        if (auto* m = std::get_if<amqp::InboundMessage>(&**event)) return std::move(*m);
      }
    }
    return std::nullopt;
  }

 private:
  explicit Tap(std::unique_ptr<amqp::Connection> c) : c_(std::move(c)) {}
  std::unique_ptr<amqp::Connection> c_;
};

TEST_F(AmqpEventBusTest, OrderCreatedReachesEachBoundConsumerOnceWithTheEnvelopeIntact) {
  AmqpEventBus& bus = NewBus();
  Recorder orders, payments, inventory, notifications;
  bus.Subscribe(std::string(kOrdersQueue), orders.Handler(), {});
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler(), {});
  bus.Subscribe(std::string(kInventoryQueue), inventory.Handler(), {});
  bus.Subscribe(std::string(kNotificationsQueue), notifications.Handler(), {});
  ASSERT_TRUE(StartAndWait(bus));
  auto tap = Tap::Open(vhost_->url());
  ASSERT_NE(tap, nullptr);

  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, created).ok());
  // Markers published after it: each queue is FIFO with one consumer, so once a queue's marker
  // arrived, anything ORDER_CREATED would have brought to it has arrived too.
  const Envelope failed = Event(events::kOrderFailed);  // payments, inventory, notifications
  const Envelope succeeded = Event(events::kPaymentSucceeded);  // orders, inventory, notifications
  const std::vector<Envelope> markers = {failed, succeeded};
  ASSERT_TRUE(bus.Publish(markers).ok());

  const std::string& id = created.metadata.message_id;
  ASSERT_TRUE(payments.WaitForMessage(failed.metadata.message_id));
  ASSERT_TRUE(inventory.WaitForMessage(succeeded.metadata.message_id));
  ASSERT_TRUE(notifications.WaitForMessage(succeeded.metadata.message_id));
  ASSERT_TRUE(orders.WaitForMessage(succeeded.metadata.message_id));
  EXPECT_EQ(payments.CountOf(id), 1u);
  EXPECT_EQ(inventory.CountOf(id), 1u);
  EXPECT_EQ(notifications.CountOf(id), 1u);
  EXPECT_EQ(orders.CountOf(id), 0u);

  for (Recorder* r : {&payments, &inventory, &notifications}) {
    const Delivery d = r->Snapshot().front().delivery;
    EXPECT_EQ(d.routing_key, "order.created");
    EXPECT_EQ(d.attempt, 1);
    EXPECT_EQ(d.envelope.event_type, created.event_type);
    EXPECT_EQ(d.envelope.data, created.data);
    EXPECT_EQ(d.envelope.metadata.message_id, created.metadata.message_id);
    EXPECT_EQ(d.envelope.metadata.source, "orders");
    EXPECT_EQ(d.envelope.metadata.correlation_id, created.metadata.correlation_id);
    EXPECT_EQ(d.envelope.metadata.causation_id, created.metadata.causation_id);
    EXPECT_EQ(ToUnixMillis(d.envelope.metadata.timestamp),
              ToUnixMillis(created.metadata.timestamp));
    EXPECT_EQ(d.envelope.metadata.version, "1");
    EXPECT_EQ(d.envelope.metadata.retry_count, 0);
  }
  EXPECT_EQ(payments.Snapshot().front().delivery.queue, kPaymentsQueue);

  auto wire = tap->Next();
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(wire->routing_key, "order.created");
  EXPECT_EQ(wire->exchange, "ecommerce.events");
  EXPECT_EQ(wire->properties.message_id, created.metadata.message_id);
  EXPECT_EQ(wire->properties.correlation_id, created.metadata.correlation_id);
  EXPECT_EQ(wire->properties.type, "ORDER_CREATED");
  EXPECT_EQ(wire->properties.app_id, "orders");
  EXPECT_EQ(wire->properties.content_type, "application/json");
  EXPECT_TRUE(wire->properties.persistent);
  ASSERT_TRUE(wire->properties.timestamp.has_value());
  EXPECT_EQ(static_cast<int64_t>(*wire->properties.timestamp),
            ToUnixMillis(created.metadata.timestamp) / 1000);
}

TEST_F(AmqpEventBusTest, EventsNobodyConsumesAreConfirmedNotErrors) {
  AmqpEventBus& bus = NewBus();
  ASSERT_TRUE(StartAndWait(bus));
  const Envelope sent = Event(events::kNotificationEmailSent);
  ASSERT_TRUE(PublishOne(bus, sent).ok());
  EXPECT_EQ(bus.Counters().unroutable, 1u);
  EXPECT_EQ(bus.Counters().published, 1u);
}

TEST_F(AmqpEventBusTest, ABatchOfAThousandIsConfirmedPipelined) {
  AmqpEventBus& bus = NewBus();
  ASSERT_TRUE(StartAndWait(bus));
  std::vector<Envelope> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(Event(events::kOrderUpdated, std::to_string(i)));

  const auto begin = SteadyClock::now();
  auto published = bus.Publish(batch);
  const auto elapsed = SteadyClock::now() - begin;
  ASSERT_TRUE(published.ok()) << published.error().message;
  const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  std::printf("[ metric ] 1000 confirmed publishes in %.1f ms (%.0f msg/s)\n", ms,
              1000.0 / (ms / 1000.0));
  ::testing::Test::RecordProperty("publish_1000_ms", static_cast<int>(ms));
  // One round trip per message would take well over a second on a loaded CI machine; the
  // pipelined batch takes tens of milliseconds.
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(bus.Counters().published, 1000u);

  // Consumed: all of them reach inventory (the only queue bound for order.updated).
  Recorder inventory;
  const auto consume_begin = SteadyClock::now();
  bus.Subscribe(std::string(kInventoryQueue), inventory.Handler(), {});
  ASSERT_TRUE(inventory.WaitFor([](const auto& seen) { return seen.size() >= 1000; }, 30s));
  const double consume_ms =
      std::chrono::duration<double, std::milli>(SteadyClock::now() - consume_begin).count();
  // Acks are batched: far fewer basic.ack frames than deliveries.
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == 1000; }));
  const uint64_t ack_frames = bus.Counters().ack_frames;
  std::printf("[ metric ] 1000 consumed and acked in %.1f ms with %llu basic.ack frames\n",
              consume_ms, static_cast<unsigned long long>(ack_frames));
  EXPECT_LT(ack_frames, 500u);
  std::set<std::string> expected;
  for (const Envelope& e : batch) expected.insert(e.metadata.message_id);
  EXPECT_EQ(inventory.Ids(), expected);
}

// The publisher corks its socket around a burst (CorkedWrites): while corked the kernel holds
// what was written (unsent bytes in the send queue, SIOCOUTQNSD); releasing the guard sends it,
// and every message is then confirmed by the broker.
TEST_F(AmqpEventBusTest, CorkedWritesHoldABurstUntilReleasedThenAllIsConfirmed) {
  auto opened = amqp::Connection::Open(vhost_->url(), {});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  amqp::Connection& c = **opened;
  ASSERT_TRUE(c.OpenChannel(1).ok());
  ASSERT_TRUE(c.SelectConfirms(1).ok());
  const int fd = c.SocketFd();
  auto unsent = [fd] {
    int bytes = -1;
    EXPECT_EQ(ioctl(fd, SIOCOUTQNSD, &bytes), 0);
    return bytes;
  };
  auto cork = [fd] {
    int value = -1;
    socklen_t size = sizeof value;
    EXPECT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, &size), 0);
    return value;
  };
  constexpr int kBurst = 20;
  {
    const amqp::CorkedWrites corked(c);
    EXPECT_EQ(cork(), 1);
    for (int i = 0; i < kBurst; ++i) {
      amqp::OutgoingMessage m;
      m.routing_key = "shopflow.test.nowhere";  // default exchange, no such queue: still confirmed
      m.properties.message_id = std::to_string(i);
      m.body = std::string(100, 'x');
      ASSERT_TRUE(c.Publish(1, m, /*mandatory=*/false).ok());
    }
    // Far less than a segment: all of it still held.
    EXPECT_GT(unsent(), kBurst * 100);
  }
  EXPECT_EQ(cork(), 0);
  EXPECT_TRUE(WaitUntil([&] { return unsent() == 0; }, 5s));
  uint64_t confirmed = 0;
  const auto deadline = SteadyClock::now() + 20s;
  while (confirmed < kBurst && SteadyClock::now() < deadline) {
    auto event = c.Next(100ms);
    ASSERT_TRUE(event.ok()) << event.error().message;
    if (!*event) continue;
    if (const auto* confirm = std::get_if<amqp::Confirm>(&**event)) {
      EXPECT_TRUE(confirm->ack);
      confirmed = std::max(confirmed, confirm->delivery_tag);  // RabbitMQ confirms in order
    }
  }
  EXPECT_EQ(confirmed, static_cast<uint64_t>(kBurst));
}

// Batches published without waiting (the outbox relay keeps several in flight): each completes
// once, in the order of the calls, and every message arrives.
TEST_F(AmqpEventBusTest, PublishAsyncBatchesCompleteOnceEachInOrderAndAllArrive) {
  AmqpEventBus& bus = NewBus();
  Recorder inventory;
  bus.Subscribe(std::string(kInventoryQueue), inventory.Handler(), {});
  ASSERT_TRUE(StartAndWait(bus));
  constexpr int kBatches = 40;
  constexpr int kPerBatch = 10;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> completed;
  std::vector<std::string> errors;
  std::set<std::string> expected;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Envelope> batch;
    for (int i = 0; i < kPerBatch; ++i) {
      batch.push_back(Event(events::kOrderUpdated, std::to_string(b * kPerBatch + i)));
      expected.insert(batch.back().metadata.message_id);
    }
    bus.PublishAsync(batch, [&, b](Result<void> published) {
      std::lock_guard lock(mu);
      completed.push_back(b);
      if (!published) errors.push_back(published.error().message);
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return completed.size() >= kBatches; }));
  }
  EXPECT_EQ(errors, std::vector<std::string>{});
  std::vector<int> in_order(kBatches);
  std::iota(in_order.begin(), in_order.end(), 0);
  EXPECT_EQ(completed, in_order);
  EXPECT_EQ(bus.Counters().published, static_cast<uint64_t>(kBatches * kPerBatch));
  ASSERT_TRUE(inventory.WaitForCount(kBatches * kPerBatch, 30s));
  EXPECT_EQ(inventory.Ids(), expected);
}

TEST_F(AmqpEventBusTest, PublishAsyncReportsRefusalsThroughItsCallbackAtOnce) {
  AmqpEventBus& bus = NewBus();
  ASSERT_TRUE(StartAndWait(bus));
  std::optional<Result<void>> outcome;
  const auto record = [&](Result<void> r) { outcome = std::move(r); };

  Envelope unknown = Event(events::kOrderCreated);
  unknown.event_type = "NOT_AN_EVENT";
  bus.PublishAsync(std::span<const Envelope>(&unknown, 1), record);
  ASSERT_TRUE(outcome.has_value());  // called before PublishAsync returned: nothing was sent
  ASSERT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->error().code, ErrorCode::kValidationFailed);

  outcome.reset();
  bus.PublishAsync({}, record);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->ok());

  bus.Stop();
  outcome.reset();
  const Envelope late = Event(events::kOrderCreated);
  bus.PublishAsync(std::span<const Envelope>(&late, 1), record);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->ok());
  EXPECT_EQ(outcome->error().code, ErrorCode::kUnavailable);
}

// ---- Retries and dead letters ----------------------------------------------------------------

TEST_F(AmqpEventBusTest, RetriesWithGrowingDelaysThenSucceeds) {
  AmqpEventBus& bus = NewBus(SmallRetry(4));
  Recorder payments;
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler([](const Delivery& d) {
    if (d.attempt < 3) return HandlerOutcome::Retry("fail " + std::to_string(d.attempt));
    return HandlerOutcome::Ack();
  }),
                {});
  ASSERT_TRUE(StartAndWait(bus));
  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, created).ok());

  ASSERT_TRUE(payments.WaitForCount(3));
  const std::vector<Seen> seen = payments.Snapshot();
  std::vector<int> attempts;
  for (const Seen& s : seen) attempts.push_back(s.delivery.attempt);
  EXPECT_THAT(attempts, ElementsAre(1, 2, 3));
  const auto delay1 =
      std::chrono::duration_cast<std::chrono::milliseconds>(seen[1].at - seen[0].at);
  const auto delay2 =
      std::chrono::duration_cast<std::chrono::milliseconds>(seen[2].at - seen[1].at);
  std::printf("[ metric ] retry delays: %lld ms (tier TTL 100 ms), %lld ms (tier TTL 200 ms)\n",
              static_cast<long long>(delay1.count()), static_cast<long long>(delay2.count()));
  EXPECT_GE(delay1, 70ms);  // jittered in [80, 100] ms, plus delivery
  EXPECT_GT(delay2, delay1);
  EXPECT_LT(delay2, 5s);

  for (const Seen& s : seen) {
    EXPECT_EQ(s.delivery.routing_key, "order.created");
    EXPECT_EQ(s.delivery.queue, kPaymentsQueue);
    EXPECT_EQ(s.delivery.envelope.metadata.message_id, created.metadata.message_id);
    EXPECT_EQ(s.delivery.envelope.data, created.data);
  }
  EXPECT_EQ(seen[1].delivery.Header("x-attempts"), "2");
  EXPECT_EQ(seen[1].delivery.Header("x-failure-reason"), "fail 1");
  EXPECT_EQ(seen[2].delivery.Header("x-failure-reason"), "fail 2");
  EXPECT_EQ(seen[2].delivery.Header("x-original-queue"), kPaymentsQueue);
  EXPECT_EQ(seen[2].delivery.Header("x-first-failure"), seen[1].delivery.Header("x-first-failure"));
  EXPECT_EQ(seen[2].delivery.envelope.metadata.retry_count, 2);
  EXPECT_EQ(bus.Counters().retried, 2u);
  EXPECT_EQ(bus.Counters().dead_lettered, 0u);
}

TEST_F(AmqpEventBusTest, AlwaysFailingMessageEndsInItsDeadLetterQueueWithHeaders) {
  AmqpEventBus& bus = NewBus(SmallRetry(3));
  Recorder payments, dlq;
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler([](const Delivery& d) {
    return HandlerOutcome::Retry("gateway down (attempt " + std::to_string(d.attempt) + ")");
  }),
                {});
  bus.Subscribe(std::string(kPaymentsDlq), dlq.Handler(), {});
  ASSERT_TRUE(StartAndWait(bus));
  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, created).ok());

  ASSERT_TRUE(dlq.WaitForCount(1));
  std::vector<int> attempts;
  for (const Seen& s : payments.Snapshot()) attempts.push_back(s.delivery.attempt);
  EXPECT_THAT(attempts, ElementsAre(1, 2, 3));

  const Delivery dead = dlq.Snapshot().front().delivery;
  EXPECT_EQ(dead.queue, kPaymentsDlq);
  EXPECT_EQ(dead.envelope.metadata.message_id, created.metadata.message_id);
  EXPECT_EQ(dead.envelope.data, created.data);
  EXPECT_EQ(dead.routing_key, "order.created");
  EXPECT_EQ(dead.attempt, 1);
  EXPECT_EQ(dead.Header(dead_letter_headers::kReason), "gateway down (attempt 3)");
  EXPECT_EQ(dead.Header(dead_letter_headers::kAttempts), "3");
  EXPECT_EQ(dead.Header(dead_letter_headers::kOriginalQueue), kPaymentsQueue);
  EXPECT_EQ(dead.Header(dead_letter_headers::kRoutingKey), "order.created");
  EXPECT_TRUE(ParseRfc3339(dead.Header(dead_letter_headers::kFirstFailure)).has_value());
  EXPECT_TRUE(ParseRfc3339(dead.Header(dead_letter_headers::kLastFailure)).has_value());
  EXPECT_LE(*ParseRfc3339(dead.Header(dead_letter_headers::kFirstFailure)),
            *ParseRfc3339(dead.Header(dead_letter_headers::kLastFailure)));
  // The counters move once the copy is confirmed, which may be after the DLQ consumer has it.
  EXPECT_TRUE(WaitUntil([&] { return bus.Counters().dead_lettered == 1; }));
  EXPECT_EQ(bus.Counters().retried, 2u);
}

TEST_F(AmqpEventBusTest, DeadLetterOutcomeGoesStraightToTheDeadLetterQueue) {
  AmqpEventBus& bus = NewBus(SmallRetry(5));
  Recorder payments, dlq;
  bus.Subscribe(
      std::string(kPaymentsQueue),
      payments.Handler([](const Delivery&) { return HandlerOutcome::DeadLetter("poison"); }), {});
  bus.Subscribe(std::string(kPaymentsDlq), dlq.Handler(), {});
  ASSERT_TRUE(StartAndWait(bus));
  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, created).ok());

  ASSERT_TRUE(dlq.WaitForCount(1));
  EXPECT_EQ(payments.Snapshot().size(), 1u);
  const Delivery dead = dlq.Snapshot().front().delivery;
  EXPECT_EQ(dead.Header(dead_letter_headers::kReason), "poison");
  EXPECT_EQ(dead.Header(dead_letter_headers::kAttempts), "1");
  EXPECT_EQ(bus.Counters().retried, 0u);
}

TEST_F(AmqpEventBusTest, HandlerExceptionsAreRetried) {
  AmqpEventBus& bus = NewBus(SmallRetry(3));
  Recorder payments;
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler([](const Delivery& d) {
    if (d.attempt == 1) throw std::runtime_error("store unavailable");
    return HandlerOutcome::Ack();
  }),
                {});
  ASSERT_TRUE(StartAndWait(bus));
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());
  ASSERT_TRUE(payments.WaitForCount(2));
  const Delivery second = payments.Snapshot()[1].delivery;
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(second.Header("x-failure-reason"), "store unavailable");
}

TEST_F(AmqpEventBusTest, ABatchHandlerGetsTheDeliveriesAlreadyReceivedAndSettlesEachOnItsOwn) {
  AmqpEventBus& bus = NewBus(SmallRetry(3));
  Recorder dlq;
  bus.Subscribe(std::string(kPaymentsDlq), dlq.Handler(), {});
  ASSERT_TRUE(StartAndWait(bus));
  std::vector<Envelope> events;
  for (int i = 0; i < 30; ++i)
    events.push_back(Event(events::kOrderCreated, "o-" + std::to_string(i)));
  ASSERT_TRUE(bus.Publish(events).ok());  // they wait in the queue: nobody consumes it yet

  std::mutex mu;
  std::vector<size_t> sizes;
  std::map<std::string, std::vector<int>> attempts;  // order id -> attempts seen
  std::atomic<bool> first = true;
  // The handler uses this test's locals: stop the bus before they go, even when an ASSERT fails.
  struct StopFirst {
    AmqpEventBus& bus;
    ~StopFirst() { bus.Stop(); }
  } stop_first{bus};
  bus.SubscribeBatch(std::string(kPaymentsQueue),
                     [&](std::span<const Delivery> deliveries) {
                       // The first call waits until the broker has handed every message to this
                       // consumer, so that the next calls find them received already.
                       if (first.exchange(false)) {
                         WaitUntil([&] {
                           auto queues = vhost_->List("queues", "name messages_unacknowledged");
                           if (!queues) return false;
                           for (const json::value& q : *queues) {
                             const json::object& row = q.as_object();
                             if (Str(row.at("name")) == kPaymentsQueue) {
                               return row.at("messages_unacknowledged").to_number<int64_t>() == 30;
                             }
                           }
                           return false;
                         });
                       }
                       std::vector<HandlerOutcome> out;
                       std::lock_guard lock(mu);
                       sizes.push_back(deliveries.size());
                       for (const Delivery& d : deliveries) {
                         const std::string id = GetString(d.envelope.data, "orderId");
                         attempts[id].push_back(d.attempt);
                         if (id == "o-3") {
                           out.push_back(HandlerOutcome::DeadLetter("poison"));
                         } else if (id == "o-5" && d.attempt == 1) {
                           out.push_back(HandlerOutcome::Retry("later"));
                         } else {
                           out.push_back(HandlerOutcome::Ack());
                         }
                       }
                       return out;
                     },
                     {.concurrency = 1, .max_batch = 16});

  ASSERT_TRUE(dlq.WaitForCount(1));
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mu);
    return attempts["o-5"].size() == 2;
  }));
  // 29 on the payments queue (all but the poison one; o-5 on its second attempt) + the dead
  // letter on its queue.
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == 30; }));
  std::lock_guard lock(mu);
  EXPECT_EQ(attempts.size(), 30u);
  for (const auto& [id, seen] : attempts) {
    const std::vector<int> expected = id == "o-5" ? std::vector<int>{1, 2} : std::vector<int>{1};
    EXPECT_EQ(seen, expected) << id;
  }
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()), 1u) << "never more than one at once";
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), 16u);
  EXPECT_EQ(GetString(dlq.Snapshot().front().delivery.envelope.data, "orderId"), "o-3");
  EXPECT_EQ(bus.Counters().retried, 1u);
}

TEST_F(AmqpEventBusTest, DeadLetterReDriveWithSendToQueueIsAFirstDelivery) {
  AmqpEventBus& bus = NewBus(SmallRetry(3));
  Recorder payments, dlq;
  std::atomic<bool> poisoned{false};
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler([&](const Delivery&) {
    if (!poisoned.exchange(true)) return HandlerOutcome::DeadLetter("poison");
    return HandlerOutcome::Ack();
  }),
                {});
  // The dead-letter manager's re-drive, done from inside a handler (allowed).
  bus.Subscribe(std::string(kPaymentsDlq), dlq.Handler([&](const Delivery& d) {
    auto sent =
        bus.SendToQueue(d.Header(dead_letter_headers::kOriginalQueue), d.envelope, d.headers);
    return sent.ok() ? HandlerOutcome::Ack() : HandlerOutcome::Retry(sent.error().message);
  }),
                {});
  ASSERT_TRUE(StartAndWait(bus));
  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, created).ok());

  ASSERT_TRUE(payments.WaitForCount(2));
  const Delivery redriven = payments.Snapshot()[1].delivery;
  EXPECT_EQ(redriven.attempt, 1);
  EXPECT_EQ(redriven.routing_key, "order.created");
  EXPECT_EQ(redriven.queue, kPaymentsQueue);
  EXPECT_EQ(redriven.envelope.metadata.message_id, created.metadata.message_id);
  EXPECT_EQ(redriven.envelope.data, created.data);
  EXPECT_EQ(redriven.Header(dead_letter_headers::kReason), "poison");

  // A plain SendToQueue without headers: attempt 1, the eventType's routing key.
  const Envelope manual = Event(events::kOrderCancelled);
  ASSERT_TRUE(bus.SendToQueue(kPaymentsQueue, manual, {}).ok());
  ASSERT_TRUE(payments.WaitForMessage(manual.metadata.message_id));
  const Delivery last = payments.Snapshot().back().delivery;
  EXPECT_EQ(last.attempt, 1);
  EXPECT_EQ(last.routing_key, "order.cancelled");
}

TEST_F(AmqpEventBusTest, SendToQueueFailsWhenTheQueueIsMissingOnTheBroker) {
  AmqpEventBus& bus = NewBus();
  ASSERT_TRUE(StartAndWait(bus));
  ASSERT_TRUE(amqp_testing::RunCommand(amqp_testing::Rabbitmqctl() + " -q delete_queue -p " +
                                       amqp_testing::ShellQuote(vhost_->name()) + " " +
                                       std::string(kPaymentsQueue))
                  .ok());
  // A mandatory message that reaches no queue: an error for a re-drive (it would be lost)...
  auto sent = bus.SendToQueue(kPaymentsQueue, Event(events::kOrderCreated), {});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(sent.error().message, ::testing::HasSubstr("NO_ROUTE"));
  // ...but not for an event nobody is bound for; and the connection is still fine.
  EXPECT_TRUE(PublishOne(bus, Event(events::kNotificationFailed)).ok());
  EXPECT_TRUE(bus.Status().connected);
}

// ---- Competing consumers ---------------------------------------------------------------------

TEST_F(AmqpEventBusTest, CompetingConsumersShareTheLoadAndHandleEachMessageOnce) {
  AmqpEventBus& bus = NewBus();
  Recorder payments;
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler(), {.concurrency = 2, .prefetch = 5});
  ASSERT_TRUE(StartAndWait(bus));
  std::vector<Envelope> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(Event(events::kOrderCreated, std::to_string(i)));
  ASSERT_TRUE(bus.Publish(batch).ok());

  ASSERT_TRUE(payments.WaitForCount(200));
  const std::vector<Seen> seen = payments.Snapshot();
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(payments.Ids().size(), 200u);
  std::map<std::thread::id, int> per_thread;
  for (const Seen& s : seen) ++per_thread[s.thread];
  ASSERT_EQ(per_thread.size(), 2u);
  for (const auto& [thread, n] : per_thread) EXPECT_GT(n, 0);
}

TEST_F(AmqpEventBusTest, TwoBusInstancesCompeteOnTheSameQueue) {
  AmqpEventBus& a = NewBus();
  AmqpEventBus& b = NewBus();
  Recorder got_a, got_b;
  a.Subscribe(std::string(kInventoryQueue), got_a.Handler(), {.concurrency = 1, .prefetch = 5});
  b.Subscribe(std::string(kInventoryQueue), got_b.Handler(), {.concurrency = 1, .prefetch = 5});
  ASSERT_TRUE(StartAndWait(a));
  ASSERT_TRUE(StartAndWait(b));
  std::vector<Envelope> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(Event(events::kOrderUpdated, std::to_string(i)));
  ASSERT_TRUE(a.Publish(batch).ok());

  ASSERT_TRUE(WaitUntil([&] { return got_a.Snapshot().size() + got_b.Snapshot().size() >= 100; }));
  EXPECT_GT(got_a.Snapshot().size(), 0u);
  EXPECT_GT(got_b.Snapshot().size(), 0u);
  std::set<std::string> all = got_a.Ids();
  for (const auto& id : got_b.Ids()) EXPECT_TRUE(all.insert(id).second) << "handled twice: " << id;
  EXPECT_EQ(all.size(), 100u);
}

// ---- Resilience ------------------------------------------------------------------------------

TEST_F(AmqpEventBusTest, ReconnectsByItselfAfterTheBrokerClosesItsConnections) {
  AmqpBusOptions options = TestOptions();
  options.reconnect_initial_delay = 300ms;
  AmqpEventBus& bus = NewBus(SmallRetry(), options);
  Recorder inventory;
  bus.Subscribe(std::string(kInventoryQueue), inventory.Handler(), {});
  ASSERT_TRUE(StartAndWait(bus));

  // Status watcher.
  std::atomic<bool> watching{true};
  std::atomic<bool> saw_down{false};
  std::atomic<bool> saw_up_after_down{false};
  std::mutex detail_mu;
  std::string down_detail;
  std::thread watcher([&] {
    while (watching) {
      const BusStatus s = bus.Status();
      if (!s.connected) {
        if (!saw_down.exchange(true)) {
          std::lock_guard lock(detail_mu);
          down_detail = s.detail;
        }
      } else if (saw_down) {
        saw_up_after_down = true;
      }
      std::this_thread::sleep_for(1ms);  // a polling interval, not a wait for an event
    }
  });

  // Load: small confirmed batches in a loop; every successful one must be consumed.
  std::atomic<bool> publishing{true};
  std::mutex ids_mu;
  std::set<std::string> confirmed;
  std::atomic<size_t> confirmed_count{0}, failures{0}, bad_failures{0};
  std::atomic<int64_t> slowest_failure_ms{0};
  std::thread publisher([&] {
    int n = 0;
    while (publishing) {
      std::vector<Envelope> batch;
      for (int i = 0; i < 5; ++i)
        batch.push_back(Event(events::kOrderUpdated, std::to_string(n++)));
      const auto begin = SteadyClock::now();
      auto r = bus.Publish(batch);
      const auto took =
          std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - begin);
      if (r.ok()) {
        std::lock_guard lock(ids_mu);
        for (const Envelope& e : batch) confirmed.insert(e.metadata.message_id);
        confirmed_count = confirmed.size();
      } else {
        ++failures;
        if (r.error().code != ErrorCode::kUnavailable) ++bad_failures;
        slowest_failure_ms = std::max<int64_t>(slowest_failure_ms, took.count());
      }
      // Paces the load generator (about 1000 messages/s), also during the outage.
      std::this_thread::sleep_for(5ms);
    }
  });

  ASSERT_TRUE(WaitUntil([&] { return confirmed_count >= 100; }));
  ASSERT_TRUE(vhost_->CloseAllConnections().ok());
  ASSERT_TRUE(WaitUntil([&] { return saw_down.load(); }));
  ASSERT_TRUE(WaitUntil([&] { return saw_up_after_down.load() && bus.Status().connected; }));
  const size_t after_reconnect = confirmed_count;
  ASSERT_TRUE(WaitUntil([&] { return confirmed_count >= after_reconnect + 100; }));
  publishing = false;
  publisher.join();
  watching = false;
  watcher.join();

  std::set<std::string> expected;
  {
    std::lock_guard lock(ids_mu);
    expected = confirmed;
  }
  const bool all_consumed = inventory.WaitFor(
      [&](const std::vector<Seen>& seen) {
        std::set<std::string> got;
        for (const Seen& s : seen) got.insert(s.delivery.envelope.metadata.message_id);
        return std::includes(got.begin(), got.end(), expected.begin(), expected.end());
      },
      30s);
  EXPECT_TRUE(all_consumed) << "some confirmed messages were never consumed";
  {
    std::lock_guard lock(detail_mu);
    EXPECT_FALSE(down_detail.empty());
    std::printf("[ metric ] while disconnected, Status().detail = \"%s\"\n", down_detail.c_str());
  }
  std::printf("[ metric ] %zu confirmed, %zu publish failures (slowest %lld ms), %zu consumed\n",
              expected.size(), failures.load(), static_cast<long long>(slowest_failure_ms.load()),
              inventory.Snapshot().size());
  EXPECT_EQ(bad_failures, 0u);
  EXPECT_LT(slowest_failure_ms.load(), 2000);
  EXPECT_GE(bus.Counters().connections_lost, 2u);  // the publisher's and the consumer's
}

// ---- Tap (the live stream of a deployment split into processes) ------------------------------

// Records what a tap reports.
class TapRecorder final : public EventObserver {
 public:
  struct Entry {
    std::string kind;  // "published", "retry", "dead_letter"
    std::string message_id;
    std::string queue;
    int attempt = 0;
    std::string reason;
  };
  void OnPublished(std::span<const Envelope> batch) override {
    std::lock_guard lock(mu_);
    for (const auto& e : batch) entries_.push_back({"published", e.metadata.message_id, "", 0, ""});
  }
  void OnHandled(const Delivery& d, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds) override {
    std::lock_guard lock(mu_);
    entries_.push_back({outcome.kind == HandlerOutcome::Kind::kRetry ? "retry" : "dead_letter",
                        d.envelope.metadata.message_id, d.queue, d.attempt, outcome.reason});
  }
  std::vector<Entry> Of(const std::string& message_id) const {
    std::lock_guard lock(mu_);
    std::vector<Entry> out;
    for (const auto& e : entries_) {
      if (e.message_id == message_id) out.push_back(e);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

TEST_F(AmqpEventBusTest, TapReportsWhatOtherInstancesPublishRetryAndDeadLetterButNotItsOwn) {
  TapRecorder seen;
  std::atomic<bool> watching{true};
  AmqpEventBus& dashboard = NewBus(SmallRetry(2));
  dashboard.SetTap(&seen, [&] { return watching.load(); });
  AmqpEventBus& payments = NewBus(SmallRetry(2));
  Recorder handled;
  payments.Subscribe(std::string(kPaymentsQueue), handled.Handler([](const Delivery&) {
    return HandlerOutcome::Retry("gateway down");
  }),
                     SubscribeOptions{});
  ASSERT_TRUE(StartAndWait(dashboard));
  ASSERT_TRUE(StartAndWait(payments));
  // The tap connects in the background: publish probes until one is seen.
  std::string probe_id;
  ASSERT_TRUE(WaitUntil([&] {
    const Envelope probe = Event(events::kInventoryUpdated, "probe");
    probe_id = probe.metadata.message_id;
    if (!PublishOne(payments, probe).ok()) return false;
    return WaitUntil([&] { return !seen.Of(probe_id).empty(); }, 500ms);
  }));

  const Envelope own = Event(events::kInventoryUpdated, "own");
  ASSERT_TRUE(PublishOne(dashboard, own).ok());
  const Envelope order = Event(events::kOrderCreated, "o-tap");
  ASSERT_TRUE(PublishOne(payments, order).ok());
  const std::string id = order.metadata.message_id;
  // Published, retried once (attempt 1 failed), dead-lettered after attempt 2.
  ASSERT_TRUE(WaitUntil([&] {
    auto entries = seen.Of(id);
    return std::any_of(entries.begin(), entries.end(),
                       [](const auto& e) { return e.kind == "dead_letter"; });
  }));
  const auto entries = seen.Of(id);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].kind, "published");
  EXPECT_EQ(entries[1].kind, "retry");
  EXPECT_EQ(entries[1].queue, kPaymentsQueue);
  EXPECT_EQ(entries[1].attempt, 1);
  EXPECT_EQ(entries[1].reason, "gateway down");
  EXPECT_EQ(entries[2].kind, "dead_letter");
  EXPECT_EQ(entries[2].queue, kPaymentsQueue);
  EXPECT_EQ(entries[2].attempt, 2);
  // The dashboard's own publication was published after the probe and before the order: had
  // the tap reported it, it would be there by now.
  EXPECT_TRUE(seen.Of(own.metadata.message_id).empty());
}

TEST_F(AmqpEventBusTest, StopIsPromptAndIdempotent) {
  AmqpEventBus& bus = NewBus();
  Recorder orders, payments;
  bus.Subscribe(std::string(kOrdersQueue), orders.Handler(), {});
  bus.Subscribe(std::string(kPaymentsQueue), payments.Handler(), {.concurrency = 2});
  ASSERT_TRUE(StartAndWait(bus));
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());
  ASSERT_TRUE(payments.WaitForCount(1));

  const auto begin = SteadyClock::now();
  bus.Stop();
  const auto took = SteadyClock::now() - begin;
  std::printf("[ metric ] Stop() took %.1f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_LT(took, 1s);
  bus.Stop();
  EXPECT_FALSE(bus.Status().connected);
  EXPECT_EQ(bus.Status().detail, "stopped");
  auto after = PublishOne(bus, Event(events::kOrderCreated));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(bus.Start().error().code, ErrorCode::kUnavailable);
  bus.Subscribe(std::string(kOrdersQueue), orders.Handler(), {});  // ignored after Stop
}

TEST_F(AmqpEventBusTest, SubscribeAfterStartConsumesAtOnce) {
  AmqpEventBus& bus = NewBus();
  ASSERT_TRUE(StartAndWait(bus));
  ASSERT_TRUE(PublishOne(bus, Event(events::kLowStockAlert)).ok());  // queued before anyone listens
  Recorder notifications;
  bus.Subscribe(std::string(kNotificationsQueue), notifications.Handler(), {});
  ASSERT_TRUE(notifications.WaitForCount(1));
  EXPECT_EQ(notifications.Snapshot().front().delivery.routing_key, "inventory.low_stock");
}

}  // namespace
}  // namespace shopflow
