#include "app/guarded_channel.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "core/error.hpp"
#include "notifications/email_channel.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow {
namespace {

using namespace std::chrono_literals;

// A channel that counts its sends and fails while `down` is set.
class CountingChannel final : public notifications::NotificationChannel {
 public:
  explicit CountingChannel(bool records_only) : records_only_(records_only) {}
  Result<void> Send(const notifications::OutgoingMessage&) override {
    ++sends;
    if (down) return UnavailableError("connection refused");
    return Ok();
  }
  bool RecordsOnly() const override { return records_only_; }

  int sends = 0;
  bool down = false;

 private:
  const bool records_only_;
};

class GuardedChannelTest : public ::testing::Test {
 protected:
  static monitor::CircuitBreakerOptions Options() {
    monitor::CircuitBreakerOptions options;
    options.failure_threshold = 2;
    options.cool_down = 10s;
    return options;
  }

  testing::FakeClock clock_;
  monitor::CircuitBreaker breaker_{"smtp", clock_, Options()};
};

TEST_F(GuardedChannelTest, SaysWhetherTheChannelItGuardsOnlyRecords) {
  // The notification service stores a records-only channel's notification settled in one
  // write; the guard the application puts around every channel must not hide that.
  EXPECT_TRUE(GuardedChannel(std::make_unique<CountingChannel>(true), breaker_).RecordsOnly());
  EXPECT_FALSE(GuardedChannel(std::make_unique<CountingChannel>(false), breaker_).RecordsOnly());
  notifications::EmailChannelOptions no_smtp;
  EXPECT_TRUE(GuardedChannel(std::make_unique<notifications::EmailChannel>(no_smtp), breaker_)
                  .RecordsOnly());
  notifications::EmailChannelOptions smtp;
  smtp.smtp_url = "smtp://127.0.0.1:1";
  EXPECT_FALSE(
      GuardedChannel(std::make_unique<notifications::EmailChannel>(smtp), breaker_).RecordsOnly());
}

TEST_F(GuardedChannelTest, OpensAfterRepeatedFailuresAndStopsCallingTheChannel) {
  auto inner = std::make_unique<CountingChannel>(false);
  CountingChannel& channel = *inner;
  GuardedChannel guarded(std::move(inner), breaker_);
  notifications::OutgoingMessage message;
  EXPECT_TRUE(guarded.Send(message));
  channel.down = true;
  EXPECT_FALSE(guarded.Send(message));
  EXPECT_FALSE(guarded.Send(message));
  const int reached = channel.sends;
  auto refused = guarded.Send(message);  // open: refused without calling the channel
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(channel.sends, reached);
}

}  // namespace
}  // namespace shopflow
