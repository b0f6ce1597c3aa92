#include "monitor/dlq/redrive_pacer.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {
std::chrono::steady_clock::duration IntervalFor(double per_second) {
  if (per_second <= 0) return std::chrono::steady_clock::duration::zero();
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(1.0 / per_second));
}
}  // namespace

RedriveRateLimiter::RedriveRateLimiter(double per_second) : interval_(IntervalFor(per_second)) {}

RedriveRateLimiter::TimePoint RedriveRateLimiter::Reserve(TimePoint now) {
  std::lock_guard lock(mutex_);
  const TimePoint slot = std::max(now, next_free_);
  next_free_ = slot + interval_;
  return slot;
}

std::chrono::steady_clock::time_point SteadyTimerPacer::Now() {
  return std::chrono::steady_clock::now();
}

asio::awaitable<void> SteadyTimerPacer::SleepUntil(std::chrono::steady_clock::time_point when) {
  if (when <= std::chrono::steady_clock::now()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, when);
  // A cancelled wait (shutdown) just ends the pause early; the caller goes on or is destroyed.
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace shopflow::monitor
