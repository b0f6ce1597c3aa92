#include "core/ids.hpp"

#include <algorithm>

namespace shopflow {
namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// A 48-bit millisecond time as ULID's 10 leading characters.
void EncodeTime(int64_t millis, char* out) {
  uint64_t t = static_cast<uint64_t>(millis);
  for (int i = 9; i >= 0; --i) {
    out[i] = kCrockford[t & 31];
    t >>= 5;
  }
}
}  // namespace

UlidGenerator::UlidGenerator(const Clock& clock) : clock_(clock), random_(std::random_device{}()) {}

std::string UlidGenerator::Next() {
  std::lock_guard lock(mutex_);
  int64_t millis = ToUnixMillis(clock_.Now());
  if (millis <= last_millis_) {
    // Same (or an earlier, if the clock stepped back) millisecond: increment the random part so
    // ids stay strictly increasing.
    millis = last_millis_;
    if (++low_ == 0) high_ = (high_ + 1) & 0xFFFF;
  } else {
    last_millis_ = millis;
    high_ = random_() & 0xFFFF;
    low_ = random_() >> 1;  // headroom so increments within a millisecond do not wrap
  }
  std::string out(26, '0');
  EncodeTime(millis, out.data());
  // 80-bit randomness: 16 characters, taken 5 bits at a time from (high_:low_).
  for (int i = 25; i >= 10; --i) {
    out[i] = kCrockford[low_ & 31];
    low_ = (low_ >> 5) | ((high_ & 31) << 59);
    high_ >>= 5;
  }
  // The shifts above consumed the state; rebuild it from the characters just written.
  high_ = 0;
  low_ = 0;
  for (int i = 10; i < 26; ++i) {
    const uint64_t v = static_cast<uint64_t>(std::string_view(kCrockford).find(out[i]));
    high_ = ((high_ << 5) | (low_ >> 59)) & 0xFFFF;
    low_ = (low_ << 5) | v;
  }
  return out;
}

std::string NewId() {
  static UlidGenerator generator;
  return generator.Next();
}

std::string UlidTimePrefix(TimePoint t) {
  std::string out(10, '0');
  EncodeTime(std::max<int64_t>(ToUnixMillis(t), 0), out.data());
  return out;
}

bool IsWellFormedId(std::string_view text) {
  if (text.size() != 26) return false;
  for (char c : text) {
    if (std::string_view(kCrockford).find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace shopflow
