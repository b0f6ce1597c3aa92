#include "events/observed_event_bus.hpp"

#include <algorithm>
#include <memory>

namespace shopflow {

Result<void> ObservedEventBus::Publish(std::span<const Envelope> batch) {
  auto result = inner_.Publish(batch);
  if (result) {
    for (auto* o : observers_) o->OnPublished(batch);
  }
  return result;
}

void ObservedEventBus::PublishAsync(std::span<const Envelope> batch, PublishDone done) {
  // The caller's events may be gone when `done` runs; observers need them then.
  auto kept = std::make_shared<std::vector<Envelope>>(batch.begin(), batch.end());
  const std::span<const Envelope> events = *kept;  // before `kept` moves into the callback
  inner_.PublishAsync(events,
                      [this, kept = std::move(kept), done = std::move(done)](Result<void> result) {
                        if (result) {
                          for (auto* o : observers_) o->OnPublished(*kept);
                        }
                        done(std::move(result));
                      });
}

void ObservedEventBus::Subscribe(std::string queue, EventHandler handler,
                                 SubscribeOptions options) {
  if (!handler) {
    inner_.Subscribe(std::move(queue), std::move(handler), options);  // let it reject
    return;
  }
  inner_.Subscribe(
      std::move(queue),
      [this, handler = std::move(handler)](const Delivery& delivery) {
        const auto start = std::chrono::steady_clock::now();
        HandlerOutcome outcome;
        try {
          outcome = handler(delivery);
        } catch (const std::exception& e) {
          outcome = HandlerOutcome::Retry(e.what());
        } catch (...) {
          outcome = HandlerOutcome::Retry("unknown exception");
        }
        const auto took = std::chrono::steady_clock::now() - start;
        for (auto* o : observers_) o->OnHandled(delivery, outcome, took);
        return outcome;
      },
      options);
}

void ObservedEventBus::SubscribeBatch(std::string queue, BatchEventHandler handler,
                                      SubscribeOptions options) {
  if (!handler) {
    inner_.SubscribeBatch(std::move(queue), std::move(handler), options);  // let it reject
    return;
  }
  inner_.SubscribeBatch(
      std::move(queue),
      [this, handler = std::move(handler)](std::span<const Delivery> deliveries) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<HandlerOutcome> outcomes = InvokeBatch(handler, deliveries);
        const auto took = (std::chrono::steady_clock::now() - start) /
                          static_cast<int64_t>(std::max<size_t>(deliveries.size(), 1));
        for (size_t i = 0; i < deliveries.size(); ++i) {
          for (auto* o : observers_) o->OnHandled(deliveries[i], outcomes[i], took);
        }
        return outcomes;
      },
      options);
}

}  // namespace shopflow
