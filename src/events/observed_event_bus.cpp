#include "events/observed_event_bus.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

namespace shopflow {

Result<void> ObservedEventBus::Publish(std::span<const Envelope> batch) {
  auto result = inner_.Publish(batch);
  if (result) {
    for (auto* o : observers_) o->OnPublished(batch);
  }
  return result;
}

void ObservedEventBus::PublishAsync(std::span<const Envelope> batch, PublishDone done) {
  // Observers need the events when `done` runs. Completed before this call returns (the
  // in-memory bus always, a transport that refuses at once), the caller's batch is still
  // there; otherwise a copy is made before returning. The lock orders the two: a completion
  // racing with the return either runs first, on the caller's batch, while the return waits
  // for it, or finds the copy.
  struct Pending {
    std::mutex mutex;
    std::span<const Envelope> events;  // the caller's until `returned`, then `kept`
    std::vector<Envelope> kept;
    bool completed = false;
  };
  auto pending = std::make_shared<Pending>();
  pending->events = batch;
  inner_.PublishAsync(batch, [this, pending, done = std::move(done)](Result<void> result) {
    {
      std::lock_guard lock(pending->mutex);
      pending->completed = true;
      if (result) {
        for (auto* o : observers_) o->OnPublished(pending->events);
      }
    }
    done(std::move(result));
  });
  std::lock_guard lock(pending->mutex);
  if (!pending->completed) {
    pending->kept.assign(batch.begin(), batch.end());
    pending->events = pending->kept;
  }
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
