#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "events/event_bus.hpp"

namespace shopflow {

/// Sees every event a bus publishes and every delivery its consumers handle (the message
/// logger, metrics and tests are observers). Called on the publishing or consuming thread,
/// outside any bus lock; must be quick and must not throw.
class EventObserver {
 public:
  virtual ~EventObserver() = default;
  virtual void OnPublished(std::span<const Envelope> batch) { (void)batch; }
  virtual void OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                         std::chrono::nanoseconds took) {
    (void)delivery;
    (void)outcome;
    (void)took;
  }
};

/// A decorator that reports to observers what the wrapped bus publishes and what handlers
/// decide, whatever the transport. Observers are added before Start and live as long as the
/// bus. Thread-safe as the wrapped bus is.
class ObservedEventBus final : public EventBus {
 public:
  explicit ObservedEventBus(EventBus& inner) : inner_(inner) {}

  void AddObserver(EventObserver* observer) { observers_.push_back(observer); }
  EventBus& inner() { return inner_; }

  Result<void> Start() override { return inner_.Start(); }
  void Stop() override { inner_.Stop(); }
  Result<void> Publish(std::span<const Envelope> batch) override;
  /// Observers see the batch once it is published, on the thread that calls `done`.
  void PublishAsync(std::span<const Envelope> batch, PublishDone done) override;
  Result<void> SendToQueue(std::string_view queue, const Envelope& envelope,
                           std::vector<std::pair<std::string, std::string>> headers) override {
    return inner_.SendToQueue(queue, envelope, std::move(headers));
  }
  void Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) override;
  /// Observers see each delivery of a batch with its own outcome; `took` is the batch's time
  /// shared evenly (the deliveries were handled together).
  void SubscribeBatch(std::string queue, BatchEventHandler handler,
                      SubscribeOptions options) override;
  BusStatus Status() const override { return inner_.Status(); }
  std::vector<QueueDepth> QueueDepths() override { return inner_.QueueDepths(); }

 private:
  EventBus& inner_;
  std::vector<EventObserver*> observers_;
};

}  // namespace shopflow
