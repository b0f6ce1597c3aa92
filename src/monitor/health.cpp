#include "monitor/health.hpp"

#include <algorithm>

#include "storage/await.hpp"

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {

/// Each module's main collection and the count the seed's document names after it.
struct ModuleCollection {
  std::string_view module;
  std::string_view collection;
  std::string_view count_field;
};
constexpr ModuleCollection kModuleCollections[] = {
    {"orders", "orders", "orderCount"},
    {"payments", "payments", "paymentCount"},
    {"inventory", "products", "productCount"},
    {"notifications", "notifications", "notificationCount"},
};

std::optional<int64_t> Known(const std::function<int64_t()>& fn) {
  if (!fn) return std::nullopt;
  const int64_t n = fn();
  if (n < 0) return std::nullopt;
  return n;
}

json::value OrNull(const std::optional<int64_t>& n) {
  return n ? json::value(*n) : json::value(nullptr);
}

ApiResponse Plain(int status, std::string text) {
  ApiResponse r;
  r.status = status;
  r.raw_body = std::move(text);
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

/// The three routes over a monitor held by `Ptr` (a raw or a shared pointer).
template <class Ptr>
std::vector<Route> RoutesOf(Ptr monitor, std::function<bool()> ready) {
  return {
      {"GET", "/healthz",
       [](ApiRequest&) -> asio::awaitable<ApiResponse> { co_return Plain(200, "ok\n"); }},
      {"GET", "/readyz",
       [ready](ApiRequest&) -> asio::awaitable<ApiResponse> {
         const bool is_ready = ready ? ready() : true;
         co_return is_ready ? Plain(200, "ready\n") : Plain(503, "not ready\n");
       }},
      {"GET", "/api/health",
       [monitor](ApiRequest&) -> asio::awaitable<ApiResponse> {
         HealthReport report = co_await monitor->AwaitCheck();
         co_return JsonResponse(report.HttpStatus(), std::move(report.document));
       }},
  };
}

}  // namespace

std::string_view HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kHealthy:
      return "healthy";
    case HealthStatus::kDegraded:
      return "degraded";
    case HealthStatus::kUnhealthy:
      return "unhealthy";
  }
  return "unhealthy";
}

HealthMonitor::HealthMonitor(HealthSources sources) : sources_(std::move(sources)) {}

StoreProbe HealthMonitor::ProbeStore(ReadTransaction& txn,
                                     const std::vector<std::string>& modules) {
  StoreProbe probe;
  probe.ok = true;
  for (const auto& m : modules) {
    for (const auto& c : kModuleCollections) {
      if (c.module != m) continue;
      auto n = txn.Count(c.collection, {});
      if (n) {
        probe.counts.emplace_back(std::string(c.count_field), *n);
      } else if (n.error().code == ErrorCode::kUnavailable) {
        probe.ok = false;
        probe.error = n.error().message;
      }  // else: the collection is not declared in this process; no count to show
    }
  }
  return probe;
}

HealthReport HealthMonitor::Check() {
  StoreProbe probe;
  if (sources_.store) {
    auto read = ReadAndWait(*sources_.store, [&](ReadTransaction& txn) -> Result<void> {
      probe = ProbeStore(txn, sources_.modules);
      return Ok();
    });
    if (!read) probe = StoreProbe{false, read.error().message, {}};
  }
  return Assemble(probe);
}

asio::awaitable<HealthReport> HealthMonitor::AwaitCheck() {
  StoreProbe probe;
  if (sources_.store) {
    auto read = co_await AwaitRead(*sources_.store, [&](ReadTransaction& txn) -> Result<void> {
      probe = ProbeStore(txn, sources_.modules);
      return Ok();
    });
    if (!read) probe = StoreProbe{false, read.error().message, {}};
  }
  co_return Assemble(probe);
}

int64_t HealthMonitor::DlqGrowth(int64_t size, TimePoint now) {
  std::lock_guard lock(dlq_mutex_);
  dlq_samples_.emplace_back(now, size);
  const TimePoint window_start = now - sources_.thresholds.dlq_window;
  // Keep the last sample at or before the window's start as its baseline.
  while (dlq_samples_.size() >= 2 && dlq_samples_[1].first <= window_start) {
    dlq_samples_.pop_front();
  }
  constexpr size_t kMaxSamples = 4'096;
  while (dlq_samples_.size() > kMaxSamples) dlq_samples_.pop_front();
  int64_t lowest = size;
  for (const auto& [at, n] : dlq_samples_) lowest = std::min(lowest, n);
  return size - lowest;
}

