#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "events/event_bus.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// What the process knows about itself, for /healthz, /readyz and /api/health.
struct HealthSources {
  Store* store = nullptr;
  EventBus* bus = nullptr;
  std::vector<std::string> modules;  // modules this process runs
  std::string version;
  TimePoint started_at{};
  const Clock* clock = nullptr;
  /// Readiness: false until start-up finished and again once shutdown began.
  std::function<bool()> ready;
};

/// The health document of the seed ("Health Checks") with real checks of the store and the bus.
/// 200 when healthy, 503 otherwise.
ApiResponse HealthDocument(const HealthSources& sources);

/// GET /healthz (liveness), GET /readyz (readiness), GET /api/health. `sources` must outlive the
/// routes.
std::vector<Route> HealthRoutes(const HealthSources& sources);

}  // namespace shopflow::monitor
