#include "storage/outbox_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
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

  void Notify() {
    {
      std::lock_guard lock(mutex);
      notified = true;
    }
    cv.notify_all();
  }
};

OutboxRelay::OutboxRelay(Store& store, EventBus& bus, OutboxRelayOptions options)
    : store_(store), bus_(bus), options_(std::move(options)), signal_(std::make_shared<Signal>()) {}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  if (started_) return;
  started_ = true;
  if (options_.register_listener) {
    store_.SetOutboxListener([signal = signal_] { signal->Notify(); });
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
    {
      std::lock_guard lock(signal_->mutex);
      if (signal_->stopping) return DrainOutcome::kStopped;
    }
    auto pending = store_.PendingOutbox(options_.batch_size);
    if (!pending) {
      RecordFailure(false, "reading the outbox failed: " + pending.error().message);
      return DrainOutcome::kFailed;
    }
    if (pending->empty()) return DrainOutcome::kEmpty;

    std::vector<Envelope> events;
    std::vector<int64_t> sequences;
    events.reserve(pending->size());
    sequences.reserve(pending->size());
    for (auto& record : *pending) {
      sequences.push_back(record.sequence);
      events.push_back(std::move(record.event));
    }
    if (auto published = bus_.Publish(events); !published) {
      RecordFailure(true, "publishing " + std::to_string(events.size()) +
                              " outbox events failed: " + published.error().message);
      return DrainOutcome::kFailed;
    }
    {
      std::lock_guard lock(stats_mutex_);
      stats_.relayed += events.size();
    }
    if (auto marked = store_.MarkOutboxSent(sequences); !marked) {
      // The events are out; they will be published again (same messageIds) once the store
      // recovers, and consumers dedupe them.
      RecordFailure(false, "marking outbox events sent failed: " + marked.error().message);
      return DrainOutcome::kFailed;
    }
    if (pending->size() < options_.batch_size) return DrainOutcome::kEmpty;
  }
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
