#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "events/observed_event_bus.hpp"

namespace shopflow::testing {

/// Records every event the application publishes (through the ObservedEventBus), for tests to
/// assert on the saga's traffic. Thread-safe.
class EventRecorder final : public EventObserver {
 public:
  void OnPublished(std::span<const Envelope> batch) override {
    std::lock_guard lock(mutex_);
    for (const auto& e : batch) events_.push_back(e);
  }

  /// Events of `type` (any when empty) whose data.orderId is `order_id` (any when empty).
  std::vector<Envelope> Find(std::string_view type, std::string_view order_id = "") const {
    std::lock_guard lock(mutex_);
    std::vector<Envelope> out;
    for (const auto& e : events_) {
      if (!type.empty() && e.event_type != type) continue;
      if (!order_id.empty() && GetString(e.data, "orderId") != order_id) continue;
      out.push_back(e);
    }
    return out;
  }

  size_t Count(std::string_view type, std::string_view order_id = "") const {
    return Find(type, order_id).size();
  }

  std::vector<Envelope> All() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Envelope> events_;
};

}  // namespace shopflow::testing
