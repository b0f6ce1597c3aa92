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
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, options_.flush_interval, [this] {
      return stopping_ || flush_requested_ || buffer_.size() >= options_.batch_size;
    });
    flush_requested_ = false;
    const bool stop = stopping_;
    lock.unlock();
    DrainOnce();
    if (!stop && Steady::now() >= next_prune) {
      bool more = false;
      auto pruned = Prune(&more);
      if (!pruned) {
        spdlog::warn("message log: retention pass failed: {}", pruned.error().message);
      }
      // Behind: go on after the next drain (the buffer is written between passes). After a
      // failed pass only the interval brings the next one: a store that refuses deletes would
      // otherwise be asked (and warned about) after every drain.
      next_prune = more && pruned ? Steady::now() : Steady::now() + options_.prune_interval;
    }
    lock.lock();
    if (stop && buffer_.empty()) break;
  }
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
  const int64_t partition_rows = LogPartitionRows(options_.max_count);
  for (size_t begin = 0; begin < rows.size(); begin += options_.batch_size) {
    const auto chunk = rows.subspan(begin, std::min(options_.batch_size, rows.size() - begin));
    int64_t cleared = 0;
    auto written = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
      auto appended =
          AppendToLog(txn, chunk.size(), partition_rows,
                      [&](Transaction& t, std::string_view partition, size_t i) -> Result<void> {
                        const PendingRow& row = chunk[i];
                        const auto known = row.keys.Known();
                        return t.InsertTextIndexed(partition, row.id, row.text, known);
                      });
      if (!appended) return std::move(appended).error();
      cleared = *appended;
      return Ok();
    });
    {
      std::lock_guard lock(mutex_);
      if (written) {
        stats_.written += chunk.size();
        stats_.pruned += static_cast<uint64_t>(cleared);
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

Result<int64_t> MessageLogger::RemoveOldest(const std::string& partition,
                                            const std::vector<FieldFilter>& filters,
                                            int64_t at_most, size_t* rounds, bool* more) {
  int64_t removed = 0;
  while (at_most > 0) {
    if (*rounds == 0) {
      // Stopped at the pass's bound with rows possibly left.
      if (more) *more = true;
      return removed;
    }
    --*rounds;
    const auto limit = std::min<int64_t>(at_most, static_cast<int64_t>(options_.prune_batch));
    int64_t batch = 0;
    // One statement per batch, no row read: reading and parsing each removed row first made
    // retention a quarter of the process's CPU at 300 orders/s.
    auto removed_batch = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
      auto n = txn.RemoveFirst(partition, filters, limit);
      if (!n) return std::move(n).error();
      batch = *n;
      return Ok();
    });
    if (!removed_batch) return std::move(removed_batch).error();
    removed += batch;
    at_most -= batch;
    if (batch < limit) break;
  }
  return removed;
}

Result<int64_t> MessageLogger::TrimToCount(bool* more) {
  LogRing ring;
  std::vector<int64_t> rows(kLogPartitions, 0);
  auto counted = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto read = ReadLogRing(txn);
    if (!read) return std::move(read).error();
    ring = *read;
    for (int p = 0; p < kLogPartitions; ++p) {
      auto n = txn.Count(LogPartition(p), {});
      if (!n) return std::move(n).error();
      rows[static_cast<size_t>(p)] = *n;
    }
    return Ok();
  });
  if (!counted) return std::move(counted).error();
  int64_t total = 0;
  for (int64_t n : rows) total += n;
  int64_t removed = 0;
  size_t rounds = options_.prune_max_batches;
  for (int p : LogPartitionsOldestFirst(ring)) {
    const int64_t excess = total - options_.max_count;
    const int64_t held = rows[static_cast<size_t>(p)];
    if (excess <= 0) break;
    if (held == 0) continue;
    if (held <= excess && p != ring.current) {
      // Every row of this partition must go: at once, unless another process made it the
      // current one since it was counted.
      int64_t cleared = 0;
      auto done = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
        auto now = ReadLogRing(txn);
        if (!now) return std::move(now).error();
        if (now->current == p) return Ok();
        auto n = txn.Clear(LogPartition(p));
        if (!n) return std::move(n).error();
        cleared = *n;
        return Ok();
      });
      if (!done) return std::move(done).error();
      removed += cleared;
      total -= cleared;
      continue;
    }
    bool stopped = false;
    auto trimmed = RemoveOldest(LogPartition(p), {}, std::min(excess, held), &rounds, &stopped);
    if (!trimmed) return std::move(trimmed).error();
    removed += *trimmed;
    total -= *trimmed;
    if (stopped) {
      if (more) *more = true;
      break;
    }
  }
  return removed;
}

Result<int64_t> MessageLogger::Prune(bool* more) {
  std::lock_guard prune(prune_mutex_);
  int64_t removed = 0;
  if (options_.max_age.count() > 0) {
    const std::string cutoff = FormatRfc3339(clock_.Now() - options_.max_age);
    const std::vector<FieldFilter> aged = {FieldFilter{"createdAt", FieldFilter::Op::kLte, cutoff}};
    LogRing ring;
    auto read = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
      auto r = ReadLogRing(txn);
      if (!r) return std::move(r).error();
      ring = *r;
      return Ok();
    });
    if (!read) return std::move(read).error();
    size_t rounds = options_.prune_max_batches;
    for (int p : LogPartitionsOldestFirst(ring)) {
      auto gone =
          RemoveOldest(LogPartition(p), aged, std::numeric_limits<int64_t>::max(), &rounds, more);
      if (!gone) return std::move(gone).error();
      removed += *gone;  // out of rounds, the later partitions only set *more
    }
  }
  if (options_.max_count > 0) {
    auto trimmed = TrimToCount(more);
    if (!trimmed) return std::move(trimmed).error();
    removed += *trimmed;
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
