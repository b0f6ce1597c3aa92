#include "storage/outbox_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <set>
#include <utility>
#include <vector>

#include "core/thread_name.hpp"

namespace shopflow {

// Shared with the store's listener so that a listener call after the relay is gone is harmless.
struct OutboxRelay::Signal {
  std::mutex mutex;
  std::condition_variable cv;
  bool notified = false;
  bool stopping = false;
  // Published events whose deletion is queued but not committed yet: the next read skips them
  // instead of waiting for the deletion (or publishing them twice).
  std::set<int64_t> marking;
  // Deletions that failed since the relay last looked: their events are published again.
  uint64_t mark_failures = 0;
  std::string mark_error;
  // Events the store handed over at commit, in sequence order, not taken by a drain yet.
  std::deque<OutboxRecord> handed;
  size_t handed_capacity = 0;
  // Batches published whose outcome has not come yet, and the failures among those that came.
  size_t in_flight = 0;
  // The relay waits for a completion (its window is full, or it must read and cannot while
  // batches are in flight): only then does a successful completion wake it.
  bool awaits_completion = false;
  uint64_t publish_failures = 0;
  std::string publish_error;

  void Notify() {
    {
      std::lock_guard lock(mutex);
      notified = true;
    }
    cv.notify_all();
  }

  void HandOver(std::vector<OutboxRecord> committed) {
    {
      std::lock_guard lock(mutex);
      notified = true;
      // Past the capacity the events are left to be read back: the gap they leave sends the
      // relay to the store once it reaches them.
      if (handed.size() + committed.size() <= handed_capacity) {
        for (auto& record : committed) handed.push_back(std::move(record));
      }
    }
    cv.notify_all();
  }
};

OutboxRelay::OutboxRelay(Store& store, EventBus& bus, OutboxRelayOptions options)
    : store_(store), bus_(bus), options_(std::move(options)), signal_(std::make_shared<Signal>()) {
  signal_->handed_capacity = options_.handed_over_capacity;
}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  if (started_) return;
  started_ = true;
  if (options_.register_listener) {
    store_.SetOutboxListener([signal = signal_](std::vector<OutboxRecord> committed) {
      signal->HandOver(std::move(committed));
    });
  }
  thread_ = std::thread([this] {
    SetThreadName("outbox-relay");
    Run();
  });
}

void OutboxRelay::Stop() {
  started_ = true;  // a stopped relay cannot be started again
  {
    std::lock_guard lock(signal_->mutex);
    signal_->stopping = true;
  }
  signal_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
  // The completions of batches in flight touch this relay (stats, the store): wait for them.
  std::unique_lock lock(signal_->mutex);
  signal_->cv.wait(lock, [&] { return signal_->in_flight == 0; });
}

void OutboxRelay::Notify() { signal_->Notify(); }

OutboxRelayStats OutboxRelay::Stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

Result<size_t> OutboxRelay::Backlog(size_t cap) const { return store_.CountPendingOutbox(cap); }

void OutboxRelay::Run() {
  auto backoff = options_.initial_backoff;
  for (;;) {
    switch (Drain()) {
      case DrainOutcome::kStopped:
        return;
      case DrainOutcome::kFailed:
        // Notifications do not cut the backoff short: a busy writer would otherwise turn it
        // into a hot retry loop against a broker that is down.
        if (!Wait(backoff, /*wake_on_notify=*/false)) return;
        backoff = std::min(backoff * 2, options_.max_backoff);
        break;
      case DrainOutcome::kEmpty:
        backoff = options_.initial_backoff;
        if (!Wait(options_.poll_interval, /*wake_on_notify=*/true)) return;
        break;
    }
  }
}

