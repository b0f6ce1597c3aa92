#include "monitor/queue_depth_cache.hpp"

#include <utility>

namespace shopflow::monitor {

QueueDepthCache::QueueDepthCache(EventBus& bus, std::chrono::milliseconds max_age)
    : bus_(bus), max_age_(max_age) {}

std::vector<QueueDepth> QueueDepthCache::Get() {
  {
    std::lock_guard lock(data_mutex_);
    if (depths_ && Steady::now() - fetched_at_ < max_age_) return *depths_;
  }
  std::unique_lock refresh(refresh_mutex_, std::try_to_lock);
  if (!refresh.owns_lock()) {
    {
      std::lock_guard lock(data_mutex_);
      if (depths_) return *depths_;  // someone is refreshing: the previous answer will do
    }
    refresh.lock();  // the first answer: wait for it
  }
  {
    std::lock_guard lock(data_mutex_);  // refreshed while we waited?
    if (depths_ && Steady::now() - fetched_at_ < max_age_) return *depths_;
  }
  std::vector<QueueDepth> fresh = bus_.QueueDepths();
  std::lock_guard lock(data_mutex_);
  depths_ = fresh;
  fetched_at_ = Steady::now();
  return fresh;
}

}  // namespace shopflow::monitor
