#include "transport/memory/in_memory_event_bus.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "events/event_types.hpp"
#include "events/observed_event_bus.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

constexpr std::string_view kOrdersQueue = "orders.events.queue";
constexpr std::string_view kPaymentsQueue = "payments.events.queue";
constexpr std::string_view kInventoryQueue = "inventory.events.queue";
constexpr std::string_view kNotificationsQueue = "notifications.events.queue";
constexpr std::string_view kPaymentsDlq = "dlq.payments.process.failed";

// Waits for a condition by polling; the deadline only matters when the test is failing.
template <class Condition>
bool WaitUntil(Condition&& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Shows that something does NOT happen: the condition stays false for a short window. Only used
// for absence (a presence check always uses WaitUntil with the long deadline).
template <class Condition>
bool StaysFalse(Condition&& condition, std::chrono::milliseconds window = 50ms) {
  return !WaitUntil(std::forward<Condition>(condition), window);
}

RetryPolicy SmallRetry(int max_attempts = 3, double jitter = 0.2) {
  RetryPolicy policy;
  policy.max_attempts = max_attempts;
  policy.initial_delay = 100ms;
  policy.multiplier = 2.0;
  policy.max_delay = 10s;
  policy.jitter = jitter;
  return policy;
}

struct Record {
  Delivery delivery;
  TimePoint at;  // the bus clock when the handler ran
};

// Thread-safe log of the deliveries a handler saw.
class Recorder {
 public:
  explicit Recorder(const Clock& clock) : clock_(clock) {}

  void Add(const Delivery& delivery) {
    std::lock_guard lock(mu_);
    records_.push_back({delivery, clock_.Now()});
  }
  size_t Count() const {
    std::lock_guard lock(mu_);
    return records_.size();
  }
  std::vector<Record> Snapshot() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::vector<int> Attempts() const {
    std::vector<int> out;
    for (const Record& r : Snapshot()) out.push_back(r.delivery.attempt);
    return out;
  }
  std::vector<int> RetryCounts() const {
    std::vector<int> out;
    for (const Record& r : Snapshot()) out.push_back(r.delivery.envelope.metadata.retry_count);
    return out;
  }
  EventHandler Acking() {
    return [this](const Delivery& d) {
      Add(d);
      return HandlerOutcome::Ack();
    };
  }

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::vector<Record> records_;
};

class InMemoryEventBusTest : public ::testing::Test {
 protected:
  Envelope Event(std::string_view type, std::string order_id = "o-1") {
    return MakeEvent(std::string(type), json::object{{"orderId", order_id}}, "orders", "corr-1", "",
                     clock_.Now());
  }
  static Result<void> PublishOne(InMemoryEventBus& bus, const Envelope& envelope) {
    return bus.Publish(std::span<const Envelope>(&envelope, 1));
  }

  testing::FakeClock clock_;
};

TEST_F(InMemoryEventBusTest, OrderCreatedReachesEachBoundQueueExactlyOnce) {
  Recorder orders(clock_), payments(clock_), inventory(clock_), notifications(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kOrdersQueue), orders.Acking(), {});
  bus.Subscribe(std::string(kPaymentsQueue), payments.Acking(), {});
  bus.Subscribe(std::string(kInventoryQueue), inventory.Acking(), {});
  bus.Subscribe(std::string(kNotificationsQueue), notifications.Acking(), {});

  const Envelope event = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, event).ok());

  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == 3; }));
  // Everything is settled and nothing is scheduled: no further delivery can come.
  for (auto queue : {kOrdersQueue, kPaymentsQueue, kInventoryQueue, kNotificationsQueue}) {
    EXPECT_EQ(bus.DepthOf(queue), 0u) << queue;
  }
  EXPECT_EQ(orders.Count(), 0u);
  ASSERT_EQ(payments.Count(), 1u);
  ASSERT_EQ(inventory.Count(), 1u);
  ASSERT_EQ(notifications.Count(), 1u);  // through the exchange-to-exchange fanout binding
  for (const Recorder* r : {&payments, &inventory, &notifications}) {
    const Delivery d = r->Snapshot()[0].delivery;
    EXPECT_EQ(d.envelope.metadata.message_id, event.metadata.message_id);
    EXPECT_EQ(d.routing_key, "order.created");
    EXPECT_EQ(d.attempt, 1);
  }
  EXPECT_EQ(payments.Snapshot()[0].delivery.queue, kPaymentsQueue);
  EXPECT_EQ(notifications.Snapshot()[0].delivery.queue, kNotificationsQueue);
  const InMemoryBusCounters counters = bus.Counters();
  EXPECT_EQ(counters.published, 1u);
  EXPECT_EQ(counters.delivered, 3u);
  EXPECT_EQ(counters.unroutable, 0u);
}

