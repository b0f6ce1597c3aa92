#include "monitor/health.hpp"

namespace shopflow::monitor {
namespace asio = boost::asio;

ApiResponse HealthDocument(const HealthSources& s) {
  const StoreStatus store = s.store ? s.store->Status() : StoreStatus{"none", false, ""};
  const BusStatus bus = s.bus ? s.bus->Status() : BusStatus{"none", false, ""};
  const bool healthy = store.connected && bus.connected;

  json::object services{{"rabbitmq", bus.transport == "amqp" && bus.connected},
                        {"mongodb", store.backend == "mongodb" && store.connected},
                        {"eventBus", bus.connected},
                        {"store", store.connected}};
  json::object modules;
  for (const auto& m : s.modules) {
    services[m] = healthy;
    modules[m] = json::object{
        {"status", healthy ? "healthy" : "unhealthy"},
        {"initialized", true},
        {"database", json::object{{"connected", store.connected}, {"backend", store.backend}}},
        {"eventBus", json::object{{"connected", bus.connected}, {"transport", bus.transport}}}};
  }
  const TimePoint now = s.clock ? s.clock->Now() : SystemClock::Instance().Now();
  json::object doc{
      {"status", healthy ? "healthy" : "unhealthy"},
      {"version", s.version},
      {"timestamp", FormatRfc3339(now)},
      {"uptimeSeconds",
       std::chrono::duration_cast<std::chrono::seconds>(now - s.started_at).count()},
      {"services", std::move(services)},
      {"modules", std::move(modules)},
      {"transport",
       json::object{{"kind", bus.transport}, {"connected", bus.connected}, {"detail", bus.detail}}},
      {"storage",
       json::object{
           {"kind", store.backend}, {"connected", store.connected}, {"detail", store.detail}}}};
  return JsonResponse(healthy ? 200 : 503, std::move(doc));
}

namespace {
ApiResponse Plain(int status, std::string text) {
  ApiResponse r;
  r.status = status;
  r.raw_body = std::move(text);
  r.content_type = "text/plain; charset=utf-8";
  return r;
}
}  // namespace

std::vector<Route> HealthRoutes(const HealthSources& sources) {
  const HealthSources* s = &sources;
  return {
      {"GET", "/healthz",
       [](ApiRequest&) -> asio::awaitable<ApiResponse> { co_return Plain(200, "ok\n"); }},
      {"GET", "/readyz",
       [s](ApiRequest&) -> asio::awaitable<ApiResponse> {
         const bool ready = s->ready ? s->ready() : true;
         co_return ready ? Plain(200, "ready\n") : Plain(503, "not ready\n");
       }},
      {"GET", "/api/health",
       [s](ApiRequest&) -> asio::awaitable<ApiResponse> { co_return HealthDocument(*s); }},
  };
}

}  // namespace shopflow::monitor
