#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <mutex>

namespace shopflow::monitor {

/// Spaces re-drives to at most `per_second` messages per second: a token bucket holding one
/// token, so the first reservation after a pause is immediate and later ones follow at
/// 1/per_second intervals. Pure arithmetic on the times it is given; thread-safe.
class RedriveRateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  /// `per_second` <= 0: every reservation is immediate.
  explicit RedriveRateLimiter(double per_second);

  /// Reserves the next free slot at or after `now` and returns when it begins.
  TimePoint Reserve(TimePoint now);
  std::chrono::steady_clock::duration interval() const { return interval_; }

 private:
  const std::chrono::steady_clock::duration interval_;
  std::mutex mutex_;
  TimePoint next_free_{};
};

/// How a re-drive run waits for its slot. Injected so tests can run the pacing on virtual time.
class RedrivePacer {
 public:
  virtual ~RedrivePacer() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  /// Suspends the calling coroutine until `when`, resuming on its own executor without blocking
  /// it. Returns at once for a time already past.
  virtual boost::asio::awaitable<void> SleepUntil(std::chrono::steady_clock::time_point when) = 0;
};

/// The real pacer: std::chrono::steady_clock and an asio::steady_timer on the caller's executor.
/// Stateless; thread-safe.
class SteadyTimerPacer final : public RedrivePacer {
 public:
  std::chrono::steady_clock::time_point Now() override;
  boost::asio::awaitable<void> SleepUntil(std::chrono::steady_clock::time_point when) override;
};

}  // namespace shopflow::monitor
