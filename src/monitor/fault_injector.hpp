#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/event_bus.hpp"

namespace shopflow::monitor {

/// How an injected fault makes a module's consumer fail.
enum class FaultMode {
  kFail,    // a transient error: the delivery is retried with backoff, dead-lettered at the end
  kReject,  // a permanent error: the delivery is dead-lettered at once
};

/// Breaking a module on purpose, to watch retries, dead letters and re-drives happen (the
/// dashboard's "Break it" control, chaos drills). While a fault is set for a module, every
/// delivery to its consumer fails before the module's handler runs, so no effect is applied;
/// clearing the fault lets later deliveries (and re-driven dead letters) through untouched.
/// A fault may be limited to the next `count` deliveries, after which it clears itself.
/// Thread-safe: consumers call the wrapped handlers on bus threads, routes run on HTTP threads.
class FaultInjector {
 public:
  /// Disabled, it injects nothing: Wrap returns the handler as given, Set refuses (403) and
  /// the document says `"enabled": false`.
  FaultInjector(const Clock& clock, std::vector<std::string> modules, bool enabled = true);

  /// `inner` behind this injector's fault for `module` (one of the known modules).
  EventHandler Wrap(std::string module, EventHandler inner);
  /// The same for a batch handler: each delivery of a batch meets the fault on its own (a
  /// `count` limit counts deliveries), and only those let through reach `inner`.
  BatchEventHandler WrapBatch(std::string module, BatchEventHandler inner);

  /// For a dependency that is not a consumer (the payment gateway, target "gateway"): the
  /// reason to fail one call with when a fault is set for `target` (either mode: the dependency
  /// is down), counted like a failed delivery; nullopt otherwise.
  std::optional<std::string> Trip(std::string_view target);

  /// Sets (or replaces) the fault of `module`. `count` > 0 limits it to that many deliveries.
  /// kForbidden when disabled, kNotFound for an unknown module, kValidationFailed for a count
  /// below 1.
  Result<json::object> Set(std::string_view module, FaultMode mode,
                           std::optional<int64_t> count = std::nullopt);
  /// kNotFound when the module has no fault.
  Result<void> Clear(std::string_view module);
  /// {"enabled": bool, "modules": [...], "faults": [{module, mode, since, failed, remaining?}]}
  json::object Document() const;

  /// GET /api/faults, PUT /api/faults/:module {"mode": "fail"|"reject", "count"?: n},
  /// DELETE /api/faults/:module.
  std::vector<Route> Routes();

 private:
  struct Fault {
    FaultMode mode = FaultMode::kFail;
    TimePoint since;
    int64_t failed = 0;
    std::optional<int64_t> remaining;
  };
  json::object FaultJson(const std::string& module, const Fault& fault) const;
  /// The outcome for one delivery to `module`'s consumer, when a fault applies.
  std::optional<HandlerOutcome> Intercept(const std::string& module);
  /// The mode of `target`'s fault, counting one failure (and clearing a used-up fault).
  std::optional<FaultMode> Take(std::string_view target);
  static std::string Reason(std::string_view target);

  const Clock& clock_;
  const std::vector<std::string> modules_;
  const bool enabled_;
  mutable std::mutex mutex_;
  std::map<std::string, Fault, std::less<>> faults_;
};

/// "fail" or "reject".
std::string_view FaultModeName(FaultMode mode);

}  // namespace shopflow::monitor
