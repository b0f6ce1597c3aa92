#include "security/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace shopflow::security {

RateLimiter::RateLimiter(RateLimiterOptions options) : options_(options) {}

RateDecision RateLimiter::Take(std::string_view key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_clients) MakeRoomLocked(now);
    it = buckets_.emplace(std::string(key), Bucket{options_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(options_.burst, bucket.tokens + elapsed * options_.rate_per_second);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return RateDecision{true, 0};
  }
  const double wait = (1 - bucket.tokens) / options_.rate_per_second;
  return RateDecision{false, std::max(1, static_cast<int>(std::ceil(wait)))};
}

size_t RateLimiter::client_count() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void RateLimiter::MakeRoomLocked(Clock::time_point now) {
  // A bucket idle long enough to be full again carries no information: forget it.
  const auto refill = std::chrono::duration<double>(options_.burst / options_.rate_per_second);
  std::erase_if(buckets_, [&](const auto& entry) { return now - entry.second.updated >= refill; });
  if (buckets_.size() < options_.max_clients) return;
  auto oldest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  if (oldest != buckets_.end()) buckets_.erase(oldest);
}

}  // namespace shopflow::security