TEST_F(InMemoryEventBusTest, EventWithoutConsumerQueueIsCountedUnroutable) {
  const Topology topology = DefaultTopology(SmallRetry());
  InMemoryEventBus bus(topology, clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());

  ASSERT_TRUE(PublishOne(bus, Event(events::kNotificationEmailSent)).ok());

  const InMemoryBusCounters counters = bus.Counters();
  EXPECT_EQ(counters.published, 1u);
  EXPECT_EQ(counters.unroutable, 1u);
  for (const QueueSpec& q : topology.queues) EXPECT_EQ(bus.DepthOf(q.name), 0u) << q.name;

  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());
  EXPECT_EQ(bus.Counters().unroutable, 1u);  // a routable event does not count
}

TEST_F(InMemoryEventBusTest, MessagesPublishedBeforeSubscribeAreDeliveredAfter) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  const Envelope first = Event(events::kOrderCreated, "o-1");
  const Envelope second = Event(events::kOrderCancelled, "o-1");
  ASSERT_TRUE(PublishOne(bus, first).ok());  // before Start: just enqueued
  ASSERT_TRUE(bus.Start().ok());
  ASSERT_TRUE(PublishOne(bus, second).ok());
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 2u);  // a queue without consumer keeps its messages

  bus.Subscribe(std::string(kPaymentsQueue), payments.Acking(), {});

  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == 2; }));
  const std::vector<Record> records = payments.Snapshot();
  EXPECT_EQ(records[0].delivery.envelope.metadata.message_id, first.metadata.message_id);
  EXPECT_EQ(records[1].delivery.envelope.metadata.message_id, second.metadata.message_id);
  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsQueue) == 0; }));
}

TEST_F(InMemoryEventBusTest, SubscriptionBeforeStartDeliversOnlyAfterStart) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  bus.Subscribe(std::string(kPaymentsQueue), payments.Acking(), {});
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());

  EXPECT_TRUE(StaysFalse([&] { return payments.Count() > 0; }));
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 1u);

  ASSERT_TRUE(bus.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == 1; }));
}

TEST_F(InMemoryEventBusTest, UnknownEventTypeRejectsTheWholeBatch) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  const std::vector<Envelope> batch = {Event(events::kOrderCreated), Event("ORDER_TELEPORTED")};

  const Result<void> result = bus.Publish(batch);

  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kValidationFailed);
  EXPECT_THAT(result.error().message, ::testing::HasSubstr("ORDER_TELEPORTED"));
  EXPECT_EQ(bus.Counters().published, 0u);
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 0u);  // the valid first envelope was not published
  EXPECT_EQ(bus.DepthOf(kInventoryQueue), 0u);
}

TEST_F(InMemoryEventBusTest, DeliversInPublishOrderToOneConsumer) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  std::vector<Envelope> batch;
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(Event(events::kOrderCreated, "o-" + std::to_string(i)));
    ids.push_back(batch.back().metadata.message_id);
  }
  ASSERT_TRUE(bus.Publish(batch).ok());
  bus.Subscribe(std::string(kPaymentsQueue), payments.Acking(), {.concurrency = 1});
  ASSERT_TRUE(bus.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == ids.size(); }));
  std::vector<std::string> seen;
  for (const Record& r : payments.Snapshot())
    seen.push_back(r.delivery.envelope.metadata.message_id);
  EXPECT_THAT(seen, ElementsAreArray(ids));
}

TEST_F(InMemoryEventBusTest, CompetingConsumersHandleEachMessageOnce) {
  constexpr int kConcurrency = 4;
  constexpr int kMessages = 200;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0, in_flight = 0, max_in_flight = 0;
  std::map<std::string, int> handled;
  std::set<std::thread::id> threads;
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  std::unique_lock lock(mu);
                  ++handled[d.envelope.metadata.message_id];
                  threads.insert(std::this_thread::get_id());
                  max_in_flight = std::max(max_in_flight, ++in_flight);
                  // The first kConcurrency deliveries meet here: proves they run at the same time.
                  if (arrived < kConcurrency) {
                    ++arrived;
                    cv.notify_all();
                    cv.wait_for(lock, 5s, [&] { return arrived >= kConcurrency; });
                  }
                  --in_flight;
                  return HandlerOutcome::Ack();
                },
                {.concurrency = kConcurrency});

  std::vector<Envelope> batch;
  for (int i = 0; i < kMessages; ++i) {
    batch.push_back(Event(events::kOrderCreated, "o-" + std::to_string(i)));
  }
  ASSERT_TRUE(bus.Publish(batch).ok());

  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == kMessages; }));
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 0u);
  EXPECT_EQ(bus.Counters().delivered, static_cast<uint64_t>(kMessages));
  std::lock_guard lock(mu);
  ASSERT_EQ(handled.size(), static_cast<size_t>(kMessages));
  for (const Envelope& e : batch) EXPECT_EQ(handled[e.metadata.message_id], 1);
  EXPECT_EQ(max_in_flight, kConcurrency);
  EXPECT_EQ(threads.size(), static_cast<size_t>(kConcurrency));
}

