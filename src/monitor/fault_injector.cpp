#include "monitor/fault_injector.hpp"

#include <algorithm>
#include <utility>

namespace shopflow::monitor {

std::string_view FaultModeName(FaultMode mode) {
  return mode == FaultMode::kFail ? "fail" : "reject";
}

FaultInjector::FaultInjector(const Clock& clock, std::vector<std::string> modules, bool enabled)
    : clock_(clock), modules_(std::move(modules)), enabled_(enabled) {}

EventHandler FaultInjector::Wrap(std::string module, EventHandler inner) {
  if (!enabled_) return inner;
  return [this, module = std::move(module), inner = std::move(inner)](const Delivery& d) {
    if (auto outcome = Intercept(module)) return *outcome;
    return inner(d);
  };
}

BatchEventHandler FaultInjector::WrapBatch(std::string module, BatchEventHandler inner) {
  if (!enabled_) return inner;
  return [this, module = std::move(module),
          inner = std::move(inner)](std::span<const Delivery> deliveries) {
    std::vector<std::optional<HandlerOutcome>> faulted(deliveries.size());
    std::vector<Delivery> through;
    bool any = false;
    for (size_t i = 0; i < deliveries.size(); ++i) {
      faulted[i] = Intercept(module);
      any = any || faulted[i].has_value();
    }
    // The common case (no fault set) hands the batch over as it came, without copies.
    if (!any) return InvokeBatch(inner, deliveries);
    for (size_t i = 0; i < deliveries.size(); ++i) {
      if (!faulted[i]) through.push_back(deliveries[i]);
    }
    std::vector<HandlerOutcome> passed;
    if (!through.empty()) passed = InvokeBatch(inner, through);
    std::vector<HandlerOutcome> outcomes;
    outcomes.reserve(deliveries.size());
    size_t next = 0;
    for (auto& f : faulted) outcomes.push_back(f ? std::move(*f) : std::move(passed[next++]));
    return outcomes;
  };
}

std::optional<FaultMode> FaultInjector::Take(std::string_view target) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(target);
  if (it == faults_.end()) return std::nullopt;
  Fault& fault = it->second;
  const FaultMode mode = fault.mode;
  ++fault.failed;
  if (fault.remaining && --*fault.remaining <= 0) faults_.erase(it);
  return mode;
}

std::string FaultInjector::Reason(std::string_view target) {
  return "injected fault: " + std::string(target) + " is broken on purpose (/api/faults)";
}

std::optional<HandlerOutcome> FaultInjector::Intercept(const std::string& module) {
  const std::optional<FaultMode> mode = Take(module);
  if (!mode) return std::nullopt;
  if (*mode == FaultMode::kReject) return HandlerOutcome::DeadLetter(Reason(module));
  return HandlerOutcome::Retry(Reason(module));
}

std::optional<std::string> FaultInjector::Trip(std::string_view target) {
  if (!enabled_ || !Take(target)) return std::nullopt;
  return Reason(target);
}

Result<json::object> FaultInjector::Set(std::string_view module, FaultMode mode,
                                        std::optional<int64_t> count) {
  if (!enabled_) {
    return Error{ErrorCode::kForbidden,
                 "fault injection is off here (SHOPFLOW_FAULT_INJECTION=on enables it)",
                 {}};
  }
  if (std::find(modules_.begin(), modules_.end(), module) == modules_.end()) {
    return NotFoundError("no module '" + std::string(module) + "' runs in this process");
  }
  if (count && *count < 1) return ValidationError("count must be at least 1");
  std::lock_guard lock(mutex_);
  Fault& fault = faults_[std::string(module)];
  fault = Fault{mode, clock_.Now(), 0, count};
  return FaultJson(std::string(module), fault);
}

Result<void> FaultInjector::Clear(std::string_view module) {
  std::lock_guard lock(mutex_);
  auto it = faults_.find(std::string(module));
  if (it == faults_.end()) return NotFoundError("no fault set for '" + std::string(module) + "'");
  faults_.erase(it);
  return {};
}

json::object FaultInjector::FaultJson(const std::string& module, const Fault& fault) const {
  json::object o{{"module", module},
                 {"mode", FaultModeName(fault.mode)},
                 {"since", FormatRfc3339(fault.since)},
                 {"failed", fault.failed}};
  if (fault.remaining) o["remaining"] = *fault.remaining;
  return o;
}

json::object FaultInjector::Document() const {
  json::array modules;
  for (const auto& m : modules_) modules.emplace_back(m);
  json::array faults;
  std::lock_guard lock(mutex_);
  for (const auto& [module, fault] : faults_) faults.emplace_back(FaultJson(module, fault));
  return {{"enabled", enabled_}, {"modules", std::move(modules)}, {"faults", std::move(faults)}};
}

namespace {

Result<std::pair<FaultMode, std::optional<int64_t>>> ReadFaultBody(const ApiRequest& request) {
  auto body = JsonObjectBody(request);
  if (!body) return std::move(body).error();
  FaultMode mode = FaultMode::kFail;
  if (const auto* m = body->if_contains("mode")) {
    if (!m->is_string() || (m->as_string() != "fail" && m->as_string() != "reject")) {
      return ValidationError("mode must be \"fail\" or \"reject\"",
                             {{"mode", "must be \"fail\" or \"reject\""}});
    }
    if (m->as_string() == "reject") mode = FaultMode::kReject;
  }
  std::optional<int64_t> count;
  if (const auto* c = body->if_contains("count"); c && !c->is_null()) {
    if (!c->is_int64() || c->as_int64() < 1 || c->as_int64() > 1'000'000) {
      return ValidationError("count must be an integer from 1 to 1000000",
                             {{"count", "must be an integer from 1 to 1000000"}});
    }
    count = c->as_int64();
  }
  return std::pair{mode, count};
}

}  // namespace

std::vector<Route> FaultInjector::Routes() {
  std::vector<Route> routes;
  routes.push_back(
      {"GET", "/api/faults", [this](ApiRequest&) -> boost::asio::awaitable<ApiResponse> {
         co_return JsonResponse(200, Document());
       }});
  routes.push_back(
      {"PUT", "/api/faults/:module", [this](ApiRequest& r) -> boost::asio::awaitable<ApiResponse> {
         auto body = ReadFaultBody(r);
         if (!body) co_return ErrorResponse(body.error());
         co_return ToResponse(Set(r.Param("module"), body->first, body->second));
       }});
  routes.push_back({"DELETE", "/api/faults/:module",
                    [this](ApiRequest& r) -> boost::asio::awaitable<ApiResponse> {
                      auto cleared = Clear(r.Param("module"));
                      if (!cleared) co_return ErrorResponse(cleared.error());
                      ApiResponse response;
                      response.status = 204;
                      response.raw_body = "";
                      co_return response;
                    }});
  return routes;
}

}  // namespace shopflow::monitor