OutboxRelay::DrainOutcome OutboxRelay::Drain() {
  for (;;) {
    // Taken before the read: a deletion committed before this copy is visible to the read (its
    // rows are gone), and one still queued now is skipped by the copy, even if it commits while
    // the read runs. (Filtering with the live set would miss rows deleted during the read but
    // still in its snapshot, and publish them twice.)
    std::set<int64_t> marking;
    uint64_t mark_failures = 0;
    uint64_t publish_failures = 0;
    std::string error;
    std::vector<Envelope> events;
    std::vector<int64_t> sequences;
    {
      std::unique_lock lock(signal_->mutex);
      if (signal_->stopping) return DrainOutcome::kStopped;
      signal_->awaits_completion = false;
      if (signal_->mark_failures > 0 || signal_->publish_failures > 0) {
        // Every row not marked sent is read back and published again: wait until none is in
        // flight, so that the read sees (and skips) the rows of those that succeed meanwhile.
        signal_->cv.wait(lock, [&] { return signal_->stopping || signal_->in_flight == 0; });
        if (signal_->stopping) return DrainOutcome::kStopped;
        mark_failures = std::exchange(signal_->mark_failures, 0);
        publish_failures = std::exchange(signal_->publish_failures, 0);
        error = std::move(publish_failures > 0 ? signal_->publish_error : signal_->mark_error);
      } else if (signal_->in_flight < options_.max_batches_in_flight) {
        TakeHandedOver(events, sequences);
        // Nothing handed over that follows on: the store is read, but only once nothing is in
        // flight (a read would publish again what is on its way). A completion wakes the relay.
        if (events.empty() && signal_->in_flight > 0) {
          signal_->awaits_completion = true;
          return DrainOutcome::kEmpty;
        }
        if (events.empty()) marking = signal_->marking;
      } else {
        signal_->awaits_completion = true;  // the window is full
        return DrainOutcome::kEmpty;
      }
    }
    if (mark_failures > 0 || publish_failures > 0) {
      // The events are out or refused; they are read and published again (same messageIds)
      // once the store or broker recovers, and consumers dedupe them. They precede
      // next_sequence_: forget it.
      next_sequence_.reset();
      if (publish_failures > 0) {
        RecordFailure(true, error);
      } else {
        RecordFailure(false, "marking outbox events sent failed: " + error);
      }
      return DrainOutcome::kFailed;
    }
    const bool handed_over = !events.empty();
    if (!handed_over) {
      // Rows whose deletion is still queued come first: read past them.
      auto pending = store_.PendingOutbox(options_.batch_size + marking.size());
      if (!pending) {
        RecordFailure(false, "reading the outbox failed: " + pending.error().message);
        return DrainOutcome::kFailed;
      }
      events.reserve(pending->size());
      sequences.reserve(pending->size());
      for (auto& record : *pending) {
        if (marking.contains(record.sequence)) continue;
        if (events.size() == options_.batch_size) break;
        sequences.push_back(record.sequence);
        events.push_back(std::move(record.event));
      }
      if (events.empty()) return DrainOutcome::kEmpty;
    }
    next_sequence_ = sequences.back() + 1;
    {
      // Handed-over copies of what a read is publishing take no room meanwhile.
      std::lock_guard lock(signal_->mutex);
      DropHandedBefore(*next_sequence_);
    }
    const bool full = events.size() == options_.batch_size;
    PublishInFlight(std::move(events), std::move(sequences), handed_over);
    if (!full) return DrainOutcome::kEmpty;
  }
}

void OutboxRelay::PublishInFlight(std::vector<Envelope> events, std::vector<int64_t> sequences,
                                  bool handed_over) {
  {
    std::lock_guard lock(signal_->mutex);
    ++signal_->in_flight;
  }
  const size_t count = events.size();
  // May run inline (a synchronous bus) or on the bus's thread, after this relay moved on.
  auto done = [this, signal = signal_, sequences = std::move(sequences), count,
               handed_over](Result<void> published) mutable {
    if (published) {
      {
        std::lock_guard lock(stats_mutex_);
        stats_.relayed += count;
        if (handed_over) stats_.handed_over += count;
      }
      {
        std::lock_guard lock(signal->mutex);
        signal->marking.insert(sequences.begin(), sequences.end());
      }
      // Deleted with the store's next group commit; the relay goes on meanwhile (waiting for
      // that commit made every hop of the saga one writer round trip longer).
      store_.MarkOutboxSentLater(sequences, [signal, sequences](Result<void> marked) {
        {
          std::lock_guard lock(signal->mutex);
          for (const int64_t sequence : sequences) signal->marking.erase(sequence);
          if (!marked) {
            ++signal->mark_failures;
            signal->mark_error = marked.error().message;
            signal->notified = true;
          }
        }
        if (!marked) signal->cv.notify_all();
      });
    }
    {
      // The last touch of the relay: Stop() waits for in_flight to reach 0.
      std::lock_guard lock(signal->mutex);
      if (!published) {
        ++signal->publish_failures;
        signal->publish_error = "publishing " + std::to_string(count) +
                                " outbox events failed: " + published.error().message;
      }
      --signal->in_flight;
      // Waking the relay after every batch would send it to the store each time (nothing handed
      // over yet, nothing in flight: a read); only a relay that waits for this is woken.
      if (!published || signal->awaits_completion) signal->notified = true;
    }
    signal->cv.notify_all();  // Stop() and a relay waiting to read back wait for in_flight
  };
  bus_.PublishAsync(events, std::move(done));
}

void OutboxRelay::TakeHandedOver(std::vector<Envelope>& events, std::vector<int64_t>& sequences) {
  auto& handed = signal_->handed;
  if (!next_sequence_) {
    // Until a read tells where the outbox stands, only a read may publish; what it reads is
    // dropped from here afterwards.
    return;
  }
  DropHandedBefore(*next_sequence_);
  int64_t expected = *next_sequence_;
  while (!handed.empty() && handed.front().sequence == expected &&
         events.size() < options_.batch_size) {
    sequences.push_back(expected++);
    events.push_back(std::move(handed.front().event));
    handed.pop_front();
  }
}

void OutboxRelay::DropHandedBefore(int64_t sequence) {
  auto& handed = signal_->handed;
  while (!handed.empty() && handed.front().sequence < sequence) handed.pop_front();
}

bool OutboxRelay::Wait(std::chrono::milliseconds timeout, bool wake_on_notify) {
  std::unique_lock lock(signal_->mutex);
  signal_->cv.wait_for(lock, timeout,
                       [&] { return signal_->stopping || (wake_on_notify && signal_->notified); });
  // A notification that arrived during a drain or a backoff is consumed here: the drain that
  // follows will see its rows.
  signal_->notified = false;
  return !signal_->stopping;
}

void OutboxRelay::RecordFailure(bool publish, std::string message) {
  spdlog::warn("OutboxRelay: {}", message);
  std::lock_guard lock(stats_mutex_);
  (publish ? stats_.publish_failures : stats_.store_failures) += 1;
  stats_.last_error = std::move(message);
}

}  // namespace shopflow
