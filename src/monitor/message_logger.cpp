#include "monitor/message_logger.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "core/thread_name.hpp"
#include "events/event_types.hpp"

namespace shopflow::monitor {
namespace {
MessageLoggerOptions Normalized(MessageLoggerOptions options) {
  options.batch_size = std::max<size_t>(options.batch_size, 1);
  options.prune_batch = std::max<size_t>(options.prune_batch, 1);
  return options;
}
}  // namespace

MessageLogger::MessageLogger(Store& store, Topology topology, const Clock& clock,
                             MessageLoggerOptions options)
    : store_(store),
      topology_(std::move(topology)),
      clock_(clock),
      options_(Normalized(options)),
      ids_(clock) {}

MessageLogger::~MessageLogger() { Stop(); }

void MessageLogger::Start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] {
    SetThreadName("message-log");
    Run();
  });
}

void MessageLogger::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  space_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    DrainOnce();  // never started: write what was observed anyway
  }
  written_.notify_all();
}

bool MessageLogger::RefuseIfFull(size_t n) {
  std::lock_guard lock(mutex_);
  // A started logger makes room (Accept waits for it); a stopped or never started one cannot.
  if (!stopping_ && (started_ || buffer_.size() < options_.max_buffered)) return false;
  stats_.dropped += n;
  return true;
}

void MessageLogger::OnPublished(std::span<const Envelope> batch) {
  if (RefuseIfFull(batch.size())) return;  // not even a row's text when it would be dropped
  std::vector<PendingRow> out;
  out.reserve(batch.size());
  const TimePoint now = clock_.Now();
  for (const auto& e : batch) {
    MessageFacts f;
    f.row_id = ids_.Next();
    f.status = message_status::kPublished;
    f.exchange = topology_.events_exchange;
    f.routing_key = std::string(RoutingKeyFor(e.event_type).value_or(""));
    f.module = e.metadata.source;
    f.at = now;
    MessageRowKeys keys;
    std::string text = ToMessageRowText(f, e, &keys);
    out.push_back(PendingRow{std::move(f.row_id), std::move(text), std::move(keys)});
  }
  Accept(std::move(out));
}

void MessageLogger::OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                              std::chrono::nanoseconds took) {
  if (RefuseIfFull(1)) return;
  MessageFacts f;
  f.row_id = ids_.Next();
  switch (outcome.kind) {
    case HandlerOutcome::Kind::kAck:
      f.status = message_status::kConsumed;
      break;
    case HandlerOutcome::Kind::kRetry:
      f.status = message_status::kFailed;
      break;
    case HandlerOutcome::Kind::kDeadLetter:
      f.status = message_status::kDeadLettered;
      break;
  }
  const QueueSpec* queue = topology_.FindQueue(delivery.queue);
  f.exchange = queue && queue->role == QueueRole::kDeadLetter ? topology_.dead_letter_exchange
                                                              : topology_.events_exchange;
  f.routing_key = delivery.routing_key;
  f.queue = delivery.queue;
  if (const ModuleQueues* owner = topology_.ModuleOfQueue(delivery.queue)) f.module = owner->module;
  f.attempt = delivery.attempt;
  f.reason = outcome.reason;
  f.duration_ms = std::chrono::duration<double, std::milli>(took).count();
  f.at = clock_.Now();
  MessageRowKeys keys;
  std::string text = ToMessageRowText(f, delivery.envelope, &keys);
  std::vector<PendingRow> one;
  one.push_back(PendingRow{std::move(f.row_id), std::move(text), std::move(keys)});
  Accept(std::move(one));
}

void MessageLogger::Accept(std::vector<PendingRow> observations) {
  bool wake = false;
  {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + options_.max_wait_for_space;
    for (auto& o : observations) {
      if (!stopping_ && started_ && buffer_.size() >= options_.max_buffered &&
          options_.max_wait_for_space.count() > 0) {
        flush_requested_ = true;  // the writer may be waiting for a fuller buffer or its timer
        wake_.notify_one();
        space_.wait_until(lock, deadline,
                          [&] { return stopping_ || buffer_.size() < options_.max_buffered; });
      }
      if (stopping_ || buffer_.size() >= options_.max_buffered) {
        ++stats_.dropped;
        continue;
      }
      buffer_.push_back(std::move(o));
      ++stats_.observed;
      ++accepted_seq_;
    }
    wake = buffer_.size() >= options_.batch_size;
  }
  if (wake) wake_.notify_one();
}

void MessageLogger::Flush() {
  bool inline_drain = false;
  uint64_t target = 0;
  {
    std::lock_guard lock(mutex_);
    target = accepted_seq_;
    inline_drain = !started_;
    flush_requested_ = true;
  }
  if (inline_drain) {
    DrainOnce();
    return;
  }
  wake_.notify_one();
  std::unique_lock lock(mutex_);
  written_.wait(lock, [&] { return processed_seq_ >= target; });
}

