#include "monitor/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/fake_clock.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerOptions Options(int threshold = 3, Duration cool_down = 30s, int trials = 1) {
    CircuitBreakerOptions o;
    o.failure_threshold = threshold;
    o.cool_down = cool_down;
    o.half_open_max_calls = trials;
    return o;
  }
  FakeClock clock_;
};

TEST_F(CircuitBreakerTest, OpensAfterThresholdConsecutiveFailures) {
  CircuitBreaker breaker("smtp", clock_, Options(3));
  breaker.RecordFailure();
  breaker.RecordFailure();
  breaker.RecordSuccess();  // resets the run
  breaker.RecordFailure();
  breaker.RecordFailure();
  EXPECT_EQ(breaker.State(), CircuitState::kClosed);
  EXPECT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  EXPECT_EQ(breaker.State(), CircuitState::kOpen);
  EXPECT_FALSE(breaker.Allow());
  EXPECT_EQ(breaker.Snapshot().rejected, 1u);
  EXPECT_EQ(breaker.Snapshot().times_opened, 1u);
}

TEST_F(CircuitBreakerTest, HalfOpenAfterCoolDownAndATrialSuccessCloses) {
  CircuitBreaker breaker("webhook", clock_, Options(1, 30s));
  breaker.RecordFailure();
  ASSERT_EQ(breaker.State(), CircuitState::kOpen);
  clock_.Advance(29s);
  EXPECT_FALSE(breaker.Allow());
  clock_.Advance(1s);
  EXPECT_EQ(breaker.State(), CircuitState::kHalfOpen);
  EXPECT_TRUE(breaker.Allow());   // the trial
  EXPECT_FALSE(breaker.Allow());  // only one at a time
  breaker.RecordSuccess();
  EXPECT_EQ(breaker.State(), CircuitState::kClosed);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
}

TEST_F(CircuitBreakerTest, TrialFailureOpensForAnotherCoolDown) {
  CircuitBreaker breaker("gateway", clock_, Options(2, 10s));
  breaker.RecordFailure();
  breaker.RecordFailure();
  clock_.Advance(10s);
  ASSERT_TRUE(breaker.Allow());
  breaker.RecordFailure();
  EXPECT_EQ(breaker.State(), CircuitState::kOpen);
  clock_.Advance(9s);
  EXPECT_FALSE(breaker.Allow());
  clock_.Advance(1s);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_EQ(breaker.Snapshot().times_opened, 2u);
}

TEST_F(CircuitBreakerTest, HalfOpenLetsAtMostTheConfiguredTrialsThrough) {
  CircuitBreaker breaker("gateway", clock_, Options(1, 1s, 2));
  breaker.RecordFailure();
  clock_.Advance(1s);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_TRUE(breaker.Allow());
  EXPECT_FALSE(breaker.Allow());
}

TEST_F(CircuitBreakerTest, ACancelledTrialGivesItsSlotBackAndCountsNothing) {
  CircuitBreaker breaker("gateway", clock_, Options(1, 1s, 1));
  breaker.RecordFailure();
  clock_.Advance(1s);
  EXPECT_TRUE(breaker.Allow());
  EXPECT_FALSE(breaker.Allow()) << "the one trial slot is taken";
  breaker.Cancel();
  EXPECT_EQ(breaker.State(), CircuitState::kHalfOpen);
  EXPECT_TRUE(breaker.Allow()) << "the slot was given back";
  const CircuitBreakerSnapshot s = breaker.Snapshot();
  EXPECT_EQ(s.successes, 0u);
  EXPECT_EQ(s.failures, 1u);
}

TEST_F(CircuitBreakerTest, ResultsReportedWhileOpenChangeNothing) {
  CircuitBreaker breaker("smtp", clock_, Options(1, 10s));
  breaker.RecordFailure();
  breaker.RecordSuccess();  // a call let through before it opened
  EXPECT_EQ(breaker.State(), CircuitState::kOpen);
  breaker.RecordFailure();
  clock_.Advance(10s);
  EXPECT_EQ(breaker.State(), CircuitState::kHalfOpen);  // the cool-down did not restart
}

TEST_F(CircuitBreakerTest, CallCountsOnlyDependencyFailuresAndShortCircuitsWhenOpen) {
  CircuitBreaker breaker("webhook", clock_, Options(2));
  int calls = 0;
  auto rejected = [&]() -> Result<int> {
    ++calls;
    return ValidationError("bad recipient");
  };
  auto down = [&]() -> Result<int> {
    ++calls;
    return UnavailableError("connection refused");
  };
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(breaker.Call(rejected).ok());
  EXPECT_EQ(breaker.State(), CircuitState::kClosed);  // the dependency answered
  EXPECT_FALSE(breaker.Call(down).ok());
  EXPECT_FALSE(breaker.Call(down).ok());
  EXPECT_EQ(breaker.State(), CircuitState::kOpen);

  calls = 0;
  auto r = breaker.Call(down);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "webhook circuit open");
  EXPECT_EQ(calls, 0);

  clock_.Advance(30s);
  auto ok = breaker.Call([]() -> Result<int> { return 7; });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  EXPECT_EQ(breaker.State(), CircuitState::kClosed);
}

TEST_F(CircuitBreakerTest, ExceptionsCountAsFailuresAndPropagate) {
  CircuitBreaker breaker("gateway", clock_, Options(1));
  EXPECT_THROW(breaker.Call([]() -> Result<void> { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_EQ(breaker.State(), CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, SetExportsEveryBreakersState) {
  CircuitBreakerSet set;
  CircuitBreaker& smtp = set.Get("smtp", clock_, Options(1));
  set.Get("webhook", clock_);
  EXPECT_EQ(&set.Get("smtp", clock_), &smtp);  // same name, same breaker
  EXPECT_EQ(set.Find("webhook")->name(), "webhook");
  EXPECT_EQ(set.Find("nope"), nullptr);
  smtp.RecordFailure();

  const auto snapshots = set.Snapshots();
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(snapshots[0].name, "smtp");
  EXPECT_EQ(snapshots[0].state, CircuitState::kOpen);
  EXPECT_EQ(snapshots[1].state, CircuitState::kClosed);
  const json::object j = snapshots[0].ToJson();
  EXPECT_EQ(GetString(j, "state"), "open");
  EXPECT_EQ(GetString(j, "openedAt"), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(GetInt(j, "failures"), 1);
  EXPECT_EQ(CircuitStateValue(CircuitState::kOpen), 2);
  EXPECT_EQ(CircuitStateName(CircuitState::kHalfOpen), "half_open");
}

TEST_F(CircuitBreakerTest, ConcurrentCallersKeepCountsConsistent) {
  CircuitBreaker breaker("smtp", clock_, Options(1'000'000));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1'000; ++i) {
        if (!breaker.Allow()) continue;
        if ((i + t) % 2 == 0) {
          breaker.RecordSuccess();
        } else {
          breaker.RecordFailure();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = breaker.Snapshot();
  EXPECT_EQ(s.successes + s.failures, 4'000u);
  EXPECT_EQ(s.state, CircuitState::kClosed);
}

}  // namespace
}  // namespace shopflow::monitor
