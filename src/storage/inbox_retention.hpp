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

struct InboxRetentionOptions {
  /// How long a mark is kept after it was applied. A message delivered again after its mark is
  /// gone is applied again, so this must outlast every way a message comes back: broker
  /// redelivery and retries take seconds to minutes, but an outbox event published just before
  /// a crash is published again when the process restarts, however long it was down.
  std::chrono::milliseconds keep = std::chrono::hours(24 * 7);
  /// Time between passes (the first one comes one interval after Start). Short, so that each
  /// pass has little to do: under steady load a pass removes what the interval added.
  std::chrono::milliseconds interval = std::chrono::seconds(10);
  /// Most marks removed per write transaction: a pass is several short writes that the saga's
  /// own writes interleave with, not one long one that holds them up (SQLite: ~0.7 ms per 1,000
  /// marks; an empty pass ~0.04 ms).
  int64_t batch = 1000;
};

struct InboxRetentionStats {
  uint64_t removed = 0;   // marks removed since start
  uint64_t passes = 0;    // passes that ran to the end
  uint64_t failures = 0;  // passes stopped by a store error
};

/// Keeps the inbox (Transaction::MarkApplied) from growing forever: every consumed event leaves
/// a mark, about sixteen per order. A background thread removes, every `interval`, the marks
/// applied more than `keep` ago (Transaction::PruneInbox), in batches, and none applied after
/// the oldest event still waiting in the same store's outbox was made. With several processes
/// on one store each prunes; removing a mark twice removes it once.
///
/// Lifetime: `store` and `clock` outlive it. Start/Stop from one owner thread; Stats and
/// PruneNow are thread-safe.
class InboxRetention {
 public:
  InboxRetention(Store& store, const Clock& clock, InboxRetentionOptions options = {});
  ~InboxRetention();
  InboxRetention(const InboxRetention&) = delete;
  InboxRetention& operator=(const InboxRetention&) = delete;

  void Start();
  void Stop();

  /// One pass now, on the caller's thread (blocks on the store): removes every mark applied
  /// before Now() - keep and returns how many.
  Result<int64_t> PruneNow();

  InboxRetentionStats Stats() const;

 private:
  Store& store_;
  const Clock& clock_;
  const InboxRetentionOptions options_;
  std::atomic<uint64_t> removed_{0};
  std::atomic<uint64_t> passes_{0};
  std::atomic<uint64_t> failures_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace shopflow
