#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/result.hpp"

namespace shopflow::monitor {

enum class CircuitState { kClosed, kOpen, kHalfOpen };

/// "closed", "open", "half_open".
std::string_view CircuitStateName(CircuitState state);
/// The value exported as shopflow_circuit_breaker_state: 0 closed, 1 half-open, 2 open.
int CircuitStateValue(CircuitState state);

struct CircuitBreakerOptions {
  /// Consecutive failures that open a closed circuit.
  int failure_threshold = 5;
  /// How long an open circuit rejects calls before letting a trial through (half-open).
  Duration cool_down = std::chrono::seconds(30);
  /// Trial calls let through at once while half-open.
  int half_open_max_calls = 1;
};

/// A breaker's state, for health and metrics.
struct CircuitBreakerSnapshot {
  std::string name;
  CircuitState state = CircuitState::kClosed;
  int consecutive_failures = 0;
  uint64_t successes = 0;
  uint64_t failures = 0;
  uint64_t rejected = 0;  // calls refused while open (or half-open and busy)
  uint64_t times_opened = 0;
  std::optional<TimePoint> opened_at;  // when it last opened, while open or half-open

  /// {state, consecutiveFailures, successes, failures, rejected, timesOpened, openedAt?}
  json::object ToJson() const;
};

/// Whether an error says the dependency itself is failing (kUnavailable, kInternal,
/// kRateLimited) rather than rejecting the request (validation, not found, conflict, ...).
bool CountsAsDependencyFailure(const Error& error);

/// A circuit breaker around calls to an external dependency (SMTP, webhooks, a payment
/// gateway): closed, it lets calls through and counts consecutive failures; at
/// `failure_threshold` it opens and refuses calls for `cool_down` (by the injected Clock); then
/// it is half-open and lets up to `half_open_max_calls` trials through: a trial's success closes
/// it, a failure opens it again for another cool-down. Results reported while open (calls let
/// through before it opened) change nothing.
///
/// Use Call(fn), or Allow() followed by exactly one RecordSuccess/RecordFailure/Cancel per
/// allowed call (a trial never reported keeps its half-open slot taken).
///
/// Thread-safe (one mutex, never held while calling out). Lifetime: `clock` outlives it.
class CircuitBreaker {
 public:
  CircuitBreaker(std::string name, const Clock& clock, CircuitBreakerOptions options = {});

  /// Whether a call may proceed now (an open circuit past its cool-down turns half-open here).
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  /// An allowed call that was not made after all (the caller found it could not call yet):
  /// gives back a half-open trial slot; counts nothing.
  void Cancel();

  /// Runs `fn` (returning Result<T>) if allowed, else returns kUnavailable "<name> circuit
  /// open" without calling it. Errors for which CountsAsDependencyFailure holds, and
  /// exceptions (rethrown), count as failures; everything else as success.
  template <class Fn>
  auto Call(Fn&& fn) -> std::invoke_result_t<Fn&> {
    if (!Allow()) return UnavailableError(name_ + " circuit open");
    std::invoke_result_t<Fn&> result = [&] {
      try {
        return fn();
      } catch (...) {
        RecordFailure();
        throw;
      }
    }();
    if (!result.ok() && CountsAsDependencyFailure(result.error())) {
      RecordFailure();
    } else {
      RecordSuccess();
    }
    return result;
  }

  /// The state as of now: an open circuit whose cool-down has passed reports kHalfOpen.
  CircuitState State() const;
  CircuitBreakerSnapshot Snapshot() const;
  const std::string& name() const { return name_; }

 private:
  CircuitState StateLocked(TimePoint now) const;
  void OpenLocked(TimePoint now);

  const std::string name_;
  const Clock& clock_;
  const CircuitBreakerOptions options_;

  mutable std::mutex mutex_;
  CircuitState state_ = CircuitState::kClosed;  // as last decided; see StateLocked
  int consecutive_failures_ = 0;
  int trials_in_flight_ = 0;
  TimePoint opened_at_{};
  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
  uint64_t rejected_ = 0;
  uint64_t times_opened_ = 0;
};

/// The process's breakers, by name, for the composition root to create and for health and
/// metrics to export. Thread-safe; breakers live as long as the set (references stay valid).
class CircuitBreakerSet {
 public:
  /// The breaker named `name`, created with `clock` and `options` on first use.
  CircuitBreaker& Get(std::string_view name, const Clock& clock,
                      CircuitBreakerOptions options = {});
  /// nullptr when no breaker has that name.
  CircuitBreaker* Find(std::string_view name) const;
  /// Every breaker's state, in creation order.
  std::vector<CircuitBreakerSnapshot> Snapshots() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<CircuitBreaker>> breakers_;
};

}  // namespace shopflow::monitor
