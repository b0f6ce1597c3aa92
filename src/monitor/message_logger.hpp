#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"
#include "events/observed_event_bus.hpp"
#include "events/topology.hpp"
#include "monitor/message_log.hpp"
#include "monitor/message_log_ring.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

struct MessageLoggerOptions {
  /// Observations held in memory at most; beyond, new ones are dropped and counted. Each holds
  /// its row's text (~1.3 KB); at a saturating rate the buffer stays full, so this bounds the RSS
  /// the log can take (5,000: ~7 MB, ~0.2 s of a 900 orders/s saga's observations).
  size_t max_buffered = 5'000;
  /// How long a bus thread reporting an event waits for room in a full buffer before the
  /// observation is dropped: at a rate the log cannot keep, the saga slows to the log's pace
  /// instead of the log losing rows, while a stalled log store still costs the bus at most
  /// this per report. 0 drops at once.
  std::chrono::milliseconds max_wait_for_space{50};
  /// Rows per Store::Write, and the buffer size that wakes the writer early.
  size_t batch_size = 500;
  /// How long an observation may wait in the buffer.
  std::chrono::milliseconds flush_interval{100};
  /// Retention (Settings::messages_max_count / messages_max_age); <= 0 disables that rule.
  /// The count is kept as the log is written: it is a ring of partitions (message_log_ring.hpp)
  /// and holds between 3/4 of max_count and max_count rows once full.
  int64_t max_count = 100'000;
  std::chrono::seconds max_age{86'400};
  /// How often the retention pass runs (real time; the first when the logger starts), and its
  /// bounds: rows removed per write and writes per rule (age, count) and pass, so one pass
  /// never holds the store's writer long. The pass removes rows older than max_age, and rows
  /// beyond max_count that the ring has not dropped (a log written with a larger max_count, or
  /// by an earlier version): whole partitions where it can. A pass that stopped at its bound
  /// leaves rows to remove: the next pass then runs right after the next buffer drain instead
  /// of a prune_interval later.
  std::chrono::milliseconds prune_interval{10'000};
  size_t prune_batch = 1'000;
  size_t prune_max_batches = 20;
};

/// Monotonic counts since construction.
struct MessageLoggerStats {
  uint64_t observed = 0;        // observations accepted into the buffer
  uint64_t dropped = 0;         // observations refused because the buffer was full or stopped
  uint64_t written = 0;         // rows committed
  uint64_t lost = 0;            // rows whose batch failed to commit (not retried)
  uint64_t batches = 0;         // Store::Write calls that committed rows
  uint64_t write_failures = 0;  // Store::Write calls that failed
  uint64_t pruned = 0;          // rows removed by retention (passes and the ring's turns)
  uint64_t prune_passes = 0;    // retention passes that completed
};

/// The MessageLogger of the seed: records every event this process publishes and every
/// delivery its consumers handle, whichever the transport, as rows of the "messages" collection
/// (see ToMessageRow): status "published" on OnPublished; "consumed" (kAck), "failed" (kRetry)
/// or "dead_lettered" (kDeadLetter) on OnHandled, with queue, module, attempt, reason and the
/// handler's duration.
///
/// The observer callbacks only write the event's row as JSON text into a bounded in-memory
/// buffer (serializing the event in place costs less than copying it). When it is full
/// they wait up to max_wait_for_space for room, then drop and count: the bus is slowed to the
/// log's pace, never stalled by the store. A thread of the logger
/// writes the buffer in batches (one Store::Write per batch_size rows, at least every
/// flush_interval) into the ring of partitions, which keeps the count, and runs the retention
/// pass every prune_interval: rows older than max_age, then any oldest rows beyond max_count,
/// removed in bounded batches. A failed batch is counted
/// as lost, not retried (the log is best-effort; the events themselves are safe in the bus).
///
/// Thread-safety: OnPublished/OnHandled, Flush, Prune and Stats may be called from any thread.
/// Start and Stop are called by one owner. Lifetime: `store` and `clock` outlive the logger.
class MessageLogger final : public EventObserver {
 public:
  MessageLogger(Store& store, Topology topology, const Clock& clock,
                MessageLoggerOptions options = {});
  /// Stops (flushing what is buffered).
  ~MessageLogger() override;
  MessageLogger(const MessageLogger&) = delete;
  MessageLogger& operator=(const MessageLogger&) = delete;

  /// The collections the logger writes to (its partitions and the ring's state); declare them
  /// when opening the store.
  static std::vector<CollectionSpec> Collections() { return MessageLogCollections(); }

  /// Starts the writer thread. Idempotent; does nothing after Stop.
  void Start();
  /// Writes what is buffered, then joins the thread. Observations after Stop are dropped.
  /// Idempotent.
  void Stop();

  void OnPublished(std::span<const Envelope> batch) override;
  void OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds took) override;

  /// Blocks until every observation accepted before the call is written (or lost). Writes on
  /// the caller's thread when the logger is not started. Not for I/O threads.
  void Flush();
  /// Runs one retention pass now, on the caller's thread (blocking); returns rows removed and
  /// sets *more (if given) when the pass stopped at its bound with rows left to remove.
  Result<int64_t> Prune(bool* more = nullptr);

  MessageLoggerStats Stats() const;

 private:
  /// Counts `n` observations as dropped and returns true when they cannot be buffered.
  bool RefuseIfFull(size_t n);
  /// A row ready for the store: its id, its document as JSON text (ToMessageRowText) and its
  /// indexed values.
  struct PendingRow {
    std::string id;
    std::string text;
    MessageRowKeys keys;
  };
  void Accept(std::vector<PendingRow> rows);
  void Run();
  /// Takes the buffer and writes it; the caller holds no lock.
  void DrainOnce();
  void WriteRows(std::span<const PendingRow> rows);
  /// Removes up to `at_most` of the oldest rows of `partition` matching `filters`, one write
  /// per prune_batch, taking the writes from `*rounds` (the pass's bound for one rule). Sets
  /// *more (if given) when it ran out of rounds with rows possibly left.
  Result<int64_t> RemoveOldest(const std::string& partition,
                               const std::vector<FieldFilter>& filters, int64_t at_most,
                               size_t* rounds, bool* more);
  /// The count rule of a pass: rows beyond max_count, oldest first; whole partitions cleared
  /// where all their rows must go.
  Result<int64_t> TrimToCount(bool* more);

  Store& store_;
  const Topology topology_;
  const Clock& clock_;
  const MessageLoggerOptions options_;
  UlidGenerator ids_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer: buffer full, flush asked, stopping
  std::condition_variable written_;  // Flush callers: progress
  std::condition_variable space_;    // reporters waiting for room in a full buffer
  std::vector<PendingRow> buffer_;
  uint64_t accepted_seq_ = 0;   // observations accepted so far
  uint64_t processed_seq_ = 0;  // of those, written or lost
  bool flush_requested_ = false;
  bool started_ = false;
  bool stopping_ = false;
  MessageLoggerStats stats_;

  std::mutex drain_mutex_;  // one drain at a time (writer thread or an inline Flush)
  std::mutex prune_mutex_;  // one retention pass at a time
  std::thread thread_;
};

}  // namespace shopflow::monitor
