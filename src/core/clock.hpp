#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace shopflow {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

/// Source of wall-clock time, injected so that tests control it. Implementations are
/// thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  /// A process-wide instance, for composition roots.
  static const SystemClock& Instance();
};

/// RFC 3339 UTC with milliseconds: "2026-11-29T14:03:07.123Z".
std::string FormatRfc3339(TimePoint t);
/// Parses RFC 3339 ("...Z" or with a numeric offset, fractional seconds optional).
std::optional<TimePoint> ParseRfc3339(std::string_view text);
/// Milliseconds since the Unix epoch.
int64_t ToUnixMillis(TimePoint t);
TimePoint FromUnixMillis(int64_t millis);

}  // namespace shopflow