TEST_F(InMemoryEventBusTest, RetriesAfterBackoffUntilTheHandlerSucceeds) {
  Recorder payments(clock_);
  // Delays: 1st retry in [80, 120] ms, 2nd in [160, 240] ms.
  InMemoryEventBus bus(DefaultTopology(SmallRetry(3, 0.2)), clock_, {.seed = 7});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  payments.Add(d);
                  return d.attempt < 3 ? HandlerOutcome::Retry("flaky") : HandlerOutcome::Ack();
                },
                {});
  const Envelope event = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, event).ok());

  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == 1 && bus.DepthOf(kPaymentsQueue) == 1; }));
  EXPECT_EQ(bus.PeekScheduled(kPaymentsQueue).size(), 1u);  // scheduled, not ready
  EXPECT_THAT(bus.PeekQueue(kPaymentsQueue), IsEmpty());
  EXPECT_TRUE(StaysFalse([&] { return payments.Count() > 1; }));  // the clock has not moved
  clock_.Advance(79ms);
  EXPECT_TRUE(StaysFalse([&] { return payments.Count() > 1; }));  // still before the delay
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 1u);
  clock_.Advance(42ms);  // 121 ms: past the longest first delay
  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == 2; }));

  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsQueue) == 1; }));
  clock_.Advance(159ms);
  EXPECT_TRUE(StaysFalse([&] { return payments.Count() > 2; }));
  clock_.Advance(82ms);  // 241 ms after the second failure
  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == 3; }));
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == 1; }));

  EXPECT_THAT(payments.Attempts(), ElementsAre(1, 2, 3));
  EXPECT_THAT(payments.RetryCounts(), ElementsAre(0, 1, 2));
  for (const Record& r : payments.Snapshot()) {
    EXPECT_EQ(r.delivery.envelope.metadata.message_id, event.metadata.message_id);
    EXPECT_EQ(r.delivery.routing_key, "order.created");
  }
  const InMemoryBusCounters counters = bus.Counters();
  EXPECT_EQ(counters.retried, 2u);
  EXPECT_EQ(counters.dead_lettered, 0u);
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 0u);
  EXPECT_EQ(bus.DepthOf(kPaymentsDlq), 0u);
}

TEST_F(InMemoryEventBusTest, DelaysGrowExponentiallyWithinJitterBounds) {
  constexpr double kJitter = 0.25;
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry(4, kJitter)), clock_, {.seed = 12345});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  payments.Add(d);
                  return HandlerOutcome::Retry("down");
                },
                {});
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());

  std::vector<Duration> delays;
  for (size_t failures = 1; failures <= 3; ++failures) {
    ASSERT_TRUE(WaitUntil([&] {
      return payments.Count() == failures && bus.PeekScheduled(kPaymentsQueue).size() == 1;
    }));
    const ScheduledDelivery next = bus.PeekScheduled(kPaymentsQueue)[0];
    EXPECT_EQ(next.delivery.attempt, static_cast<int>(failures) + 1);
    const Duration delay = next.due - clock_.Now();  // the clock stood still since the failure
    const Duration base = 100ms * (1 << (failures - 1));
    EXPECT_GE(delay, std::chrono::duration_cast<Duration>(base * (1 - kJitter))) << failures;
    EXPECT_LE(delay, std::chrono::duration_cast<Duration>(base * (1 + kJitter))) << failures;
    delays.push_back(delay);

    clock_.Set(next.due - 1ms);
    EXPECT_TRUE(StaysFalse([&] { return payments.Count() > failures; })) << failures;
    clock_.Set(next.due);
    ASSERT_TRUE(WaitUntil([&] { return payments.Count() == failures + 1; }));
    EXPECT_EQ(payments.Snapshot()[failures].at, next.due);  // delivered exactly when due
  }
  // With jitter <= 1/3 each delay is strictly longer than the previous one.
  EXPECT_LT(delays[0], delays[1]);
  EXPECT_LT(delays[1], delays[2]);
  // The jitter is actually applied (a factor of exactly 1.0 three times is not plausible).
  EXPECT_FALSE(delays[0] == 100ms && delays[1] == 200ms && delays[2] == 400ms);

  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsDlq) == 1; }));
  EXPECT_EQ(bus.PeekQueue(kPaymentsDlq)[0].Header(dead_letter_headers::kAttempts), "4");
}

