#pragma once

#include <atomic>
#include <mutex>
#include <random>

#include "events/event_bus.hpp"

namespace shopflow::testing {

/// Forwards to another bus but publishes a fraction of the messages twice (same messageId), the
/// way a broker redelivers after a lost acknowledgement. Thread-safe.
class DuplicatingEventBus final : public EventBus {
 public:
  DuplicatingEventBus(EventBus& inner, double fraction, uint64_t seed)
      : inner_(inner), fraction_(fraction), random_(seed) {}

  Result<void> Start() override { return inner_.Start(); }
  void Stop() override { inner_.Stop(); }
  Result<void> Publish(std::span<const Envelope> batch) override {
    std::vector<Envelope> out;
    out.reserve(batch.size() * 2);
    {
      std::lock_guard lock(mutex_);
      std::bernoulli_distribution twice(fraction_);
      for (const auto& e : batch) {
        out.push_back(e);
        if (twice(random_)) {
          out.push_back(e);
          ++duplicated_;
        }
      }
    }
    return inner_.Publish(out);
  }
  Result<void> SendToQueue(std::string_view queue, const Envelope& envelope,
                           std::vector<std::pair<std::string, std::string>> headers) override {
    return inner_.SendToQueue(queue, envelope, std::move(headers));
  }
  void Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) override {
    inner_.Subscribe(std::move(queue), std::move(handler), options);
  }
  BusStatus Status() const override { return inner_.Status(); }

  int64_t duplicated() const { return duplicated_.load(); }

 private:
  EventBus& inner_;
  const double fraction_;
  std::mutex mutex_;
  std::mt19937_64 random_;
  std::atomic<int64_t> duplicated_{0};
};

}  // namespace shopflow::testing
