#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "events/observed_event_bus.hpp"
#include "monitor/circuit_breaker.hpp"
#include "monitor/metrics.hpp"
#include "monitor/queue_depth_cache.hpp"

namespace shopflow::monitor {

/// What the gauges of SystemMetrics read at scrape time. Every member is optional; functions
/// must be thread-safe and quick, and return a negative number for "unknown" (no sample).
struct SystemMetricsSources {
  EventBus* bus = nullptr;                              // shopflow_bus_connected
  QueueDepthCache* queue_depths = nullptr;              // shopflow_queue_depth{queue}
  std::function<int64_t()> outbox_backlog;              // shopflow_outbox_backlog
  std::function<int64_t()> dlq_size;                    // shopflow_dlq_size
  std::function<int64_t()> bus_reconnects;              // shopflow_bus_reconnects_total
  std::function<int64_t()> message_log_dropped;         // shopflow_message_log_dropped_total
  std::function<int64_t()> inbox_marks_pruned;          // shopflow_inbox_marks_pruned_total
  std::function<int64_t()> idempotency_keys_pruned;     // shopflow_idempotency_keys_pruned_total
  const CircuitBreakerSet* circuit_breakers = nullptr;  // shopflow_circuit_breaker_state{name}
};

/// The process's Prometheus metrics (GET /metrics):
/// - shopflow_http_requests_total{method,route,status} and
///   shopflow_http_request_duration_seconds{method,route} (histogram), fed by
///   RecordHttpRequest from the HTTP server's per-request hook;
/// - shopflow_events_total{event_type,outcome} (published, consumed, failed, dead_lettered) and
///   shopflow_handler_duration_seconds{queue} (histogram), fed as an EventObserver;
/// - gauges read at scrape time from SystemMetricsSources: shopflow_queue_depth{queue},
///   shopflow_outbox_backlog, shopflow_dlq_size, shopflow_bus_connected,
///   shopflow_bus_reconnects_total, shopflow_message_log_dropped_total,
///   shopflow_inbox_marks_pruned_total, shopflow_idempotency_keys_pruned_total,
///   shopflow_circuit_breaker_state{name} (0 closed, 1 half-open, 2 open) and
///   shopflow_circuit_breaker_rejected_total{name}.
///
/// Thread-safe; the observer callbacks and RecordHttpRequest only touch atomics (and a map
/// lookup under a family mutex). Lifetime: what `sources` points to outlives this object.
class SystemMetrics final : public EventObserver {
 public:
  explicit SystemMetrics(SystemMetricsSources sources = {});

  /// One HTTP request answered (HttpServerOptions::on_request): `route_pattern` is the matched
  /// route's pattern (e.g. "/api/orders/:id"), never the raw path, so the series stay few;
  /// "" is recorded as "unmatched". Methods other than the standard ones are recorded as
  /// "other".
  void RecordHttpRequest(std::string_view method, std::string_view route_pattern, int status,
                         double seconds);

  void OnPublished(std::span<const Envelope> batch) override;
  void OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds took) override;

  /// The text exposition, format 0.0.4.
  std::string Exposition() const { return registry_.Expose(); }
  /// To add families of other components.
  MetricsRegistry& registry() { return registry_; }

  /// GET /metrics, content type "text/plain; version=0.0.4; charset=utf-8". This object must
  /// outlive the routes.
  std::vector<Route> Routes();

 private:
  void AddGauges();

  const SystemMetricsSources sources_;
  MetricsRegistry registry_;
  CounterFamily& http_requests_;
  HistogramFamily& http_duration_;
  CounterFamily& events_;
  HistogramFamily& handler_duration_;
};

/// The content type of the Prometheus text format.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace shopflow::monitor
