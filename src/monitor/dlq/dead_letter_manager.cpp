#include "monitor/dlq/dead_letter_manager.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "monitor/dlq/dead_letter_records.hpp"
#include "monitor/dlq/dlq_overview.hpp"
#include "storage/await.hpp"

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {

json::array Strings(const std::vector<std::string>& values) {
  json::array out;
  for (const auto& v : values) out.emplace_back(v);
  return out;
}

// The error a caller sees when the broker refused a re-drive: transient failures (broker down,
// bus stopped) are 503 unavailable; anything else (e.g. the original queue is no longer in the
// topology) cannot succeed by retrying and is a conflict with the record's state.
Error SendFailure(const Error& cause, size_t moved, size_t claimed) {
  std::string message = "re-drove " + std::to_string(moved) + " of " + std::to_string(claimed) +
                        " message(s); the others are dead again: " + cause.message;
  if (cause.code == ErrorCode::kUnavailable || cause.code == ErrorCode::kInternal) {
    return UnavailableError(std::move(message));
  }
  return ConflictError(std::move(message));
}

std::string InQueue(const std::optional<std::string>& queue) {
  return queue ? " in " + *queue : "";
}

}  // namespace

DeadLetterManager::DeadLetterManager(Store& store, EventBus& bus, Topology topology,
                                     const Clock& clock, DlqOptions options, DlqAlertFn on_alert)
    : store_(store),
      bus_(bus),
      topology_(std::move(topology)),
      clock_(clock),
      options_(std::move(options)),
      on_alert_(std::move(on_alert)),
      pacer_(options_.pacer ? options_.pacer : std::make_shared<SteadyTimerPacer>()),
      limiter_(options_.redrive_rate) {}

DeadLetterManager::~DeadLetterManager() { Stop(); }

std::vector<CollectionSpec> DeadLetterManager::Collections() { return DlqCollections(); }

void DeadLetterManager::SubscribeAll(EventBus& bus) {
  for (const auto& module : topology_.modules) {
    if (module.dead_letter_queue.empty()) continue;
    bus.Subscribe(
        module.dead_letter_queue, [this](const Delivery& d) { return HandleDeadLetter(d); },
        SubscribeOptions{});
  }
}

// --- consuming dead letters ----------------------------------------------------------------

HandlerOutcome DeadLetterManager::HandleDeadLetter(const Delivery& delivery) {
  const DeadLetterRecord record = RecordFromDelivery(delivery, topology_, clock_.Now());
  // A redelivery of this very dead-letter message carries the same x-last-failure; the same
  // message dead-lettered again later (after a re-drive) carries a new one and is a new record.
  const std::string_view last_failure = delivery.Header(dead_letter_headers::kLastFailure);
  const std::string inbox_key = last_failure.empty() ? std::string()
                                                     : delivery.queue + "|" + record.message_id +
                                                           "|" + std::string(last_failure);

  std::optional<CountSnapshot> snapshot;
  auto written = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
    snapshot.reset();
    if (!inbox_key.empty()) {
      auto fresh = txn.MarkApplied(options_.consumer, inbox_key);
      if (!fresh) return std::move(fresh).error();
      if (!*fresh) return Ok();  // already stored
    }
    if (auto stored = StoreDeadLetter(txn, record); !stored) return std::move(stored).error();
    auto count = SnapshotCount(txn);
    if (!count) return std::move(count).error();
    snapshot = *count;
    return Ok();
  });
  if (!written) {
    const Error& error = written.error();
    if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kInternal) {
      return HandlerOutcome::Retry(error.message);
    }
    spdlog::error("dlq: cannot store dead letter {} from {}: {}; envelope: {}", record.message_id,
                  delivery.queue, error.message, ToJsonText(record.envelope));
    return HandlerOutcome::DeadLetter(error.message);
  }
  if (snapshot) ApplyCount(*snapshot);
  return HandlerOutcome::Ack();
}

// --- dead count and alert ------------------------------------------------------------------

Result<DeadLetterManager::CountSnapshot> DeadLetterManager::SnapshotCount(Transaction& txn) {
  auto dead = CountDead(txn);
  if (!dead) return std::move(dead).error();
  // Write fns run one at a time on the store's writer: the sequence orders the counts as the
  // commits are ordered, so a late-applied older count never overwrites a newer one.
  return CountSnapshot{next_sequence_.fetch_add(1) + 1, *dead};
}

