#include "app/guarded_gateway.hpp"

#include <gtest/gtest.h>

#include "payments/run_blocking.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow {
namespace {

using namespace std::chrono_literals;
using payments::ChargeRequest;
using payments::GatewayResult;
using payments::SimulatedGateway;
using Outcome = GatewayResult::Outcome;

// The simulator with an outage switch, counting the charges that reach it.
class GuardedGatewayTest : public ::testing::Test {
 protected:
  GuardedGatewayTest() : breaker_("gateway", clock_, Options()) {}

  static monitor::CircuitBreakerOptions Options() {
    monitor::CircuitBreakerOptions options;
    options.failure_threshold = 3;
    options.cool_down = 10s;
    return options;
  }

  GatewayResult Charge(std::string payment_id) {
    ChargeRequest request{std::move(payment_id), "ord-1", Money::FromCents(5990), "credit_card",
                          "4242424242424242"};
    return payments::RunBlocking([&] { return guarded_.Charge(request); });
  }

  testing::FakeClock clock_;
  bool down_ = false;
  int reached_ = 0;
  SimulatedGateway simulated_{0ms, [this]() -> std::optional<std::string> {
                                ++reached_;
                                if (down_) return "connection refused";
                                return std::nullopt;
                              }};
  monitor::CircuitBreaker breaker_;
  GuardedGateway guarded_{simulated_, breaker_};
};

TEST_F(GuardedGatewayTest, AnswersPassThroughAndCountAsSuccesses) {
  EXPECT_EQ(Charge("p1").outcome, Outcome::kApproved);
  ChargeRequest declined{"p2", "ord-2", Money::FromCents(100), "credit_card", "4000000000000002"};
  auto now = guarded_.TryChargeNow(declined);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->outcome, Outcome::kDeclined) << "a decline is an answer, not a failure";
  EXPECT_EQ(breaker_.Snapshot().successes, 2u);
  EXPECT_EQ(breaker_.Snapshot().failures, 0u);
  EXPECT_EQ(guarded_.Lookup("p1")->outcome, Outcome::kApproved);
}

TEST_F(GuardedGatewayTest, OpensAfterUnansweredChargesAndRefusesWithoutReachingTheGateway) {
  down_ = true;
  for (int i = 0; i < 3; ++i) {
    const GatewayResult r = Charge("p" + std::to_string(i));
    EXPECT_EQ(r.outcome, Outcome::kUnavailable);
    EXPECT_EQ(r.failure_reason, "connection refused");
  }
  EXPECT_EQ(breaker_.State(), monitor::CircuitState::kOpen);
  EXPECT_EQ(reached_, 3);

  const GatewayResult refused = Charge("p9");
  EXPECT_EQ(refused.outcome, Outcome::kUnavailable);
  EXPECT_EQ(refused.failure_reason, GuardedGateway::kOpenReason);
  auto instant = guarded_.TryChargeNow({"p10", "ord-1", Money::FromCents(1), "credit_card", ""});
  ASSERT_TRUE(instant.has_value());
  EXPECT_EQ(instant->failure_reason, GuardedGateway::kOpenReason);
  EXPECT_EQ(reached_, 3) << "an open circuit does not reach the gateway";
  EXPECT_EQ(breaker_.Snapshot().rejected, 2u);

  // Back up: after the cool-down one trial closes the circuit again.
  down_ = false;
  clock_.Advance(10s);
  EXPECT_EQ(Charge("p9").outcome, Outcome::kApproved);
  EXPECT_EQ(breaker_.State(), monitor::CircuitState::kClosed);
}

TEST_F(GuardedGatewayTest, ATryThatCannotAnswerNowKeepsTheHalfOpenTrialForTheCharge) {
  SimulatedGateway slow(1ms);
  GuardedGateway guarded(slow, breaker_);
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  clock_.Advance(10s);
  ChargeRequest request{"p1", "ord-1", Money::FromCents(100), "credit_card", ""};
  EXPECT_FALSE(guarded.TryChargeNow(request).has_value());
  const GatewayResult r = payments::RunBlocking([&] { return guarded.Charge(request); });
  EXPECT_EQ(r.outcome, Outcome::kApproved) << "the trial slot was given back for the charge";
  EXPECT_EQ(breaker_.State(), monitor::CircuitState::kClosed);
}

}  // namespace
}  // namespace shopflow
