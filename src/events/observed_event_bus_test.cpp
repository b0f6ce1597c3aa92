#include "events/observed_event_bus.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"

namespace shopflow {
namespace {

// A bus whose PublishAsync completes inline or holds the batch (by reference only, as a
// transport that has already sent it would) until the test completes it.
class ScriptedBus final : public EventBus {
 public:
  bool inline_completion = true;
  std::vector<PublishDone> held;

  Result<void> Start() override { return Ok(); }
  void Stop() override {}
  Result<void> Publish(std::span<const Envelope>) override { return Ok(); }
  void PublishAsync(std::span<const Envelope>, PublishDone done) override {
    if (inline_completion) {
      done(Ok());
    } else {
      held.push_back(std::move(done));
    }
  }
  Result<void> SendToQueue(std::string_view, const Envelope&,
                           std::vector<std::pair<std::string, std::string>>) override {
    return Ok();
  }
  void Subscribe(std::string queue, EventHandler handler, SubscribeOptions) override {
    handlers[queue] = std::move(handler);
  }
  std::map<std::string, EventHandler> handlers;  // what was subscribed, per queue
  BusStatus Status() const override { return {"scripted", true, ""}; }
};

class RecordingObserver final : public EventObserver {
 public:
  std::vector<std::string> seen;  // message ids, in order
  void OnPublished(std::span<const Envelope> batch) override {
    for (const auto& e : batch) seen.push_back(e.metadata.message_id);
  }
};

class OutcomeRecorder final : public EventObserver {
 public:
  std::vector<std::pair<HandlerOutcome::Kind, std::string>> seen;  // kind and reason
  void OnHandled(const Delivery&, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds) override {
    seen.emplace_back(outcome.kind, outcome.reason);
  }
};

std::vector<Envelope> Batch(int n) {
  std::vector<Envelope> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(MakeEvent("ORDER_CREATED", {{"i", i}}, "orders", "corr", "",
                            SystemClock::Instance().Now()));
  }
  return out;
}

std::vector<std::string> Ids(const std::vector<Envelope>& batch) {
  std::vector<std::string> out;
  for (const auto& e : batch) out.push_back(e.metadata.message_id);
  return out;
}

TEST(ObservedEventBusTest, AnInlineCompletionShowsObserversTheCallersBatch) {
  ScriptedBus inner;
  ObservedEventBus bus(inner);
  RecordingObserver observer;
  bus.AddObserver(&observer);
  const auto batch = Batch(3);
  int calls = 0;
  bus.PublishAsync(batch, [&](Result<void> r) {
    EXPECT_TRUE(r.ok());
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(observer.seen, Ids(batch));
}

TEST(ObservedEventBusTest, ALaterCompletionShowsObserversTheEventsAfterTheCallersAreGone) {
  ScriptedBus inner;
  inner.inline_completion = false;
  ObservedEventBus bus(inner);
  RecordingObserver observer;
  bus.AddObserver(&observer);
  std::vector<std::string> expected;
  int calls = 0;
  for (int round = 0; round < 2; ++round) {
    auto batch = Batch(2 + round);
    const auto ids = Ids(batch);
    expected.insert(expected.end(), ids.begin(), ids.end());
    bus.PublishAsync(batch, [&](Result<void>) { ++calls; });
    // The caller's events change and go before the outcome arrives.
    for (auto& e : batch) e.metadata.message_id = "overwritten";
    batch.clear();
    batch.shrink_to_fit();
  }
  EXPECT_TRUE(observer.seen.empty());
  ASSERT_EQ(inner.held.size(), 2u);
  std::thread transport([&] {  // a transport thread completes them, in order
    for (auto& done : inner.held) done(Ok());
  });
  transport.join();
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(observer.seen, expected);
}

TEST(ObservedEventBusTest, AFailedBatchIsNotShownToObservers) {
  ScriptedBus inner;
  inner.inline_completion = false;
  ObservedEventBus bus(inner);
  RecordingObserver observer;
  bus.AddObserver(&observer);
  std::optional<Result<void>> outcome;
  bus.PublishAsync(Batch(2), [&](Result<void> r) { outcome = std::move(r); });
  ASSERT_EQ(inner.held.size(), 1u);
  inner.held[0](UnavailableError("broker gone"));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->ok());
  EXPECT_TRUE(observer.seen.empty());
}

// The transports dead-letter a module queue's delivery whose last attempt asks for a retry;
// observers are told so, while the transport still gets the handler's own answer.
TEST(ObservedEventBusTest, ARetryOnAModuleQueuesLastAttemptIsObservedAsADeadLetter) {
  RetryPolicy retry;
  retry.max_attempts = 3;
  const Topology topology = DefaultTopology(retry);
  const std::string module_queue = "payments.events.queue";
  const std::string dead_letter_queue = "dlq.payments.process.failed";
  ASSERT_NE(topology.FindQueue(dead_letter_queue), nullptr);
  ASSERT_EQ(topology.FindQueue(dead_letter_queue)->role, QueueRole::kDeadLetter);

  ScriptedBus inner;
  ObservedEventBus bus(inner, topology);
  ScriptedBus plain_inner;
  ObservedEventBus plain(plain_inner);  // no topology: outcomes as the handler gave them
  OutcomeRecorder observer;
  OutcomeRecorder plain_observer;
  bus.AddObserver(&observer);
  plain.AddObserver(&plain_observer);
  const auto retry_always = [](const Delivery&) { return HandlerOutcome::Retry("gateway down"); };
  bus.Subscribe(module_queue, retry_always, {});
  bus.SubscribeBatch(dead_letter_queue,
                     [](std::span<const Delivery> d) {
                       return std::vector<HandlerOutcome>(d.size(),
                                                          HandlerOutcome::Retry("still down"));
                     },
                     {});
  plain.Subscribe(module_queue, retry_always, {});

  Delivery delivery;
  delivery.queue = module_queue;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    delivery.attempt = attempt;
    EXPECT_EQ(inner.handlers[module_queue](delivery).kind, HandlerOutcome::Kind::kRetry);
    EXPECT_EQ(plain_inner.handlers[module_queue](delivery).kind, HandlerOutcome::Kind::kRetry);
  }
  delivery.queue = dead_letter_queue;  // its last failure is dropped, not dead-lettered
  EXPECT_EQ(inner.handlers[dead_letter_queue](delivery).kind, HandlerOutcome::Kind::kRetry);

  using Kind = HandlerOutcome::Kind;
  const std::vector<std::pair<Kind, std::string>> expected{{Kind::kRetry, "gateway down"},
                                                           {Kind::kRetry, "gateway down"},
                                                           {Kind::kDeadLetter, "gateway down"},
                                                           {Kind::kDeadLetter, "gateway down"},
                                                           {Kind::kRetry, "still down"}};
  EXPECT_EQ(observer.seen, expected);
  EXPECT_EQ(plain_observer.seen,
            (std::vector<std::pair<Kind, std::string>>(4, {Kind::kRetry, "gateway down"})));
}

}  // namespace
}  // namespace shopflow
