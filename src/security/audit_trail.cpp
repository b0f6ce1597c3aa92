#include "security/audit_trail.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "monitor/dlq/audit_log.hpp"
#include "security/gate.hpp"
#include "security/policy.hpp"
#include "storage/await.hpp"

namespace shopflow::security {
namespace asio = boost::asio;

AuditTrail::AuditTrail(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

std::vector<Route> AuditTrail::Wrap(std::vector<Route> routes) {
  for (auto& route : routes) {
    auto rule = FindRule(route.method, route.pattern);
    if (!rule || rule->audit_action.empty()) continue;
    route.handler = [this, inner = std::move(route.handler),
                     action = std::string(rule->audit_action),
                     pattern = route.pattern](ApiRequest& request) -> asio::awaitable<ApiResponse> {
      ApiResponse answer = co_await inner(request);
      auto recorded = co_await Record(action, pattern, request, answer.status);
      if (!recorded) {
        spdlog::error("audit: could not record {} by {}: {} [correlationId={}]", action,
                      request.principal.sub, recorded.error().message, request.correlation_id);
      }
      co_return answer;
    };
  }
  return routes;
}

asio::awaitable<Result<void>> AuditTrail::Record(std::string action, std::string route,
                                                 const ApiRequest& request, int status) {
  json::object params;
  for (const auto& [name, value] : request.path_params) params[name] = value;
  json::object details{{"role", request.principal.role},
                       {"authenticated", request.principal.authenticated},
                       {"method", request.method},
                       {"route", route},
                       {"path", request.path},
                       {"params", std::move(params)},
                       {"status", status}};
  monitor::AuditEntry entry{
      std::move(action),
      {},
      monitor::Actor{request.principal.sub.empty() ? request.client_address : request.principal.sub,
                     request.correlation_id},
      std::move(details)};
  const TimePoint now = clock_.Now();
  co_return co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    return monitor::AppendAudit(txn, entry, now);
  });
}

asio::awaitable<Result<json::value>> AuditTrail::List(std::optional<std::string> action,
                                                      Page page) {
  co_return co_await monitor::ReadAuditLog(store_, std::move(action), page);
}

std::vector<Route> SecurityRoutes(const Gate& gate, AuditTrail& audit) {
  const bool enabled = gate.enabled();
  return {
      {"GET", "/api/auth/whoami",
       [enabled](ApiRequest& request) -> asio::awaitable<ApiResponse> {
         const Principal& p = request.principal;
         co_return JsonResponse(200, json::object{{"sub", p.sub.empty() ? "anonymous" : p.sub},
                                                  {"role", p.role.empty() ? json::value(nullptr)
                                                                          : json::value(p.role)},
                                                  {"authenticated", p.authenticated},
                                                  {"auth", enabled ? "on" : "off"}});
       }},
      {"GET", "/api/audit",
       [&audit](ApiRequest& request) -> asio::awaitable<ApiResponse> {
         auto page = ReadPage(request);
         if (!page) co_return ErrorResponse(page.error());
         std::optional<std::string> action;
         if (auto a = request.Query("action"); a && !a->empty()) action = std::string(*a);
         auto rows = co_await audit.List(std::move(action), *page);
         co_return ToResponse(rows);
       }},
  };
}

}  // namespace shopflow::security
