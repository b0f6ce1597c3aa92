#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "events/event_bus.hpp"

namespace shopflow::monitor {

/// EventBus::QueueDepths may cost a broker round trip per queue; stats, health and metrics all
/// want it, often. This asks the bus at most once per `max_age` (real time) and shares the
/// answer. Thread-safe: while one caller refreshes, the others get the previous answer (or, on
/// the very first call, wait for it). Lifetime: `bus` outlives the cache.
class QueueDepthCache {
 public:
  explicit QueueDepthCache(EventBus& bus,
                           std::chrono::milliseconds max_age = std::chrono::seconds(1));

  /// The depths of every queue (empty when the bus does not know them).
  std::vector<QueueDepth> Get();

 private:
  using Steady = std::chrono::steady_clock;

  EventBus& bus_;
  const std::chrono::milliseconds max_age_;
  std::mutex refresh_mutex_;  // held while asking the bus
  std::mutex data_mutex_;     // guards the two below
  std::optional<std::vector<QueueDepth>> depths_;
  Steady::time_point fetched_at_{};
};

}  // namespace shopflow::monitor