// The first retry delay a bus seeded with `seed` picks.
Duration FirstRetryDelay(uint64_t seed) {
  testing::FakeClock clock;
  InMemoryEventBus bus(DefaultTopology(SmallRetry(3, 0.5)), clock, {.seed = seed});
  EXPECT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [](const Delivery&) { return HandlerOutcome::Retry("x"); }, {});
  const Envelope event =
      MakeEvent(std::string(events::kOrderCreated), {}, "orders", "c", "", clock.Now());
  EXPECT_TRUE(bus.Publish(std::span<const Envelope>(&event, 1)).ok());
  EXPECT_TRUE(WaitUntil([&] { return bus.PeekScheduled(kPaymentsQueue).size() == 1; }));
  const auto scheduled = bus.PeekScheduled(kPaymentsQueue);
  return scheduled.empty() ? Duration::zero() : scheduled[0].due - clock.Now();
}

TEST_F(InMemoryEventBusTest, JitterIsReproducibleForAGivenSeed) {
  EXPECT_EQ(FirstRetryDelay(99), FirstRetryDelay(99));
  EXPECT_NE(FirstRetryDelay(99), FirstRetryDelay(100));
}

TEST_F(InMemoryEventBusTest, ExhaustedRetriesLandInTheModuleDeadLetterQueueWithHeaders) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry(3)), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  payments.Add(d);
                  return HandlerOutcome::Retry("gateway timeout");
                },
                {});
  const TimePoint first_failure = clock_.Now();
  const Envelope event = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, event).ok());

  for (size_t delivered = 1; delivered <= 2; ++delivered) {
    ASSERT_TRUE(WaitUntil(
        [&] { return payments.Count() == delivered && bus.DepthOf(kPaymentsQueue) == 1; }));
    clock_.Advance(10s);
  }
  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsDlq) == 1; }));

  const std::vector<Delivery> dead = bus.PeekQueue(kPaymentsDlq);
  ASSERT_EQ(dead.size(), 1u);
  const Delivery& d = dead[0];
  EXPECT_EQ(d.queue, kPaymentsDlq);
  EXPECT_EQ(d.attempt, 1);
  EXPECT_EQ(d.envelope.metadata.message_id, event.metadata.message_id);
  EXPECT_EQ(d.envelope.metadata.retry_count, 2);
  EXPECT_EQ(d.Header(dead_letter_headers::kReason), "gateway timeout");
  EXPECT_EQ(d.Header(dead_letter_headers::kAttempts), "3");
  EXPECT_EQ(d.Header(dead_letter_headers::kOriginalQueue), kPaymentsQueue);
  EXPECT_EQ(d.Header(dead_letter_headers::kRoutingKey), "order.created");
  EXPECT_EQ(d.Header(dead_letter_headers::kFirstFailure), FormatRfc3339(first_failure));
  EXPECT_EQ(d.Header(dead_letter_headers::kLastFailure), FormatRfc3339(first_failure + 20s));

  EXPECT_EQ(payments.Count(), 3u);
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 0u);
  EXPECT_EQ(bus.DepthOf("dlq.inventory.reserve.failed"), 0u);  // only the failing module's
  const InMemoryBusCounters counters = bus.Counters();
  EXPECT_EQ(counters.retried, 2u);
  EXPECT_EQ(counters.dead_lettered, 1u);
}

TEST_F(InMemoryEventBusTest, DeadLetterOutcomeGoesStraightToTheDeadLetterQueue) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry(5)), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  payments.Add(d);
                  return HandlerOutcome::DeadLetter("poison: no amount");
                },
                {});
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());

  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsDlq) == 1; }));
  const Delivery d = bus.PeekQueue(kPaymentsDlq)[0];
  EXPECT_EQ(d.Header(dead_letter_headers::kReason), "poison: no amount");
  EXPECT_EQ(d.Header(dead_letter_headers::kAttempts), "1");
  EXPECT_EQ(d.Header(dead_letter_headers::kFirstFailure), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(d.Header(dead_letter_headers::kLastFailure), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(d.envelope.metadata.retry_count, 0);
  EXPECT_EQ(payments.Count(), 1u);
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 0u);  // nothing scheduled
  EXPECT_EQ(bus.Counters().retried, 0u);
}

