#include "monitor/rate_window.hpp"

#include <chrono>

namespace shopflow::monitor {

int64_t RateWindow::SecondOf(TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

void RateWindow::Add(Kind kind, TimePoint at, int64_t n, double handled_ms) {
  const int64_t second = SecondOf(at);
  const auto index = static_cast<size_t>(((second % kSeconds) + kSeconds) % kSeconds);
  std::lock_guard lock(mutex_);
  Bucket& b = buckets_[index];
  if (b.second != second) {
    if (b.second > second) return;  // older than the window the bucket now holds
    b = Bucket{second, {}};
  }
  switch (kind) {
    case Kind::kPublished:
      b.counts.published += n;
      return;
    case Kind::kConsumed:
      b.counts.consumed += n;
      break;
    case Kind::kFailed:
      b.counts.failed += n;
      break;
    case Kind::kDeadLettered:
      b.counts.dead_lettered += n;
      break;
  }
  b.counts.handled += n;
  b.counts.handled_ms += handled_ms;
}

EventCounts RateWindow::Sum(TimePoint now) const {
  const int64_t last = SecondOf(now);
  EventCounts out;
  std::lock_guard lock(mutex_);
  for (const Bucket& b : buckets_) {
    if (b.second > last - kSeconds && b.second <= last) {
      out.published += b.counts.published;
      out.consumed += b.counts.consumed;
      out.failed += b.counts.failed;
      out.dead_lettered += b.counts.dead_lettered;
      out.handled += b.counts.handled;
      out.handled_ms += b.counts.handled_ms;
    }
  }
  return out;
}

}  // namespace shopflow::monitor
