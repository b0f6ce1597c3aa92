#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "events/event_bus.hpp"
#include "monitor/circuit_breaker.hpp"
#include "monitor/queue_depth_cache.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// When a working system counts as degraded.
struct HealthThresholds {
  /// Events committed but not yet published above which the outbox lags.
  int64_t outbox_backlog = 1'000;
  /// Dead letters added within `dlq_window` from which the DLQ grows too fast
  /// (Settings::dlq_alert_threshold).
  int64_t dlq_growth = 10;
  Duration dlq_window = std::chrono::minutes(5);
};

/// What the process knows about itself, for /healthz, /readyz and /api/health. Only `store`,
/// `bus` and `modules` matter for the status; every other member is optional. Functions must
/// be thread-safe and quick, and return a negative number for "unknown".
struct HealthSources {
  Store* store = nullptr;
  EventBus* bus = nullptr;
  std::vector<std::string> modules;  // modules this process runs
  std::string version;
  TimePoint started_at{};
  const Clock* clock = nullptr;
  /// Readiness: false until start-up finished and again once shutdown began.
  std::function<bool()> ready;

  std::function<int64_t()> outbox_backlog;  // e.g. OutboxRelay::Backlog
  std::function<int64_t()> dlq_size;        // the dead-letter manager's count
  QueueDepthCache* queue_depths = nullptr;  // each module's consumers and queue depth
  const CircuitBreakerSet* circuit_breakers = nullptr;
  HealthThresholds thresholds;
};

enum class HealthStatus { kHealthy, kDegraded, kUnhealthy };

/// "healthy", "degraded", "unhealthy".
std::string_view HealthStatusName(HealthStatus status);

/// The outcome of one check: the status and the seed's health document.
struct HealthReport {
  HealthStatus status = HealthStatus::kHealthy;
  json::object document;

  /// 503 when unhealthy, else 200 (a degraded system still accepts orders).
  int HttpStatus() const { return status == HealthStatus::kUnhealthy ? 503 : 200; }
};

/// Per-module figures read from the store in one snapshot.
struct StoreProbe {
  bool ok = false;                                      // the read ran
  std::string error;                                    // why not
  std::vector<std::pair<std::string, int64_t>> counts;  // e.g. ("orderCount", 42)
};

/// The health checks of the seed ("Health Checks"):
/// - unhealthy (503): the store is down (its status says so or a read fails);
/// - degraded (200): the bus is disconnected while the store works (orders are still accepted
///   into the outbox); or the outbox backlog passes its threshold; or the dead-letter queues
///   grew by dlq_growth or more within dlq_window; or a circuit breaker is open; or a module's
///   queue is known to have no consumer;
/// - healthy otherwise.
///
/// Document: {status, version, timestamp, uptimeSeconds, reasons:[...], services:{rabbitmq,
/// mongodb, eventBus, store, dlqManager, <module>...}, modules:{<module>:{status, initialized,
/// database:{connected, <x>Count}, eventBus:{connected}, consumers, queue, queueDepth}},
/// outbox:{backlog, threshold}, dlq:{size, growth, window}, circuitBreakers:{<name>:{...}},
/// transport:{kind, connected, detail}, storage:{kind, connected, detail}}.
///
/// A check costs one store read of a few indexed counts, the bus status, cached queue depths
/// and the source functions. Thread-safe (the DLQ history has its own mutex).
class HealthMonitor {
 public:
  explicit HealthMonitor(HealthSources sources);

  /// Checks on the caller's thread (blocking store read; not for I/O threads).
  HealthReport Check();
  /// Checks from a coroutine (the store read resumes on the caller's executor).
  boost::asio::awaitable<HealthReport> AwaitCheck();
  /// The document as a function, for the dashboard stream.
  std::function<json::object()> DocumentFunction() {
    return [this] { return Check().document; };
  }

  /// GET /healthz (liveness), GET /readyz (readiness), GET /api/health. This object must
  /// outlive the routes.
  std::vector<Route> Routes();

  /// The store read a check makes, in `txn`: the count of each module's main collection.
  static StoreProbe ProbeStore(ReadTransaction& txn, const std::vector<std::string>& modules);

 private:
  HealthReport Assemble(const StoreProbe& probe);
  /// Records `size` and returns how much the DLQ grew over the window.
  int64_t DlqGrowth(int64_t size, TimePoint now);

  const HealthSources sources_;
  std::mutex dlq_mutex_;
  std::deque<std::pair<TimePoint, int64_t>> dlq_samples_;
};

/// One check with fresh state (no DLQ growth history), answered 200 or 503. Blocking.
ApiResponse HealthDocument(const HealthSources& sources);

/// The routes of a HealthMonitor built from `sources` (copied; the monitor is owned by the
/// routes).
std::vector<Route> HealthRoutes(const HealthSources& sources);

}  // namespace shopflow::monitor