void DeadLetterManager::ApplyCount(const CountSnapshot& snapshot) {
  std::lock_guard lock(count_mutex_);
  if (snapshot.sequence <= applied_sequence_) return;
  applied_sequence_ = snapshot.sequence;
  const int64_t threshold = options_.alert_threshold;
  if (!count_known_) {
    count_known_ = true;
    armed_ = threshold <= 0 || snapshot.dead <= threshold;
  } else if (threshold > 0) {
    if (armed_ && snapshot.dead > threshold) {
      armed_ = false;
      // Posted under the lock, before the count is published: whoever sees the new count and
      // then calls WaitIdle() also waits for this alert.
      if (!worker_.Post([this, dead = snapshot.dead] { RaiseAlert(dead); })) {
        spdlog::warn(
            "dlq: {} dead letters exceed the alert threshold of {}, but the manager is "
            "stopped; no alert sent",
            snapshot.dead, threshold);
      }
    } else if (!armed_ && snapshot.dead <= threshold) {
      armed_ = true;
    }
  }
  dead_count_.store(snapshot.dead);
}

void DeadLetterManager::RaiseAlert(int64_t dead_count) {
  const TimePoint now = clock_.Now();
  json::array queues;
  auto read = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto counts = CountDeadByQueue(txn, topology_);
    if (!counts) return std::move(counts).error();
    for (const auto& [queue, count] : *counts) {
      if (count > 0) queues.push_back(json::object{{"queue", queue}, {"count", count}});
    }
    return Ok();
  });
  if (!read) spdlog::warn("dlq: alert without per-queue counts: {}", read.error().message);
  const json::object alert{
      {"type", "dlq_threshold_exceeded"},
      {"deadCount", dead_count},
      {"threshold", options_.alert_threshold},
      {"queues", std::move(queues)},
      {"message", std::to_string(dead_count) + " dead letters exceed the alert threshold of " +
                      std::to_string(options_.alert_threshold)},
      {"at", FormatRfc3339(now)}};
  spdlog::warn("dlq: {}", GetString(alert, "message"));
  if (on_alert_) {
    try {
      on_alert_(alert);
    } catch (const std::exception& e) {
      spdlog::error("dlq: the alert callback threw: {}", e.what());
    }
  }
  auto recorded = WriteAndWait(store_, [&](Transaction& txn) {
    return AppendAudit(
        txn, AuditEntry{std::string(audit_actions::kAlert), {}, Actor::System(), alert}, now);
  });
  if (!recorded) spdlog::error("dlq: cannot record the alert: {}", recorded.error().message);
}

// --- start-up and shutdown -----------------------------------------------------------------

Result<void> DeadLetterManager::Start() {
  std::optional<CountSnapshot> snapshot;
  auto counted = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
    auto count = SnapshotCount(txn);
    if (!count) return std::move(count).error();
    snapshot = *count;
    return Ok();
  });
  if (!counted) return counted;
  ApplyCount(*snapshot);
  auto recovered = RecoverRedriving();
  if (!recovered) return std::move(recovered).error();
  if (*recovered > 0) spdlog::info("dlq: re-sent {} interrupted re-drive(s)", *recovered);
  return Ok();
}

Result<int64_t> DeadLetterManager::RecoverRedriving() {
  DeadLetterFilter filter;
  filter.status = DeadLetterStatus::kRedriving;
  std::vector<DeadLetterRecord> records;
  auto read = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto matched = FindMatching(txn, filter, -1, /*newest_first=*/false);
    if (!matched) return std::move(matched).error();
    records = std::move(matched->records);
    return Ok();
  });
  if (!read) return std::move(read).error();
  if (records.empty()) return int64_t{0};

  std::vector<Claimed> claimed;
  SendReport report;
  for (const auto& r : records) {
    auto envelope = EnvelopeFromJson(r.envelope);
    if (!envelope) return InternalError("dead letter " + r.record_id + " has a corrupt envelope");
    envelope->metadata.retry_count = 0;
    claimed.push_back(
        Claimed{r.record_id, r.message_id, r.queue, r.original_queue, r.routing_key, *envelope});
  }
  // Start-up runs on the composition root's thread, which may block on the broker.
  for (size_t i = 0; i < claimed.size(); ++i) {
    if (auto sent = SendNow(claimed[i]); !sent) {
      report.failure = std::move(sent).error();
      break;
    }
    report.sent.push_back(i);
  }
  std::optional<CountSnapshot> snapshot;
  auto settled = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
    snapshot.reset();
    if (auto s = Settle(txn, claimed, report, audit_actions::kRedriveRecovered, Actor::System());
        !s) {
      return s;
    }
    auto count = SnapshotCount(txn);
    if (!count) return std::move(count).error();
    snapshot = *count;
    return Ok();
  });
  if (!settled) return std::move(settled).error();
  ApplyCount(*snapshot);
  if (report.failure) return SendFailure(*report.failure, report.sent.size(), claimed.size());
  return static_cast<int64_t>(report.sent.size());
}

