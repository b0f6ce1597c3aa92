#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "events/event_bus.hpp"
#include "storage/store.hpp"

namespace shopflow {

struct OutboxRelayOptions {
  /// Most events read, published and marked sent per round trip.
  size_t batch_size = 256;
  /// Safety net: how often the outbox is polled when no listener wake-up arrives.
  std::chrono::milliseconds poll_interval{500};
  /// The first retry delay after a failure; doubled per consecutive failure up to max_backoff.
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  /// Start() installs the relay as the store's outbox listener (Store::SetOutboxListener). Turn
  /// off when the composition root wires the listener itself and calls Notify().
  bool register_listener = true;
  /// Most events the store handed over (OutboxListener) held while they wait to be published;
  /// beyond it a commit's events are dropped from memory and read back from the store instead.
  size_t handed_over_capacity = 4096;
  /// Most batches published and not yet confirmed (EventBus::PublishAsync): a batch goes out
  /// without waiting for the confirms of the ones before it. 1 waits for each batch's confirms
  /// before the next.
  size_t max_batches_in_flight = 8;
};

struct OutboxRelayStats {
  uint64_t relayed = 0;           // events published successfully (re-sends count again)
  uint64_t handed_over = 0;       // of those, published as handed over, without a store read
  uint64_t publish_failures = 0;  // failed EventBus::Publish calls
  uint64_t store_failures = 0;    // failed PendingOutbox / MarkOutboxSentLater calls
  std::string last_error;         // the latest failure's message; "" if none yet
};

/// Moves committed outbox events to the bus (ARCHITECTURE.md principle 7): reads the oldest
/// unsent events, publishes them (EventBus::PublishAsync: the outcome comes once they are
/// durably accepted), then marks them sent (Store::MarkOutboxSentLater: queued with the store's
/// next group commit, not waited for; until it commits, the relay reads past those rows).
/// Delivery is at least once: when publishing or marking fails the same rows are published
/// again after an exponential backoff, with the same messageIds, and consumers dedupe through
/// their inbox. Events are published in outbox (commit) order.
///
/// Up to max_batches_in_flight batches are out at once: the next batch does not wait for the
/// confirms of the one before (with RabbitMQ they follow the broker's disk write, milliseconds
/// under load, and every event committed meanwhile waited that long). The store is read only
/// when nothing is in flight, so a read never publishes a row that is in flight. When a batch
/// fails, the relay waits for the others in flight, then reads back every row not marked sent
/// and publishes it again; a batch that failed can then arrive after later ones that did not
/// (a broker refusal, basic.nack, is the only way to fail one batch and not the next: a lost
/// connection fails them all). An event is caused by another only after that one was delivered,
/// so the causal order of a saga holds either way.
///
/// When the store hands a commit's events to its listener (SQLite does), the relay publishes
/// them from memory instead of reading them back: committed sequence numbers have no gaps, so
/// a handed-over event whose sequence follows the last one published is the next unsent event.
/// Anything else — the first drain, a gap (another process writing to the same file, events
/// dropped beyond handed_over_capacity), a failure — goes back to reading the store.
///
/// One relay thread. It wakes on Notify() (by default wired to the store's outbox listener by
/// Start), or every poll_interval, and on Start first drains whatever a previous process left
/// unsent.
///
/// Lifetime: `store` and `bus` must outlive the relay. The listener Start() installs stays
/// valid after the relay is destroyed (it only touches state shared with it), so the store may
/// outlive the relay. Start/Stop are called by one owner thread; Notify, Stats and Backlog are
/// thread-safe.
class OutboxRelay {
 public:
  OutboxRelay(Store& store, EventBus& bus, OutboxRelayOptions options = {});
  /// Stops (see Stop).
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  /// Installs the outbox listener (unless disabled) and starts the relay thread, which begins
  /// by draining the backlog. Calling it again, or after Stop, does nothing.
  void Start();
  /// Wakes the thread, joins it, then waits for the outcome of the batches in flight (the bus
  /// reports each within its confirm timeout). Events not yet marked sent stay in the outbox
  /// and are re-sent by the next relay. Idempotent.
  void Stop();
  /// Asks the relay to look at the outbox now (cheap; callable from the store's writer thread).
  void Notify();

  OutboxRelayStats Stats() const;
  /// Unsent events, counting at most `cap` (Store::CountPendingOutbox: a count, no parsing).
  Result<size_t> Backlog(size_t cap = 10'000) const;

 private:
  struct Signal;
  enum class DrainOutcome { kEmpty, kFailed, kStopped };

  void Run();
  DrainOutcome Drain();
  /// Moves handed-over events that follow next_sequence_ without a gap, at most a batch, into
  /// `events` and `sequences`; drops those already published. Called with the signal's lock.
  void TakeHandedOver(std::vector<Envelope>& events, std::vector<int64_t>& sequences);
  /// Drops handed-over events before `sequence` (published already). With the signal's lock.
  void DropHandedBefore(int64_t sequence);
  /// Waits up to `timeout`; Notify() ends the wait early only when `wake_on_notify`. Returns
  /// false when stopping.
  bool Wait(std::chrono::milliseconds timeout, bool wake_on_notify);
  void RecordFailure(bool publish, std::string message);
  /// Publishes one batch without waiting (EventBus::PublishAsync); its completion records the
  /// outcome and queues the deletion of its rows.
  void PublishInFlight(std::vector<Envelope> events, std::vector<int64_t> sequences,
                       bool handed_over);
  /// Waits until no batch is in flight (or stopping). Returns false when stopping.
  bool WaitForInFlight();

  Store& store_;
  EventBus& bus_;
  const OutboxRelayOptions options_;
  const std::shared_ptr<Signal> signal_;

  mutable std::mutex stats_mutex_;
  OutboxRelayStats stats_;

  bool started_ = false;
  std::thread thread_;
  // Relay thread only: the sequence of the next unsent event, when the last drain knows it.
  std::optional<int64_t> next_sequence_;
};

}  // namespace shopflow
