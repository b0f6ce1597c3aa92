#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "storage/store.hpp"

namespace shopflow {

struct StoreRetentionOptions {
  /// How long an inbox mark is kept after it was applied; 0 = forever. A message delivered
  /// again after its mark is gone is applied again, so this must outlast every way a message
  /// comes back: broker redelivery and retries take seconds to minutes, but an outbox event
  /// published just before a crash is published again when the process restarts, however long
  /// it was down.
  std::chrono::milliseconds inbox_keep = std::chrono::hours(24 * 7);
  /// How long an Idempotency-Key's response is kept after its first request; 0 = forever. A
  /// repeat after that creates a new order or payment (API.md: at least 24 h).
  std::chrono::milliseconds idempotency_keep = std::chrono::hours(24 * 7);
  /// Time between passes (the first one comes one interval after Start). Short, so that each
  /// pass has little to do: under steady load a pass removes what the interval added.
  std::chrono::milliseconds interval = std::chrono::seconds(10);
  /// Most rows removed per write transaction: a pass is several short writes that the saga's
  /// own writes interleave with, not one long one that holds them up (SQLite: ~0.7 ms per 1,000
  /// inbox marks; an empty pass ~0.04 ms).
  int64_t batch = 1000;
};

struct StoreRetentionStats {
  uint64_t inbox_marks_removed = 0;       // since start
  uint64_t idempotency_keys_removed = 0;  // since start
  uint64_t passes = 0;                    // passes that ran to the end
  uint64_t failures = 0;                  // passes stopped by a store error
};

/// Keeps the store's bookkeeping from growing forever. Every consumed event leaves an inbox
/// mark (Transaction::MarkApplied, about sixteen per order) and every request with an
/// Idempotency-Key its response (storage/idempotency.hpp). A background thread removes, every
/// `interval`, the marks applied more than `inbox_keep` ago (Transaction::PruneInbox) but none
/// applied after the oldest event still waiting in the same store's outbox was made, and the
/// keys first used more than `idempotency_keep` ago; in batches. With several processes on one
/// store each prunes; removing a row twice removes it once.
///
/// Lifetime: `store` and `clock` outlive it. Start/Stop from one owner thread; Stats and
/// PruneNow are thread-safe.
class StoreRetention {
 public:
  StoreRetention(Store& store, const Clock& clock, StoreRetentionOptions options = {});
  ~StoreRetention();
  StoreRetention(const StoreRetention&) = delete;
  StoreRetention& operator=(const StoreRetention&) = delete;

  void Start();
  void Stop();

  /// One pass now, on the caller's thread (blocks on the store): removes what has expired at
  /// Now() and returns how many rows (marks and keys).
  Result<int64_t> PruneNow();

  StoreRetentionStats Stats() const;

 private:
  /// Runs `remove(limit)` in write transactions until it removes less than a batch or Stop.
  template <typename RemoveFn>
  Result<int64_t> RemoveInBatches(const RemoveFn& remove, std::atomic<uint64_t>& counter);
  Result<int64_t> PruneInbox();
  Result<int64_t> PruneIdempotencyKeys();

  Store& store_;
  const Clock& clock_;
  const StoreRetentionOptions options_;
  std::atomic<uint64_t> inbox_marks_removed_{0};
  std::atomic<uint64_t> idempotency_keys_removed_{0};
  std::atomic<uint64_t> passes_{0};
  std::atomic<uint64_t> failures_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace shopflow