void DeadLetterManager::Stop() { worker_.Stop(); }

void DeadLetterManager::WaitIdle() { worker_.Drain(); }

// --- re-drive ------------------------------------------------------------------------------

Result<void> DeadLetterManager::Claim(Transaction& txn,
                                      const std::vector<DeadLetterRecord>& records,
                                      std::string_view action, const Actor& actor,
                                      json::object details, std::vector<Claimed>& out) {
  const TimePoint now = clock_.Now();
  std::vector<std::string> ids;
  for (const auto& r : records) {
    auto moved = TransitionRecord(txn, r.record_id, DeadLetterStatus::kDead,
                                  DeadLetterStatus::kRedriving, now);
    if (!moved) return std::move(moved).error();
    if (!moved->has_value()) continue;  // claimed or discarded meanwhile
    auto envelope = EnvelopeFromJson((*moved)->envelope);
    if (!envelope) return InternalError("dead letter " + r.record_id + " has a corrupt envelope");
    // A re-drive is a first delivery (attempt 1); the messageId stays, so consumers dedupe.
    envelope->metadata.retry_count = 0;
    out.push_back(Claimed{r.record_id, r.message_id, r.queue, r.original_queue, r.routing_key,
                          std::move(*envelope)});
    ids.push_back(r.message_id);
  }
  return AppendAudit(
      txn, AuditEntry{std::string(action), std::move(ids), actor, std::move(details)}, now);
}

Result<void> DeadLetterManager::Settle(Transaction& txn, const std::vector<Claimed>& claimed,
                                       const SendReport& report, std::string_view completed_action,
                                       const Actor& actor) {
  const TimePoint now = clock_.Now();
  std::vector<bool> was_sent(claimed.size(), false);
  for (size_t i : report.sent) was_sent[i] = true;
  std::vector<std::string> sent_ids, failed_ids;
  json::array sent_queues, failed_queues;
  for (size_t i = 0; i < claimed.size(); ++i) {
    const DeadLetterStatus to = was_sent[i] ? DeadLetterStatus::kRedriven : DeadLetterStatus::kDead;
    auto moved = TransitionRecord(txn, claimed[i].record_id, DeadLetterStatus::kRedriving, to, now);
    if (!moved) return std::move(moved).error();
    (was_sent[i] ? sent_ids : failed_ids).push_back(claimed[i].message_id);
    (was_sent[i] ? sent_queues : failed_queues).emplace_back(claimed[i].original_queue);
  }
  if (!sent_ids.empty()) {
    auto appended = AppendAudit(
        txn,
        AuditEntry{std::string(completed_action), std::move(sent_ids), actor,
                   json::object{{"status", "redriven"}, {"sentTo", std::move(sent_queues)}}},
        now);
    if (!appended) return appended;
  }
  if (!failed_ids.empty()) {
    const std::string error = report.failure ? report.failure->message : "not sent";
    return AppendAudit(
        txn,
        AuditEntry{std::string(audit_actions::kRedriveFailed), std::move(failed_ids), actor,
                   json::object{
                       {"status", "dead"}, {"error", error}, {"queues", std::move(failed_queues)}}},
        now);
  }
  return Ok();
}

Result<void> DeadLetterManager::SendNow(const Claimed& claimed) {
  // The publisher's routing key travels in the header both transports read, so the consumer sees
  // the key it was published with.
  std::vector<std::pair<std::string, std::string>> headers;
  if (!claimed.routing_key.empty()) {
    headers.emplace_back(std::string(dead_letter_headers::kRoutingKey), claimed.routing_key);
  }
  return bus_.SendToQueue(claimed.original_queue, claimed.envelope, std::move(headers));
}

