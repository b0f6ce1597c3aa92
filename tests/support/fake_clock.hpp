#pragma once

#include <atomic>
#include <chrono>

#include "core/clock.hpp"

namespace shopflow::testing {

/// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = FromUnixMillis(1'795'000'000'000));
  TimePoint Now() const override;
  void Advance(Duration by);
  void Set(TimePoint to);

 private:
  std::atomic<int64_t> nanos_;
};

}  // namespace shopflow::testing
