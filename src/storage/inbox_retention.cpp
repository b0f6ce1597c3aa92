#include "storage/inbox_retention.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/thread_name.hpp"

namespace shopflow {

InboxRetention::InboxRetention(Store& store, const Clock& clock, InboxRetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

InboxRetention::~InboxRetention() { Stop(); }

void InboxRetention::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    SetThreadName("inbox-retention");
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      lock.unlock();
      if (auto pruned = PruneNow(); !pruned) {
        spdlog::warn("inbox retention: {}", pruned.error().message);
      } else if (*pruned > 0) {
        spdlog::info("inbox retention: removed {} marks applied more than {} s ago", *pruned,
                     std::chrono::duration_cast<std::chrono::seconds>(options_.keep).count());
      }
      lock.lock();
    }
  });
}

void InboxRetention::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<int64_t> InboxRetention::PruneNow() {
  // One cutoff for the whole pass: marks applied while it runs are not its business.
  TimePoint cutoff = clock_.Now() - options_.keep;
  // An event still in this store's outbox may have been published before a crash and will be
  // published again (a process restarted after a long stop, a broker away for long): the marks
  // of its consumers, applied after it was made, must outlive it. Events of other stores (the
  // modules of other processes) are not seen here; the window covers those.
  auto pending = store_.PendingOutbox(1);
  if (!pending) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return std::move(pending).error();
  }
  if (!pending->empty()) cutoff = std::min(cutoff, pending->front().event.metadata.timestamp);
  int64_t total = 0;
  while (true) {
    int64_t removed = 0;
    auto written = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
      auto pruned = txn.PruneInbox(cutoff, options_.batch);
      if (!pruned) return std::move(pruned).error();
      removed = *pruned;
      return Ok();
    });
    if (!written) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      return std::move(written).error();
    }
    total += removed;
    removed_.fetch_add(static_cast<uint64_t>(removed), std::memory_order_relaxed);
    // A short batch means nothing older is left. Stop also ends a long pass between batches.
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    if (removed < options_.batch || stopping) break;
  }
  passes_.fetch_add(1, std::memory_order_relaxed);
  return total;
}

InboxRetentionStats InboxRetention::Stats() const {
  return {removed_.load(std::memory_order_relaxed), passes_.load(std::memory_order_relaxed),
          failures_.load(std::memory_order_relaxed)};
}

}  // namespace shopflow