void MessageLogger::Run() {
  using Steady = std::chrono::steady_clock;
  // A first pass at once: a process starting over a log beyond its bounds trims it first.
  auto next_prune = Steady::now();
  // After a failed pass only the interval brings the next one: a store that refuses deletes
  // would otherwise be asked (and warned about) after every drain.
  bool last_pass_failed = false;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, options_.flush_interval, [this] {
      return stopping_ || flush_requested_ || buffer_.size() >= options_.batch_size;
    });
    flush_requested_ = false;
    const bool stop = stopping_;
    lock.unlock();
    DrainOnce();
    if (!stop && (Steady::now() >= next_prune || (!last_pass_failed && OverCount()))) {
      bool more = false;
      auto pruned = Prune(&more);
      last_pass_failed = !pruned;
      if (!pruned) {
        spdlog::warn("message log: retention pass failed: {}", pruned.error().message);
      }
      // Behind: go on after the next drain (the buffer is written between passes).
      next_prune = more ? Steady::now() : Steady::now() + options_.prune_interval;
    }
    lock.lock();
    if (stop && buffer_.empty()) break;
  }
}

bool MessageLogger::OverCount() const {
  std::lock_guard lock(mutex_);
  return options_.max_count > 0 && rows_estimate_ >= 0 &&
         rows_estimate_ >= options_.max_count + static_cast<int64_t>(options_.prune_batch);
}

void MessageLogger::DrainOnce() {
  std::lock_guard drain(drain_mutex_);
  std::vector<PendingRow> taken;
  {
    std::lock_guard lock(mutex_);
    taken.swap(buffer_);
  }
  space_.notify_all();
  if (!taken.empty()) WriteRows(taken);
  {
    std::lock_guard lock(mutex_);
    processed_seq_ += taken.size();
  }
  written_.notify_all();
}

void MessageLogger::WriteRows(std::span<const PendingRow> rows) {
  for (size_t begin = 0; begin < rows.size(); begin += options_.batch_size) {
    const auto chunk = rows.subspan(begin, std::min(options_.batch_size, rows.size() - begin));
    auto written = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
      for (const auto& row : chunk) {
        const auto known = row.keys.Known();
        if (auto inserted = txn.InsertTextIndexed(kMessagesCollection, row.id, row.text, known);
            !inserted) {
          return inserted;
        }
      }
      return Ok();
    });
    {
      std::lock_guard lock(mutex_);
      if (written) {
        stats_.written += chunk.size();
        if (rows_estimate_ >= 0) rows_estimate_ += static_cast<int64_t>(chunk.size());
        ++stats_.batches;
      } else {
        stats_.lost += chunk.size();
        ++stats_.write_failures;
      }
    }
    if (!written) {
      spdlog::warn("message log: {} rows lost: {}", chunk.size(), written.error().message);
    }
  }
}

Result<int64_t> MessageLogger::RemoveOldest(const std::vector<FieldFilter>& filters,
                                            int64_t at_most, bool* more) {
  int64_t removed = 0;
  for (size_t round = 0; round < options_.prune_max_batches && at_most > 0; ++round) {
    const auto limit = std::min<int64_t>(at_most, static_cast<int64_t>(options_.prune_batch));
    int64_t batch = 0;
    // One statement per batch, no row read: reading and parsing each removed row first made
    // retention a quarter of the process's CPU at 300 orders/s.
    auto removed_batch = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
      auto n = txn.RemoveFirst(kMessagesCollection, filters, limit);
      if (!n) return std::move(n).error();
      batch = *n;
      return Ok();
    });
    if (!removed_batch) return std::move(removed_batch).error();
    removed += batch;
    at_most -= batch;
    {
      std::lock_guard lock(mutex_);
      if (rows_estimate_ >= 0) rows_estimate_ = std::max<int64_t>(rows_estimate_ - batch, 0);
    }
    if (batch < limit) return removed;
  }
  // Stopped at the pass's bound with rows possibly left.
  if (more && at_most > 0) *more = true;
  return removed;
}

Result<int64_t> MessageLogger::Prune(bool* more) {
  std::lock_guard prune(prune_mutex_);
  using Steady = std::chrono::steady_clock;
  int64_t removed = 0;
  if (options_.max_age.count() > 0) {
    const std::string cutoff = FormatRfc3339(clock_.Now() - options_.max_age);
    auto aged = RemoveOldest({FieldFilter{"createdAt", FieldFilter::Op::kLte, cutoff}},
                             std::numeric_limits<int64_t>::max(), more);
    if (!aged) return std::move(aged).error();
    removed += *aged;
  }
  if (options_.max_count > 0) {
    // Counting reads the whole index (O(rows)); a catch-up pass right after the previous one
    // uses the count kept since (rows written minus rows removed) instead. Other processes
    // sharing the log make that an estimate, corrected by the next exact count.
    int64_t total = -1;
    {
      std::lock_guard lock(mutex_);
      if (rows_estimate_ >= 0 && Steady::now() - last_exact_count_ < options_.prune_interval) {
        total = rows_estimate_;
      }
    }
    if (total < 0) {
      auto counted = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
        auto n = txn.Count(kMessagesCollection, {});
        if (!n) return std::move(n).error();
        total = *n;
        return Ok();
      });
      if (!counted) return std::move(counted).error();
      std::lock_guard lock(mutex_);
      rows_estimate_ = total;
      last_exact_count_ = Steady::now();
    }
    if (total > options_.max_count) {
      auto excess = RemoveOldest({}, total - options_.max_count, more);
      if (!excess) return std::move(excess).error();
      removed += *excess;
    }
  }
  std::lock_guard lock(mutex_);
  stats_.pruned += static_cast<uint64_t>(removed);
  ++stats_.prune_passes;
  return removed;
}

MessageLoggerStats MessageLogger::Stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace shopflow::monitor
