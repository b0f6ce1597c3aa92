#include "monitor/circuit_breaker.hpp"

#include <algorithm>
#include <utility>

namespace shopflow::monitor {

std::string_view CircuitStateName(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kOpen:
      return "open";
    case CircuitState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

int CircuitStateValue(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return 0;
    case CircuitState::kHalfOpen:
      return 1;
    case CircuitState::kOpen:
      return 2;
  }
  return 0;
}

json::object CircuitBreakerSnapshot::ToJson() const {
  json::object out{{"state", CircuitStateName(state)},
                   {"consecutiveFailures", consecutive_failures},
                   {"successes", successes},
                   {"failures", failures},
                   {"rejected", rejected},
                   {"timesOpened", times_opened}};
  if (opened_at) out["openedAt"] = FormatRfc3339(*opened_at);
  return out;
}

bool CountsAsDependencyFailure(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kInternal ||
         error.code == ErrorCode::kRateLimited;
}

CircuitBreaker::CircuitBreaker(std::string name, const Clock& clock, CircuitBreakerOptions options)
    : name_(std::move(name)), clock_(clock), options_(options) {}

CircuitState CircuitBreaker::StateLocked(TimePoint now) const {
  if (state_ == CircuitState::kOpen && now - opened_at_ >= options_.cool_down) {
    return CircuitState::kHalfOpen;
  }
  return state_;
}

void CircuitBreaker::OpenLocked(TimePoint now) {
  state_ = CircuitState::kOpen;
  opened_at_ = now;
  trials_in_flight_ = 0;
  ++times_opened_;
}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.Now();
  if (state_ == CircuitState::kOpen && StateLocked(now) == CircuitState::kHalfOpen) {
    state_ = CircuitState::kHalfOpen;
    trials_in_flight_ = 0;
  }
  switch (state_) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kHalfOpen:
      if (trials_in_flight_ < std::max(options_.half_open_max_calls, 1)) {
        ++trials_in_flight_;
        return true;
      }
      ++rejected_;
      return false;
    case CircuitState::kOpen:
      ++rejected_;
      return false;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mutex_);
  ++successes_;
  switch (state_) {
    case CircuitState::kClosed:
      consecutive_failures_ = 0;
      break;
    case CircuitState::kHalfOpen:
      state_ = CircuitState::kClosed;
      consecutive_failures_ = 0;
      trials_in_flight_ = 0;
      break;
    case CircuitState::kOpen:
      break;  // a call let through before the circuit opened: proves nothing now
  }
}

void CircuitBreaker::Cancel() {
  std::lock_guard lock(mutex_);
  if (state_ == CircuitState::kHalfOpen && trials_in_flight_ > 0) --trials_in_flight_;
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard lock(mutex_);
  ++failures_;
  switch (state_) {
    case CircuitState::kClosed:
      if (++consecutive_failures_ >= std::max(options_.failure_threshold, 1)) {
        OpenLocked(clock_.Now());
      }
      break;
    case CircuitState::kHalfOpen:
      ++consecutive_failures_;
      OpenLocked(clock_.Now());
      break;
    case CircuitState::kOpen:
      break;
  }
}

CircuitState CircuitBreaker::State() const {
  std::lock_guard lock(mutex_);
  return StateLocked(clock_.Now());
}

CircuitBreakerSnapshot CircuitBreaker::Snapshot() const {
  std::lock_guard lock(mutex_);
  CircuitBreakerSnapshot s;
  s.name = name_;
  s.state = StateLocked(clock_.Now());
  s.consecutive_failures = consecutive_failures_;
  s.successes = successes_;
  s.failures = failures_;
  s.rejected = rejected_;
  s.times_opened = times_opened_;
  if (s.state != CircuitState::kClosed) s.opened_at = opened_at_;
  return s;
}

CircuitBreaker& CircuitBreakerSet::Get(std::string_view name, const Clock& clock,
                                       CircuitBreakerOptions options) {
  std::lock_guard lock(mutex_);
  for (auto& b : breakers_) {
    if (b->name() == name) return *b;
  }
  breakers_.push_back(std::make_unique<CircuitBreaker>(std::string(name), clock, options));
  return *breakers_.back();
}

CircuitBreaker* CircuitBreakerSet::Find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& b : breakers_) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

std::vector<CircuitBreakerSnapshot> CircuitBreakerSet::Snapshots() const {
  std::vector<CircuitBreaker*> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& b : breakers_) all.push_back(b.get());
  }
  std::vector<CircuitBreakerSnapshot> out;
  out.reserve(all.size());
  for (auto* b : all) out.push_back(b->Snapshot());
  return out;
}

}  // namespace shopflow::monitor
