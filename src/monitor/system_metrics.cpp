#include "monitor/system_metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <utility>

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {
std::function<std::vector<Sample>()> Single(std::function<int64_t()> fn) {
  return [fn = std::move(fn)]() -> std::vector<Sample> {
    if (!fn) return {};
    const int64_t value = fn();
    if (value < 0) return {};
    return {Sample{{}, static_cast<double>(value)}};
  };
}

/// Clients may send any token as a method; only the standard ones become label values.
std::string_view NormalizedMethod(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                                "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  for (auto known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace

SystemMetrics::SystemMetrics(SystemMetricsSources sources)
    : sources_(std::move(sources)),
      http_requests_(registry_.AddCounter("shopflow_http_requests_total",
                                          "HTTP requests answered, by route pattern and status.",
                                          {"method", "route", "status"})),
      http_duration_(registry_.AddHistogram("shopflow_http_request_duration_seconds",
                                            "Time to answer an HTTP request, by route pattern.",
                                            {"method", "route"}, DefaultLatencyBuckets())),
      events_(registry_.AddCounter(
          "shopflow_events_total",
          "Events seen by this process, by type and outcome (published, consumed, failed, "
          "dead_lettered).",
          {"event_type", "outcome"})),
      handler_duration_(registry_.AddHistogram("shopflow_handler_duration_seconds",
                                               "Time an event handler took, by queue.", {"queue"},
                                               DefaultLatencyBuckets())) {
  AddGauges();
}

void SystemMetrics::AddGauges() {
  QueueDepthCache* depths = sources_.queue_depths;
  registry_.AddCallback("shopflow_queue_depth", "Messages waiting in a queue, as the broker says.",
                        MetricType::kGauge, {"queue"}, [depths]() -> std::vector<Sample> {
                          std::vector<Sample> out;
                          if (!depths) return out;
                          for (const auto& d : depths->Get()) {
                            out.push_back(Sample{{d.queue}, static_cast<double>(d.messages)});
                          }
                          return out;
                        });
  registry_.AddCallback("shopflow_outbox_backlog", "Events committed but not yet published.",
                        MetricType::kGauge, {}, Single(sources_.outbox_backlog));
  registry_.AddCallback("shopflow_dlq_size", "Messages in the dead-letter queues.",
                        MetricType::kGauge, {}, Single(sources_.dlq_size));
  EventBus* bus = sources_.bus;
  registry_.AddCallback("shopflow_bus_connected", "1 when the event bus is connected.",
                        MetricType::kGauge, {}, [bus]() -> std::vector<Sample> {
                          if (!bus) return {};
                          return {Sample{{}, bus->Status().connected ? 1.0 : 0.0}};
                        });
  registry_.AddCallback("shopflow_bus_reconnects_total",
                        "Times the event bus reconnected to the broker.", MetricType::kCounter, {},
                        Single(sources_.bus_reconnects));
  registry_.AddCallback("shopflow_message_log_dropped_total",
                        "Event-log rows dropped because the logger's buffer was full.",
                        MetricType::kCounter, {}, Single(sources_.message_log_dropped));
  registry_.AddCallback("shopflow_inbox_marks_pruned_total",
                        "Inbox marks removed by retention (SHOPFLOW_INBOX_RETENTION_S).",
                        MetricType::kCounter, {}, Single(sources_.inbox_marks_pruned));
  registry_.AddCallback("shopflow_idempotency_keys_pruned_total",
                        "Idempotency keys removed by retention (SHOPFLOW_IDEMPOTENCY_RETENTION_S).",
                        MetricType::kCounter, {}, Single(sources_.idempotency_keys_pruned));
  const CircuitBreakerSet* breakers = sources_.circuit_breakers;
  registry_.AddCallback("shopflow_circuit_breaker_state",
                        "Circuit breaker state: 0 closed, 1 half-open, 2 open.", MetricType::kGauge,
                        {"name"}, [breakers]() -> std::vector<Sample> {
                          std::vector<Sample> out;
                          if (!breakers) return out;
                          for (const auto& b : breakers->Snapshots()) {
                            out.push_back(Sample{{b.name}, double(CircuitStateValue(b.state))});
                          }
                          return out;
                        });
  registry_.AddCallback("shopflow_circuit_breaker_rejected_total",
                        "Calls a circuit breaker refused.", MetricType::kCounter, {"name"},
                        [breakers]() -> std::vector<Sample> {
                          std::vector<Sample> out;
                          if (!breakers) return out;
                          for (const auto& b : breakers->Snapshots()) {
                            out.push_back(Sample{{b.name}, static_cast<double>(b.rejected)});
                          }
                          return out;
                        });
}

void SystemMetrics::RecordHttpRequest(std::string_view method, std::string_view route_pattern,
                                      int status, double seconds) {
  const std::string_view route = route_pattern.empty() ? "unmatched" : route_pattern;
  method = NormalizedMethod(method);
  const std::string status_text = std::to_string(status);
  http_requests_.With({method, route, status_text}).Inc();
  http_duration_.With({method, route}).Observe(seconds);
}

void SystemMetrics::OnPublished(std::span<const Envelope> batch) {
  for (const auto& e : batch) events_.With({e.event_type, "published"}).Inc();
}

void SystemMetrics::OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                              std::chrono::nanoseconds took) {
  std::string_view result = "consumed";
  if (outcome.kind == HandlerOutcome::Kind::kRetry) result = "failed";
  if (outcome.kind == HandlerOutcome::Kind::kDeadLetter) result = "dead_lettered";
  events_.With({delivery.envelope.event_type, result}).Inc();
  handler_duration_.With({delivery.queue}).Observe(std::chrono::duration<double>(took).count());
}

std::vector<Route> SystemMetrics::Routes() {
  return {{"GET", "/metrics", [this](ApiRequest&) -> asio::awaitable<ApiResponse> {
             ApiResponse r;
             r.raw_body = Exposition();
             r.content_type = std::string(kPrometheusContentType);
             co_return r;
           }}};
}

}  // namespace shopflow::monitor
