#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "events/event_bus.hpp"
#include "events/topology.hpp"

namespace shopflow {

/// Sees every event a bus publishes and every delivery its consumers handle (the message
/// logger, metrics and tests are observers). Called on the publishing or consuming thread,
/// outside any bus lock; must be quick and must not throw.
class EventObserver {
 public:
  virtual ~EventObserver() = default;
  virtual void OnPublished(std::span<const Envelope> batch) { (void)batch; }
  /// `outcome` is what becomes of the delivery (see ObservedEventBus), which all observers
  /// (log, live feed, stats, metrics) then agree on.
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
  /// `topology` is the wrapped bus's. With it, observers see a Retry answered on a module
  /// queue's last attempt (retry.max_attempts) as the DeadLetter the transports make of it:
  /// what became of the delivery, not what the handler asked for. Without it, the handler's
  /// outcome as it is.
  explicit ObservedEventBus(EventBus& inner, std::optional<Topology> topology = std::nullopt)
      : inner_(inner), topology_(std::move(topology)) {}

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
  /// The attempt from which a Retry on `queue` is dead-lettered by the transports; 0: never.
  int DeadLettersFromAttempt(std::string_view queue) const;

  EventBus& inner_;
  std::optional<Topology> topology_;
  std::vector<EventObserver*> observers_;
};

}  // namespace shopflow
