#pragma once

#include <compare>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "core/clock.hpp"

namespace shopflow {

/// A string identifier tagged with what it identifies, so an OrderId cannot be passed where a
/// ProductId is expected.
template <class Tag>
struct Id {
  std::string value;

  auto operator<=>(const Id&) const = default;
};

using OrderId = Id<struct OrderTag>;
using ProductId = Id<struct ProductTag>;
using PaymentId = Id<struct PaymentTag>;
using NotificationId = Id<struct NotificationTag>;
using MessageId = Id<struct MessageTag>;

/// Generates ULIDs (26 Crockford base-32 characters) that sort by creation time, strictly
/// increasing within one generator even inside one millisecond (monotonic ULID). Thread-safe.
class UlidGenerator {
 public:
  explicit UlidGenerator(const Clock& clock = SystemClock::Instance());
  std::string Next();

 private:
  const Clock& clock_;
  std::mutex mutex_;
  std::mt19937_64 random_;
  int64_t last_millis_ = -1;
  uint64_t high_ = 0;  // upper 16 bits of the 80-bit random part
  uint64_t low_ = 0;   // lower 64 bits
};

/// A new ULID from a process-wide generator.
std::string NewId();

/// The first 10 characters of every ULID made at `t` (its 48-bit millisecond time): ULIDs made
/// before `t` sort below it, those made at or after `t` above it (store range scans by age).
std::string UlidTimePrefix(TimePoint t);

/// True when `text` looks like an id this system issues (26 Crockford base-32 characters).
bool IsWellFormedId(std::string_view text);

}  // namespace shopflow