TEST_F(InMemoryEventBusTest, HandlerExceptionsAreRetried) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry(3)), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) -> HandlerOutcome {
                  payments.Add(d);
                  if (d.attempt == 1) throw std::runtime_error("boom");
                  if (d.attempt == 2) throw 42;  // not even a std::exception
                  return HandlerOutcome::Ack();
                },
                {});
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());

  for (size_t delivered = 1; delivered <= 2; ++delivered) {
    ASSERT_TRUE(WaitUntil(
        [&] { return payments.Count() == delivered && bus.DepthOf(kPaymentsQueue) == 1; }));
    clock_.Advance(10s);
  }
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == 1; }));
  EXPECT_THAT(payments.Attempts(), ElementsAre(1, 2, 3));
  EXPECT_EQ(bus.Counters().retried, 2u);
  EXPECT_EQ(bus.DepthOf(kPaymentsDlq), 0u);
}

TEST_F(InMemoryEventBusTest, ExceptionMessageIsTheDeadLetterReason) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry(1)), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(
      std::string(kPaymentsQueue),
      [](const Delivery&) -> HandlerOutcome { throw std::runtime_error("store unreachable"); }, {});
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());

  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsDlq) == 1; }));
  const Delivery d = bus.PeekQueue(kPaymentsDlq)[0];
  EXPECT_EQ(d.Header(dead_letter_headers::kReason), "store unreachable");
  EXPECT_EQ(d.Header(dead_letter_headers::kAttempts), "1");
}

TEST_F(InMemoryEventBusTest, HandlerMayPublishWithoutDeadlock) {
  Recorder orders(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kOrdersQueue), orders.Acking(), {});
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  const Envelope reply = MakeEvent(std::string(events::kPaymentRequested), {},
                                                   "payments", d.envelope.metadata.correlation_id,
                                                   d.envelope.metadata.message_id, clock_.Now());
                  return PublishOne(bus, reply).ok() ? HandlerOutcome::Ack()
                                                     : HandlerOutcome::Retry("publish failed");
                },
                {.concurrency = 2});
  const Envelope event = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, event).ok());

  ASSERT_TRUE(WaitUntil([&] { return orders.Count() == 1; }));
  const Delivery d = orders.Snapshot()[0].delivery;
  EXPECT_EQ(d.envelope.event_type, events::kPaymentRequested);
  EXPECT_EQ(d.routing_key, "payment.requested");
  EXPECT_EQ(d.envelope.metadata.causation_id, event.metadata.message_id);
}

TEST_F(InMemoryEventBusTest, SendToQueueRedrivesADeadLetterAsAFirstDelivery) {
  Recorder payments(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery& d) {
                  payments.Add(d);
                  return payments.Count() == 1 ? HandlerOutcome::DeadLetter("poison")
                                               : HandlerOutcome::Ack();
                },
                {});
  // A dead-letter manager that re-drives from inside its handler (re-entrant SendToQueue).
  bus.Subscribe(
      std::string(kPaymentsDlq),
      [&](const Delivery& d) {
        const auto sent =
            bus.SendToQueue(d.Header(dead_letter_headers::kOriginalQueue), d.envelope, d.headers);
        return sent.ok() ? HandlerOutcome::Ack() : HandlerOutcome::DeadLetter("redrive failed");
      },
      {});
  const Envelope event = Event(events::kOrderCreated);
  ASSERT_TRUE(PublishOne(bus, event).ok());

  ASSERT_TRUE(WaitUntil([&] { return payments.Count() == 2 && bus.Counters().acked == 2; }));
  const Delivery redriven = payments.Snapshot()[1].delivery;
  EXPECT_EQ(redriven.attempt, 1);
  EXPECT_EQ(redriven.queue, kPaymentsQueue);
  EXPECT_EQ(redriven.routing_key, "order.created");
  EXPECT_EQ(redriven.envelope.metadata.message_id, event.metadata.message_id);
  EXPECT_EQ(redriven.Header(dead_letter_headers::kReason), "poison");  // headers as given
  EXPECT_EQ(bus.DepthOf(kPaymentsDlq), 0u);
  EXPECT_EQ(bus.Counters().dead_lettered, 1u);
}

TEST_F(InMemoryEventBusTest, SendToUnknownQueueIsAValidationError) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  const Result<void> result = bus.SendToQueue("no.such.queue", Event(events::kOrderCreated), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kValidationFailed);
}