HealthReport HealthMonitor::Assemble(const StoreProbe& probe) {
  const HealthSources& s = sources_;
  const TimePoint now = s.clock ? s.clock->Now() : SystemClock::Instance().Now();
  const StoreStatus store = s.store ? s.store->Status() : StoreStatus{"none", false, "no store"};
  const BusStatus bus = s.bus ? s.bus->Status() : BusStatus{"none", false, "no event bus"};
  const bool store_ok = s.store && store.connected && probe.ok;

  HealthStatus status = HealthStatus::kHealthy;
  json::array reasons;
  auto degrade = [&](std::string why) {
    if (status == HealthStatus::kHealthy) status = HealthStatus::kDegraded;
    reasons.emplace_back(std::move(why));
  };
  if (!store_ok) {
    status = HealthStatus::kUnhealthy;
    std::string why = probe.error.empty() ? store.detail : probe.error;
    reasons.emplace_back("store unavailable" + (why.empty() ? "" : ": " + why));
  }
  if (!bus.connected) {
    degrade("event bus disconnected" + (bus.detail.empty() ? "" : ": " + bus.detail));
  }

  const std::optional<int64_t> backlog = Known(s.outbox_backlog);
  if (backlog && *backlog > s.thresholds.outbox_backlog) {
    degrade("outbox backlog " + std::to_string(*backlog) + " above " +
            std::to_string(s.thresholds.outbox_backlog));
  }
  const std::optional<int64_t> dlq = Known(s.dlq_size);
  const int64_t growth = dlq ? DlqGrowth(*dlq, now) : 0;
  if (dlq && s.thresholds.dlq_growth > 0 && growth >= s.thresholds.dlq_growth) {
    degrade("dead letters grew by " + std::to_string(growth));
  }

  json::object breakers;
  if (s.circuit_breakers) {
    for (const auto& b : s.circuit_breakers->Snapshots()) {
      if (b.state == CircuitState::kOpen) degrade("circuit breaker " + b.name + " open");
      breakers[b.name] = b.ToJson();
    }
  }

  std::vector<QueueDepth> depths;
  if (s.queue_depths) depths = s.queue_depths->Get();

  json::object services{{"rabbitmq", bus.transport == "amqp" && bus.connected},
                        {"mongodb", store.backend == "mongodb" && store_ok},
                        {"eventBus", bus.connected},
                        {"store", store_ok}};
  json::object modules;
  for (const auto& m : s.modules) {
    const std::string queue = m + ".events.queue";
    const auto depth = std::find_if(depths.begin(), depths.end(),
                                    [&](const QueueDepth& d) { return d.queue == queue; });
    std::optional<int64_t> consumers;
    std::optional<int64_t> queued;
    if (depth != depths.end()) {
      queued = depth->messages;
      if (depth->consumers >= 0) consumers = depth->consumers;
    }
    std::string_view module_status = "healthy";
    if (!store_ok) {
      module_status = "unhealthy";
    } else if (!bus.connected || consumers == 0) {
      module_status = "degraded";
    }
    if (consumers == 0) degrade("no consumer on " + queue);

    json::object database{{"connected", store_ok}, {"backend", store.backend}};
    for (const auto& c : kModuleCollections) {
      if (c.module != m) continue;
      for (const auto& [field, n] : probe.counts) {
        if (field == c.count_field) database[field] = n;
      }
    }
    services[m] = module_status != "unhealthy";
    modules[m] = json::object{
        {"status", module_status},
        {"initialized", true},
        {"database", std::move(database)},
        {"eventBus", json::object{{"connected", bus.connected}, {"transport", bus.transport}}},
        {"consumers", OrNull(consumers)},
        {"queue", queue},
        {"queueDepth", OrNull(queued)}};
  }
  services["dlqManager"] = dlq.has_value();

  json::object doc{
      {"status", HealthStatusName(status)},
      {"version", s.version},
      {"timestamp", FormatRfc3339(now)},
      {"uptimeSeconds",
       std::chrono::duration_cast<std::chrono::seconds>(now - s.started_at).count()},
      {"reasons", std::move(reasons)},
      {"services", std::move(services)},
      {"modules", std::move(modules)},
      {"outbox",
       json::object{{"backlog", OrNull(backlog)}, {"threshold", s.thresholds.outbox_backlog}}},
      {"dlq",
       json::object{
           {"size", OrNull(dlq)},
           {"growth", growth},
           {"windowSeconds",
            std::chrono::duration_cast<std::chrono::seconds>(s.thresholds.dlq_window).count()},
           {"growthThreshold", s.thresholds.dlq_growth}}},
      {"circuitBreakers", std::move(breakers)},
      {"transport",
       json::object{{"kind", bus.transport}, {"connected", bus.connected}, {"detail", bus.detail}}},
      {"storage",
       json::object{{"kind", store.backend}, {"connected", store_ok}, {"detail", store.detail}}}};
  return HealthReport{status, std::move(doc)};
}

std::vector<Route> HealthMonitor::Routes() { return RoutesOf(this, sources_.ready); }

ApiResponse HealthDocument(const HealthSources& sources) {
  HealthMonitor monitor(sources);
  HealthReport report = monitor.Check();
  return JsonResponse(report.HttpStatus(), std::move(report.document));
}

std::vector<Route> HealthRoutes(const HealthSources& sources) {
  auto monitor = std::make_shared<HealthMonitor>(sources);
  return RoutesOf(monitor, sources.ready);
}

}  // namespace shopflow::monitor
