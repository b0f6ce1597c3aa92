#include "events/event_bus.hpp"

#include <stdexcept>

namespace shopflow {

std::vector<HandlerOutcome> InvokeBatch(const BatchEventHandler& handler,
                                        std::span<const Delivery> deliveries) {
  std::vector<HandlerOutcome> outcomes;
  // A throwing handler is a transient failure of the whole batch, never a dead worker.
  try {
    outcomes = handler(deliveries);
  } catch (const std::exception& e) {
    return std::vector<HandlerOutcome>(deliveries.size(), HandlerOutcome::Retry(e.what()));
  } catch (...) {
    return std::vector<HandlerOutcome>(deliveries.size(),
                                       HandlerOutcome::Retry("unknown exception"));
  }
  if (outcomes.size() != deliveries.size()) {
    const std::string reason = "batch handler returned " + std::to_string(outcomes.size()) +
                               " outcomes for " + std::to_string(deliveries.size()) + " deliveries";
    outcomes.resize(deliveries.size(), HandlerOutcome::Retry(reason));
  }
  return outcomes;
}

BatchEventHandler OneAtATime(EventHandler handler) {
  return [handler = std::move(handler)](std::span<const Delivery> deliveries) {
    std::vector<HandlerOutcome> outcomes;
    outcomes.reserve(deliveries.size());
    for (const Delivery& d : deliveries) {
      try {
        outcomes.push_back(handler(d));
      } catch (const std::exception& e) {
        outcomes.push_back(HandlerOutcome::Retry(e.what()));
      } catch (...) {
        outcomes.push_back(HandlerOutcome::Retry("unknown exception"));
      }
    }
    return outcomes;
  };
}

void EventBus::PublishAsync(std::span<const Envelope> batch, PublishDone done) {
  done(Publish(batch));
}

void EventBus::SubscribeBatch(std::string queue, BatchEventHandler handler,
                              SubscribeOptions options) {
  if (!handler) {
    Subscribe(std::move(queue), EventHandler(), options);  // let the transport reject it
    return;
  }
  Subscribe(
      std::move(queue),
      [handler = std::move(handler)](const Delivery& delivery) {
        return InvokeBatch(handler, std::span<const Delivery>(&delivery, 1)).front();
      },
      options);
}

}  // namespace shopflow
