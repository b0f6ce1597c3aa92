#include "tests/support/fake_clock.hpp"

namespace shopflow::testing {

FakeClock::FakeClock(TimePoint start)
    : nanos_(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count()) {}

TimePoint FakeClock::Now() const {
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(nanos_.load())));
}

void FakeClock::Advance(Duration by) {
  nanos_ += std::chrono::duration_cast<std::chrono::nanoseconds>(by).count();
}

void FakeClock::Set(TimePoint to) {
  nanos_ = std::chrono::duration_cast<std::chrono::nanoseconds>(to.time_since_epoch()).count();
}

}  // namespace shopflow::testing