TEST_F(InMemoryEventBusTest, FailureInADeadLetterQueueIsDroppedNotLooped) {
  Recorder dlq(clock_);
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [](const Delivery&) { return HandlerOutcome::DeadLetter("poison"); }, {});
  bus.Subscribe(std::string(kPaymentsDlq),
                [&](const Delivery& d) {
                  dlq.Add(d);
                  return HandlerOutcome::DeadLetter("still poison");
                },
                {});
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());

  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().dropped == 1; }));
  EXPECT_EQ(dlq.Count(), 1u);
  EXPECT_EQ(bus.DepthOf(kPaymentsDlq), 0u);
  EXPECT_EQ(bus.Counters().dead_lettered, 1u);
}

TEST_F(InMemoryEventBusTest, SubscribingToAnUnknownQueueThrows) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  auto ack = [](const Delivery&) { return HandlerOutcome::Ack(); };
  EXPECT_THROW(bus.Subscribe("no.such.queue", ack, {}), std::invalid_argument);
  EXPECT_THROW(bus.Subscribe(std::string(kPaymentsQueue), EventHandler{}, {}),
               std::invalid_argument);
  EXPECT_THROW(bus.Subscribe(std::string(kPaymentsQueue), ack, {.concurrency = 0}),
               std::invalid_argument);
}

TEST_F(InMemoryEventBusTest, StopWaitsForTheHandlerInFlightAndIsIdempotent) {
  std::latch release(1);
  std::atomic<bool> entered = false, handler_returned = false, stop_returned = false;
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ASSERT_TRUE(bus.Start().ok());
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery&) {
                  entered = true;
                  release.wait();
                  handler_returned = true;
                  return HandlerOutcome::Ack();
                },
                {});
  EXPECT_EQ(bus.Status().transport, "memory");
  EXPECT_TRUE(bus.Status().connected);
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated)).ok());
  ASSERT_TRUE(WaitUntil([&] { return entered.load(); }));

  std::thread stopper([&] {
    bus.Stop();
    stop_returned = true;
  });
  EXPECT_TRUE(StaysFalse([&] { return stop_returned.load(); }));
  EXPECT_FALSE(handler_returned);
  release.count_down();
  stopper.join();

  EXPECT_TRUE(handler_returned);
  EXPECT_EQ(bus.Counters().acked, 1u);  // the in-flight delivery was settled
  bus.Stop();                           // idempotent
  EXPECT_FALSE(bus.Status().connected);
  const Result<void> after = PublishOne(bus, Event(events::kOrderCreated));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(bus.Start().ok());
}

}  // namespace
}  // namespace shopflow

namespace shopflow {
namespace {

// Batches seen by a batch handler, with the outcome it gives each delivery (by order id).
class BatchRecorder {
 public:
  BatchEventHandler Handler(std::map<std::string, HandlerOutcome> outcomes = {}) {
    return [this, outcomes = std::move(outcomes)](std::span<const Delivery> deliveries) {
      std::vector<HandlerOutcome> out;
      std::vector<std::string> ids;
      for (const Delivery& d : deliveries) {
        const std::string id = GetString(d.envelope.data, "orderId");
        ids.push_back(id);
        auto it = outcomes.find(id);
        out.push_back(it == outcomes.end() || d.attempt > 1 ? HandlerOutcome::Ack() : it->second);
      }
      std::lock_guard lock(mu_);
      batches_.push_back(std::move(ids));
      return out;
    };
  }
  std::vector<std::vector<std::string>> Batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }
  size_t Deliveries() const {
    size_t n = 0;
    for (const auto& b : Batches()) n += b.size();
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<std::string>> batches_;
};

TEST_F(InMemoryEventBusTest, BatchHandlerGetsTheReadyMessagesTogetherInQueueOrder) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back("o-" + std::to_string(i));
    ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, ids.back())).ok());
  }
  BatchRecorder payments;
  bus.SubscribeBatch(std::string(kPaymentsQueue), payments.Handler(),
                     {.concurrency = 1, .max_batch = 4});
  ASSERT_TRUE(bus.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return payments.Deliveries() == 10; }));
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked == 10; }));
  // Ten messages were waiting: one worker takes them four at a time.
  const auto batches = payments.Batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(batches[0], ElementsAre("o-0", "o-1", "o-2", "o-3"));
  EXPECT_THAT(batches[1], ElementsAre("o-4", "o-5", "o-6", "o-7"));
  EXPECT_THAT(batches[2], ElementsAre("o-8", "o-9"));
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 0u);
}

