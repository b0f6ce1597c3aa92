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

namespace {
// What observers are told of `outcome` (see ObservedEventBus's constructor).
const HandlerOutcome& AsObserved(const HandlerOutcome& outcome, const Delivery& delivery,
                                 int dead_letters_from, HandlerOutcome& rewritten) {
  if (outcome.kind != HandlerOutcome::Kind::kRetry || dead_letters_from <= 0 ||
      delivery.attempt < dead_letters_from) {
    return outcome;
  }
  rewritten = HandlerOutcome::DeadLetter(outcome.reason);
  return rewritten;
}
}  // namespace

int ObservedEventBus::DeadLettersFromAttempt(std::string_view queue) const {
  if (!topology_) return 0;
  const QueueSpec* spec = topology_->FindQueue(queue);
  // Only a module queue's deliveries go to a dead-letter queue; a dead-letter queue's own
  // last failure is dropped.
  if (!spec || spec->role != QueueRole::kModule) return 0;
  return std::max(topology_->retry.max_attempts, 1);
}

void ObservedEventBus::Subscribe(std::string queue, EventHandler handler,
                                 SubscribeOptions options) {
  if (!handler) {
    inner_.Subscribe(std::move(queue), std::move(handler), options);  // let it reject
    return;
  }
  const int dead_letters_from = DeadLettersFromAttempt(queue);
  inner_.Subscribe(
      std::move(queue),
      [this, dead_letters_from, handler = std::move(handler)](const Delivery& delivery) {
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
        HandlerOutcome rewritten;
        const HandlerOutcome& observed =
            AsObserved(outcome, delivery, dead_letters_from, rewritten);
        for (auto* o : observers_) o->OnHandled(delivery, observed, took);
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
  const int dead_letters_from = DeadLettersFromAttempt(queue);
  inner_.SubscribeBatch(
      std::move(queue),
      [this, dead_letters_from,
       handler = std::move(handler)](std::span<const Delivery> deliveries) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<HandlerOutcome> outcomes = InvokeBatch(handler, deliveries);
        const auto took = (std::chrono::steady_clock::now() - start) /
                          static_cast<int64_t>(std::max<size_t>(deliveries.size(), 1));
        for (size_t i = 0; i < deliveries.size(); ++i) {
          HandlerOutcome rewritten;
          const HandlerOutcome& observed =
              AsObserved(outcomes[i], deliveries[i], dead_letters_from, rewritten);
          for (auto* o : observers_) o->OnHandled(deliveries[i], observed, took);
        }
        return outcomes;
      },
      options);
}

}  // namespace shopflow
