#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace shopflow::security {

struct RateLimiterOptions {
  double rate_per_second = 100;  // tokens added per second (sustained requests per second)
  double burst = 200;            // bucket size (requests allowed at once after a quiet spell)
  size_t max_clients = 100'000;  // buckets kept at most (memory bound)
};

/// The answer for one request.
struct RateDecision {
  bool allowed = true;
  /// When refused: whole seconds until a request would be allowed (>= 1), for Retry-After.
  int retry_after_seconds = 0;
};

/// Token buckets per client key (a principal's sub, or a remote address for anonymous
/// clients). Memory is bounded: buckets that refilled completely are indistinguishable from
/// new ones and are swept out once max_clients is reached; if all are busy, the least recently
/// used goes (it restarts full, which errs on the side of availability).
///
/// Thread-safe (one mutex; each call is O(1) amortized). `now` is passed in so that tests
/// control time.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(RateLimiterOptions options);

  RateDecision Take(std::string_view key, Clock::time_point now = Clock::now());
  size_t client_count() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };

  void MakeRoomLocked(Clock::time_point now);

  const RateLimiterOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mutex_
};

}  // namespace shopflow::security