TEST_F(InMemoryEventBusTest, EachDeliveryOfABatchIsSettledByItsOwnOutcome) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  for (const char* id : {"ok-1", "retry", "poison", "ok-2"}) {
    ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, id)).ok());
  }
  BatchRecorder payments;
  bus.SubscribeBatch(std::string(kPaymentsQueue),
                     payments.Handler({{"retry", HandlerOutcome::Retry("later")},
                                       {"poison", HandlerOutcome::DeadLetter("bad")}}),
                     {.concurrency = 1, .max_batch = 8});
  ASSERT_TRUE(bus.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return payments.Deliveries() == 4; }));
  ASSERT_TRUE(WaitUntil([&] { return bus.DepthOf(kPaymentsDlq) == 1; }));
  const std::vector<Delivery> dead = bus.PeekQueue(kPaymentsDlq);
  EXPECT_EQ(GetString(dead[0].envelope.data, "orderId"), "poison");
  EXPECT_EQ(dead[0].Header(dead_letter_headers::kReason), "bad");
  // Only "retry" waits for a redelivery; the two others were acknowledged.
  const std::vector<ScheduledDelivery> scheduled = bus.PeekScheduled(kPaymentsQueue);
  ASSERT_EQ(scheduled.size(), 1u);
  EXPECT_EQ(GetString(scheduled[0].delivery.envelope.data, "orderId"), "retry");
  EXPECT_EQ(scheduled[0].delivery.attempt, 2);

  clock_.Advance(1s);
  ASSERT_TRUE(WaitUntil([&] { return payments.Deliveries() == 5; }));
  EXPECT_THAT(payments.Batches().back(), ElementsAre("retry"));
  EXPECT_TRUE(WaitUntil([&] { return bus.PeekScheduled(kPaymentsQueue).empty(); }));
}

TEST_F(InMemoryEventBusTest, AThrowingOrShortBatchHandlerRetriesTheDeliveriesItDidNotSettle) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, id)).ok());
  }
  std::atomic<int> calls = 0;
  bus.SubscribeBatch(std::string(kPaymentsQueue),
                     [&](std::span<const Delivery> deliveries) -> std::vector<HandlerOutcome> {
                       if (calls++ == 0) throw std::runtime_error("boom");
                       // Second round: one outcome for the first delivery only.
                       (void)deliveries;
                       return {HandlerOutcome::Ack()};
                     },
                     {.concurrency = 1, .max_batch = 8});
  ASSERT_TRUE(bus.Start().ok());

  ASSERT_TRUE(WaitUntil([&] { return bus.PeekScheduled(kPaymentsQueue).size() == 3; }));
  for (const ScheduledDelivery& s : bus.PeekScheduled(kPaymentsQueue)) {
    EXPECT_EQ(s.delivery.attempt, 2);
  }
  clock_.Advance(1s);
  // The three come back together; only the first gets an outcome, the two others are retried.
  ASSERT_TRUE(WaitUntil([&] { return bus.PeekScheduled(kPaymentsQueue).size() == 2; }));
  for (const ScheduledDelivery& s : bus.PeekScheduled(kPaymentsQueue)) {
    EXPECT_EQ(s.delivery.attempt, 3);
  }
  EXPECT_EQ(calls.load(), 2);
}

class OutcomeObserver final : public EventObserver {
 public:
  void OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds) override {
    std::lock_guard lock(mu_);
    seen_[GetString(delivery.envelope.data, "orderId")] = outcome.kind;
  }
  std::map<std::string, HandlerOutcome::Kind> Seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, HandlerOutcome::Kind> seen_;
};

TEST_F(InMemoryEventBusTest, ObserversSeeEveryDeliveryOfABatchWithItsOwnOutcome) {
  InMemoryEventBus inner(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  ObservedEventBus bus(inner);
  OutcomeObserver observer;
  bus.AddObserver(&observer);
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(PublishOne(inner, Event(events::kOrderCreated, id)).ok());
  }
  BatchRecorder payments;
  bus.SubscribeBatch(std::string(kPaymentsQueue),
                     payments.Handler({{"b", HandlerOutcome::DeadLetter("no")}}),
                     {.concurrency = 1, .max_batch = 8});
  ASSERT_TRUE(bus.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return observer.Seen().size() == 3; }));
  EXPECT_EQ(payments.Batches().size(), 1u);  // handed over together through the decorator
  const auto seen = observer.Seen();
  EXPECT_EQ(seen.at("a"), HandlerOutcome::Kind::kAck);
  EXPECT_EQ(seen.at("b"), HandlerOutcome::Kind::kDeadLetter);
  EXPECT_EQ(seen.at("c"), HandlerOutcome::Kind::kAck);
  bus.Stop();
}

// A transport without batching of its own (as AmqpEventBus): only Subscribe.
class OneAtATimeBus final : public EventBus {
 public:
  Result<void> Start() override { return Ok(); }
  void Stop() override {}
  Result<void> Publish(std::span<const Envelope>) override { return Ok(); }
  Result<void> SendToQueue(std::string_view, const Envelope&,
                           std::vector<std::pair<std::string, std::string>>) override {
    return Ok();
  }
  void Subscribe(std::string, EventHandler h, SubscribeOptions) override { handler = h; }
  BusStatus Status() const override { return {"test", true, ""}; }
  EventHandler handler;
};