asio::awaitable<DeadLetterManager::SendReport> DeadLetterManager::SendAll(
    const std::vector<Claimed>& claimed, bool paced) {
  SendReport report;
  for (size_t i = 0; i < claimed.size(); ++i) {
    if (paced) co_await pacer_->SleepUntil(limiter_.Reserve(pacer_->Now()));
    // The job owns a copy: it must not reference this frame from the worker thread. It is named
    // rather than written inside the co_await: g++ 12 destroys a lambda temporary with
    // non-trivial by-value captures twice when it appears in a co_await expression (double free).
    std::function<Result<void>()> job = [this, c = claimed[i]] { return SendNow(c); };
    auto sent = co_await worker_.Run(std::move(job));
    if (!sent) {
      report.failure = std::move(sent).error();
      break;
    }
    report.sent.push_back(i);
  }
  co_return report;
}

asio::awaitable<Result<DeadLetterManager::SendReport>> DeadLetterManager::SendAndSettle(
    const std::vector<Claimed>& claimed, bool paced, const Actor& actor) {
  SendReport report = co_await SendAll(claimed, paced);
  std::optional<CountSnapshot> snapshot;
  auto settled = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    snapshot.reset();
    if (auto s = Settle(txn, claimed, report, audit_actions::kRedriveCompleted, actor); !s) {
      return s;
    }
    auto count = SnapshotCount(txn);
    if (!count) return std::move(count).error();
    snapshot = *count;
    return Ok();
  });
  // Not settled: the sent records stay `redriving` and are re-sent (harmlessly) at start-up.
  if (!settled) co_return std::move(settled).error();
  ApplyCount(*snapshot);
  co_return report;
}

asio::awaitable<Result<std::vector<DeadLetterManager::Claimed>>> DeadLetterManager::ClaimAndRedrive(
    ClaimSelector select, bool paced, const Actor& actor) {
  std::vector<Claimed> claimed;
  std::optional<CountSnapshot> snapshot;
  auto claim = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    claimed.clear();
    snapshot.reset();
    auto request = select(txn);
    if (!request) return std::move(request).error();
    if (auto c = Claim(txn, request->records, request->action, actor, std::move(request->details),
                       claimed);
        !c) {
      return c;
    }
    auto count = SnapshotCount(txn);
    if (!count) return std::move(count).error();
    snapshot = *count;
    return Ok();
  });
  if (!claim) co_return std::move(claim).error();
  ApplyCount(*snapshot);

  auto report = co_await SendAndSettle(claimed, paced, actor);
  if (!report) co_return std::move(report).error();
  if (report->failure) co_return SendFailure(*report->failure, report->sent.size(), claimed.size());
  // SendAll stops only at a failure: without one, every claimed record was sent, in order.
  co_return claimed;
}

asio::awaitable<Result<json::object>> DeadLetterManager::Redrive(std::string message_id,
                                                                 std::optional<std::string> queue,
                                                                 Actor actor) {
  // Named, not a temporary inside the co_await: see SendAll on g++ 12 and lambda temporaries.
  ClaimSelector select = [&](Transaction& txn) -> Result<ClaimRequest> {
    auto records = FindByMessageId(txn, message_id, queue);
    if (!records) return std::move(records).error();
    if (records->empty()) {
      return NotFoundError("no dead letter with messageId " + message_id + InQueue(queue));
    }
    ClaimRequest request{{}, audit_actions::kRedrive, {}};
    for (auto& r : *records) {
      if (r.status == DeadLetterStatus::kDead) request.records.push_back(std::move(r));
    }
    if (request.records.empty()) {
      return ConflictError("dead letter " + message_id + " is already " +
                           std::string(StatusName(records->back().status)));
    }
    json::array queues;
    for (const auto& r : request.records) queues.emplace_back(r.queue);
    request.details = json::object{{"queues", std::move(queues)}};
    return request;
  };
  auto claimed = co_await ClaimAndRedrive(std::move(select), /*paced=*/false, actor);
  if (!claimed) co_return std::move(claimed).error();
  json::array queues;
  for (const auto& c : *claimed) queues.emplace_back(c.queue);
  co_return json::object{{"messageId", message_id},
                         {"status", "redriven"},
                         {"queue", claimed->front().queue},
                         {"queues", std::move(queues)}};
}

