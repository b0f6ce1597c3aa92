#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <mutex>

#include "core/clock.hpp"

namespace shopflow::monitor {

/// Event counts over a time span.
struct EventCounts {
  int64_t published = 0;
  int64_t consumed = 0;
  // As ObservedEventBus reports outcomes: a Retry on a module queue's last attempt is the
  // kDeadLetter the transports make of it.
  int64_t failed = 0;         // kRetry: will be delivered again
  int64_t dead_lettered = 0;  // kDeadLetter
  int64_t handled = 0;        // consumed + failed + dead_lettered
  double handled_ms = 0.0;    // handler time of those

  /// Mean handler time in milliseconds; 0 when nothing was handled.
  double AverageMs() const { return handled > 0 ? handled_ms / static_cast<double>(handled) : 0; }
};

/// Counts over the last kSeconds seconds in one-second buckets (a ring indexed by the Unix
/// second), so "per minute" rates slide smoothly. Times come from the caller (the injected
/// Clock); a time older than the window is ignored, and a clock that jumps ahead simply leaves
/// stale buckets out of the sum. Thread-safe (one short mutex).
class RateWindow {
 public:
  static constexpr int kSeconds = 60;

  enum class Kind { kPublished, kConsumed, kFailed, kDeadLettered };

  /// Counts `n` events of `kind` at `at`; `handled_ms` adds handler time (handled kinds only).
  void Add(Kind kind, TimePoint at, int64_t n = 1, double handled_ms = 0.0);
  /// The counts of the kSeconds seconds ending with the second of `now` (inclusive).
  EventCounts Sum(TimePoint now) const;

 private:
  struct Bucket {
    int64_t second = std::numeric_limits<int64_t>::min();  // the Unix second this bucket holds
    EventCounts counts;
  };

  static int64_t SecondOf(TimePoint t);

  mutable std::mutex mutex_;
  std::array<Bucket, kSeconds> buckets_{};
};

}  // namespace shopflow::monitor