TEST_F(InMemoryEventBusTest, TheDefaultSubscribeBatchHandsDeliveriesOverOneAtATime) {
  OneAtATimeBus bus;
  BatchRecorder recorder;
  bus.SubscribeBatch("q", recorder.Handler({{"x", HandlerOutcome::Retry("later")}}),
                     {.max_batch = 8});
  ASSERT_TRUE(bus.handler);
  Delivery d;
  d.envelope.data = json::object{{"orderId", "x"}};
  EXPECT_EQ(bus.handler(d).kind, HandlerOutcome::Kind::kRetry);
  d.envelope.data = json::object{{"orderId", "y"}};
  EXPECT_EQ(bus.handler(d).kind, HandlerOutcome::Kind::kAck);
  EXPECT_THAT(recorder.Batches(), ElementsAre(ElementsAre("x"), ElementsAre("y")));
  // A throwing batch handler is a retry, as for Subscribe.
  bus.SubscribeBatch("q",
                     [](std::span<const Delivery>) -> std::vector<HandlerOutcome> {
                       throw std::runtime_error("boom");
                     },
                     {});
  const HandlerOutcome thrown = bus.handler(d);
  EXPECT_EQ(thrown.kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(thrown.reason, "boom");
}

TEST_F(InMemoryEventBusTest, PublishWaitsWhileAConsumedQueueIsFullAndGoesOnWhenItDrains) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1, .max_queue_depth = 3});
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> handled = 0;
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery&) {
                  std::unique_lock lock(mu);
                  cv.wait(lock, [&] { return release; });
                  ++handled;
                  return HandlerOutcome::Ack();
                },
                {.concurrency = 1});
  ASSERT_TRUE(bus.Start().ok());
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, "o-0")).ok());
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().delivered == 1; }));  // the worker holds it
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, "o-" + std::to_string(i))).ok());
  }
  std::atomic<bool> published = false;
  std::thread publisher([&] {
    EXPECT_TRUE(PublishOne(bus, Event(events::kOrderCreated, "o-4")).ok());
    published = true;
  });
  EXPECT_TRUE(StaysFalse([&] { return published.load(); }));  // three wait on payments
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  publisher.join();
  EXPECT_TRUE(published.load());
  ASSERT_TRUE(WaitUntil([&] { return handled.load() == 5; }));
}

TEST_F(InMemoryEventBusTest, AQueueWithoutConsumersNeverMakesPublishWait) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1, .max_queue_depth = 3});
  ASSERT_TRUE(bus.Start().ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, "o-" + std::to_string(i))).ok());
  }
  EXPECT_EQ(bus.DepthOf(kPaymentsQueue), 10u);
}

TEST_F(InMemoryEventBusTest, StopReleasesAPublisherWaitingForRoom) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1, .max_queue_depth = 1});
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bus.Subscribe(std::string(kPaymentsQueue),
                [&](const Delivery&) {
                  std::unique_lock lock(mu);
                  cv.wait(lock, [&] { return release; });
                  return HandlerOutcome::Ack();
                },
                {.concurrency = 1});
  ASSERT_TRUE(bus.Start().ok());
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, "o-0")).ok());
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().delivered == 1; }));
  ASSERT_TRUE(PublishOne(bus, Event(events::kOrderCreated, "o-1")).ok());
  std::atomic<bool> refused = false;
  std::thread publisher([&] {
    auto r = PublishOne(bus, Event(events::kOrderCreated, "o-2"));
    refused = !r.ok() && r.error().code == ErrorCode::kUnavailable;
  });
  EXPECT_TRUE(StaysFalse([&] { return refused.load(); }));
  std::thread stopper([&] { bus.Stop(); });  // waits for the held handler
  ASSERT_TRUE(WaitUntil([&] { return refused.load(); }));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  publisher.join();
}

TEST_F(InMemoryEventBusTest, SubscribeBatchRejectsAMaxBatchBelowOne) {
  InMemoryEventBus bus(DefaultTopology(SmallRetry()), clock_, {.seed = 1});
  BatchRecorder payments;
  EXPECT_THROW(bus.SubscribeBatch(std::string(kPaymentsQueue), payments.Handler(),
                                  {.concurrency = 1, .max_batch = 0}),
               std::invalid_argument);
  EXPECT_THROW(bus.SubscribeBatch(std::string(kPaymentsQueue), BatchEventHandler(), {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace shopflow