asio::awaitable<Result<json::object>> DeadLetterManager::RedriveAll(RedriveAllRequest request,
                                                                    Actor actor) {
  request.filter.status = DeadLetterStatus::kDead;
  json::object details{{"filter", request.filter.ToJson()}, {"limit", request.limit}};

  if (request.dry_run) {
    MatchedRecords matched;
    auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
      auto found = FindMatching(txn, request.filter, request.limit, /*newest_first=*/false);
      if (!found) return std::move(found).error();
      matched = std::move(*found);
      return Ok();
    });
    if (!read) co_return std::move(read).error();
    std::vector<std::string> ids;
    for (const auto& r : matched.records) ids.push_back(r.message_id);
    details["matched"] = matched.total;
    auto recorded = co_await AwaitWrite(store_, [&](Transaction& txn) {
      return AppendAudit(
          txn, AuditEntry{std::string(audit_actions::kRedriveAllDryRun), ids, actor, details},
          clock_.Now());
    });
    if (!recorded) co_return std::move(recorded).error();
    co_return json::object{
        {"dryRun", true}, {"matched", matched.total}, {"moved", 0}, {"messages", Strings(ids)}};
  }

  int64_t matched = 0;
  ClaimSelector select = [&](Transaction& txn) -> Result<ClaimRequest> {
    auto found = FindMatching(txn, request.filter, request.limit, /*newest_first=*/false);
    if (!found) return std::move(found).error();
    matched = found->total;
    json::object claim_details = details;
    claim_details["matched"] = matched;
    return ClaimRequest{std::move(found->records), audit_actions::kRedriveAll,
                        std::move(claim_details)};
  };
  auto claimed = co_await ClaimAndRedrive(std::move(select), /*paced=*/true, actor);
  if (!claimed) co_return std::move(claimed).error();
  std::vector<std::string> moved;
  for (const auto& c : *claimed) moved.push_back(c.message_id);
  co_return json::object{{"dryRun", false},
                         {"matched", matched},
                         {"moved", static_cast<int64_t>(moved.size())},
                         {"messages", Strings(moved)}};
}

// --- discard, queries ----------------------------------------------------------------------

asio::awaitable<Result<json::object>> DeadLetterManager::Discard(std::string message_id,
                                                                 std::optional<std::string> queue,
                                                                 Actor actor) {
  std::vector<std::string> queues;
  std::optional<CountSnapshot> snapshot;
  auto discarded = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    queues.clear();
    snapshot.reset();
    const TimePoint now = clock_.Now();
    auto records = FindByMessageId(txn, message_id, queue);
    if (!records) return std::move(records).error();
    if (records->empty()) {
      return NotFoundError("no dead letter with messageId " + message_id + InQueue(queue));
    }
    for (const auto& r : *records) {
      if (r.status != DeadLetterStatus::kDead) continue;
      auto moved = TransitionRecord(txn, r.record_id, DeadLetterStatus::kDead,
                                    DeadLetterStatus::kDiscarded, now);
      if (!moved) return std::move(moved).error();
      queues.push_back(r.queue);
    }
    if (queues.empty()) {
      return ConflictError("dead letter " + message_id + " is already " +
                           std::string(StatusName(records->back().status)));
    }
    if (auto appended = AppendAudit(txn,
                                    AuditEntry{std::string(audit_actions::kDiscard),
                                               {message_id},
                                               actor,
                                               json::object{{"queues", Strings(queues)}}},
                                    now);
        !appended) {
      return appended;
    }
    auto count = SnapshotCount(txn);
    if (!count) return std::move(count).error();
    snapshot = *count;
    return Ok();
  });
  if (!discarded) co_return std::move(discarded).error();
  ApplyCount(*snapshot);
  co_return json::object{{"messageId", message_id},
                         {"status", "discarded"},
                         {"queue", queues.front()},
                         {"queues", Strings(queues)}};
}

asio::awaitable<Result<json::object>> DeadLetterManager::Overview(DeadLetterFilter filter,
                                                                  Page page) {
  std::vector<DeadLetterRecord> records;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto matched = FindMatching(txn, filter, -1, /*newest_first=*/true);
    if (!matched) return std::move(matched).error();
    records = std::move(matched->records);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return BuildOverview(records, topology_, filter.queue, page);
}

asio::awaitable<Result<json::value>> DeadLetterManager::AuditLog(std::optional<std::string> action,
                                                                 Page page) {
  co_return co_await ReadAuditLog(store_, std::move(action), page);
}

}  // namespace shopflow::monitor
