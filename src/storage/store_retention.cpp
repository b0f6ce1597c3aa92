#include "storage/store_retention.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/thread_name.hpp"
#include "storage/idempotency.hpp"

namespace shopflow {

StoreRetention::StoreRetention(Store& store, const Clock& clock, StoreRetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

StoreRetention::~StoreRetention() { Stop(); }

void StoreRetention::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    SetThreadName("store-retention");
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      lock.unlock();
      if (auto pruned = PruneNow(); !pruned) {
        spdlog::warn("store retention: {}", pruned.error().message);
      } else if (*pruned > 0) {
        spdlog::info("store retention: removed {} expired inbox marks and idempotency keys",
                     *pruned);
      }
      lock.lock();
    }
  });
}

void StoreRetention::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<int64_t> StoreRetention::PruneNow() {
  auto marks = PruneInbox();
  if (!marks) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return marks;
  }
  auto keys = PruneIdempotencyKeys();
  if (!keys) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    return keys;
  }
  passes_.fetch_add(1, std::memory_order_relaxed);
  return *marks + *keys;
}

template <typename RemoveFn>
Result<int64_t> StoreRetention::RemoveInBatches(const RemoveFn& remove,
                                                std::atomic<uint64_t>& counter) {
  int64_t total = 0;
  while (true) {
    int64_t removed = 0;
    auto written = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
      auto n = remove(txn, options_.batch);
      if (!n) return std::move(n).error();
      removed = *n;
      return Ok();
    });
    if (!written) return std::move(written).error();
    total += removed;
    counter.fetch_add(static_cast<uint64_t>(removed), std::memory_order_relaxed);
    // A short batch means nothing older is left. Stop also ends a long pass between batches.
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    if (removed < options_.batch || stopping) return total;
  }
}

Result<int64_t> StoreRetention::PruneInbox() {
  if (options_.inbox_keep.count() <= 0) return int64_t{0};
  // One cutoff for the whole pass: marks applied while it runs are not its business.
  TimePoint cutoff = clock_.Now() - options_.inbox_keep;
  // An event still in this store's outbox may have been published before a crash and will be
  // published again (a process restarted after a long stop, a broker away for long): the marks
  // of its consumers, applied after it was made, must outlive it. Events of other stores (the
  // modules of other processes) are not seen here; the window covers those.
  auto pending = store_.PendingOutbox(1);
  if (!pending) return std::move(pending).error();
  if (!pending->empty()) cutoff = std::min(cutoff, pending->front().event.metadata.timestamp);
  return RemoveInBatches(
      [cutoff](Transaction& txn, int64_t limit) { return txn.PruneInbox(cutoff, limit); },
      inbox_marks_removed_);
}

Result<int64_t> StoreRetention::PruneIdempotencyKeys() {
  if (options_.idempotency_keep.count() <= 0) return int64_t{0};
  // createdAt is RFC 3339 with fixed milliseconds: it compares as a string, on its index.
  const FieldFilter expired{"createdAt", FieldFilter::Op::kLte,
                            FormatRfc3339(clock_.Now() - options_.idempotency_keep)};
  return RemoveInBatches(
      [&expired](Transaction& txn, int64_t limit) {
        return txn.RemoveFirst(kIdempotencyCollection, std::span(&expired, 1), limit);
      },
      idempotency_keys_removed_);
}

StoreRetentionStats StoreRetention::Stats() const {
  return {inbox_marks_removed_.load(std::memory_order_relaxed),
          idempotency_keys_removed_.load(std::memory_order_relaxed),
          passes_.load(std::memory_order_relaxed), failures_.load(std::memory_order_relaxed)};
}

}  // namespace shopflow
