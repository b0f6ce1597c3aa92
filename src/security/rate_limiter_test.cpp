#include "security/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace shopflow::security {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AllowsABurstThenRefillsAtTheRate) {
  RateLimiter limiter(RateLimiterOptions{.rate_per_second = 2, .burst = 3, .max_clients = 10});
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Take("a", t0).allowed) << i;
  auto refused = limiter.Take("a", t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  // Another client is not affected.
  EXPECT_TRUE(limiter.Take("b", t0).allowed);
  // Half a second later one token is back (2 per second), and only one.
  EXPECT_TRUE(limiter.Take("a", t0 + 500ms).allowed);
  EXPECT_FALSE(limiter.Take("a", t0 + 500ms).allowed);
}

TEST(RateLimiter, RetryAfterCoversTheWaitForOneToken) {
  RateLimiter limiter(RateLimiterOptions{.rate_per_second = 0.25, .burst = 1, .max_clients = 10});
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  EXPECT_TRUE(limiter.Take("a", t0).allowed);
  EXPECT_EQ(limiter.Take("a", t0).retry_after_seconds, 4);
  EXPECT_EQ(limiter.Take("a", t0 + 3s).retry_after_seconds, 1);
  EXPECT_TRUE(limiter.Take("a", t0 + 4s).allowed);
}

TEST(RateLimiter, MemoryIsBoundedByMaxClients) {
  RateLimiter limiter(RateLimiterOptions{.rate_per_second = 1, .burst = 2, .max_clients = 100});
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i) limiter.Take("client-" + std::to_string(i), t0 + i * 1ms);
  EXPECT_LE(limiter.client_count(), 100u);
  // Idle buckets (full again) are swept first.
  for (int i = 0; i < 100; ++i) limiter.Take("late-" + std::to_string(i), t0 + 1h);
  EXPECT_LE(limiter.client_count(), 100u);
}

}  // namespace
}  // namespace shopflow::security
