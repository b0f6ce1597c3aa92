#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "events/topology.hpp"
#include "monitor/dlq/audit_log.hpp"
#include "monitor/dlq/blocking_worker.hpp"
#include "monitor/dlq/dead_letter_filter.hpp"
#include "monitor/dlq/dead_letter_record.hpp"
#include "monitor/dlq/dlq_options.hpp"
#include "monitor/dlq/redrive_pacer.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// The dead-letter manager (seed.md "DLQ Manager"): consumes every module's dead-letter queue,
/// keeps each dead letter durably in the "dead_letters" collection (so the broker's 24 h TTL
/// never loses one), and lets operators re-drive or discard them, recording every action in the
/// "audit_log" collection in the same write as the state change.
///
/// Re-drive protocol (nothing lost, nothing duplicated): one write moves the record `dead` →
/// `redriving` (+ audit row) — a record is claimed by exactly one re-drive; then
/// EventBus::SendToQueue(originalQueue, envelope) runs on the manager's worker thread (never
/// inside a store write, never on an I/O thread), arriving as a first delivery; then one write
/// moves it to `redriven` (+ audit row). When the broker refuses, the record goes back to `dead`
/// (audit `redrive_failed`) and the caller gets kUnavailable. Records a crash left `redriving`
/// are re-sent by Start(): a duplicate is harmless, consumers dedupe by messageId (inbox), and
/// the failed handler never applied the message.
///
/// Alert: when the number of `dead` records climbs past DlqOptions::alert_threshold, the alert
/// function runs once (on the worker thread) and an `alert` audit row is written; it is re-armed
/// when the number is back at or below the threshold. The count is computed inside each write
/// that changes it, so concurrent writers never leave it stale. A count above the threshold
/// when the manager starts does not alert.
///
/// Threading: HandleDeadLetter runs on bus threads and blocks on the store; the coroutines must
/// be awaited from an executor that serializes its handlers (an HTTP connection's strand) and
/// never block it. Thread-safe. `store`, `bus` and `clock` must outlive the manager; the
/// manager must outlive the routes and the bus subscriptions that use it.
class DeadLetterManager {
 public:
  DeadLetterManager(Store& store, EventBus& bus, Topology topology, const Clock& clock,
                    DlqOptions options = {}, DlqAlertFn on_alert = {});
  /// Calls Stop().
  ~DeadLetterManager();

  DeadLetterManager(const DeadLetterManager&) = delete;
  DeadLetterManager& operator=(const DeadLetterManager&) = delete;

  /// The collections to declare in the store (DlqCollections()).
  static std::vector<CollectionSpec> Collections();

  /// Subscribes HandleDeadLetter to the dead-letter queue of every module of the topology on
  /// `bus` (usually the bus given to the constructor, or a wrapper of it). Call once, before or
  /// after the bus starts.
  void SubscribeAll(EventBus& bus);

  /// The handler of a dead-letter queue: stores the dead letter (idempotently: a redelivery of
  /// the same dead-letter message — same queue, messageId and x-last-failure — is recorded once
  /// through the inbox under DlqOptions::consumer) and acknowledges it. The store unavailable →
  /// Retry. Blocks the calling bus thread until the write committed.
  HandlerOutcome HandleDeadLetter(const Delivery& delivery);

  /// Start-up, after the bus started (re-drives need it): learns the dead count, then re-sends
  /// the records a crash left `redriving` (RecoverRedriving). Blocks; call from the composition
  /// root's thread, never from an I/O thread.
  Result<void> Start();
  /// Re-sends every `redriving` record and marks it `redriven` (audit `redrive_recovered`), or
  /// back to `dead` when the broker refuses (audit `redrive_failed`). Returns how many were
  /// re-sent. Blocking, like Start().
  Result<int64_t> RecoverRedriving();
  /// Runs the queued background work (alerts, sends in flight) and stops the worker thread:
  /// later re-drives answer kUnavailable. Call after the HTTP server and the bus stopped, while
  /// the HTTP io_context still exists. Idempotent.
  void Stop();

  /// The number of `dead` records, as of the last committed change (cached; cheap).
  int64_t DeadCount() const { return dead_count_.load(); }
  /// Blocks until the background work queued so far (alerts) has run. For tests and shutdown.
  void WaitIdle();
  const Topology& topology() const { return topology_; }
  const DlqOptions& options() const { return options_; }

  /// GET /api/dlq: see BuildOverview.
  boost::asio::awaitable<Result<json::object>> Overview(DeadLetterFilter filter, Page page);

  /// POST /api/dlq/:messageId/retry: re-drives every `dead` record of `message_id` (only the one
  /// in `queue` when given; one message dead in two modules has two records). No record →
  /// kNotFound; none `dead` → kConflict; the broker refused → kUnavailable (records `dead`
  /// again). Answers {messageId, status: "redriven", queue, queues}.
  boost::asio::awaitable<Result<json::object>> Redrive(std::string message_id,
                                                       std::optional<std::string> queue,
                                                       Actor actor);

  /// POST /api/dlq/retry-all: re-drives up to `limit` matching `dead` records, oldest first,
  /// paced to DlqOptions::redrive_rate; a dry run moves nothing. Answers {dryRun, matched,
  /// moved, messages: [messageId...]}: matched counts every match, messages are those moved
  /// (or that would move). When the broker refuses midway, those sent stay `redriven`, the rest
  /// are `dead` again and the answer is kUnavailable saying how many moved.
  boost::asio::awaitable<Result<json::object>> RedriveAll(RedriveAllRequest request, Actor actor);

  /// DELETE /api/dlq/:messageId: `dead` → `discarded` for every `dead` record of `message_id`
  /// (in `queue` when given). kNotFound / kConflict as Redrive. Answers {messageId, status:
  /// "discarded", queue, queues}.
  boost::asio::awaitable<Result<json::object>> Discard(std::string message_id,
                                                       std::optional<std::string> queue,
                                                       Actor actor);

  /// GET /api/dlq/audit: audit rows, newest first, optionally of one action. List shape.
  boost::asio::awaitable<Result<json::value>> AuditLog(std::optional<std::string> action,
                                                       Page page);

 private:
  /// A record claimed (`redriving`) by one re-drive, with what its send needs.
  struct Claimed {
    std::string record_id;
    std::string message_id;
    std::string queue;
    std::string original_queue;
    std::string routing_key;
    Envelope envelope;
  };
  /// The dead count as computed inside a write, ordered by the writer's serialization.
  struct CountSnapshot {
    uint64_t sequence = 0;
    int64_t dead = 0;
  };
  /// What a batch of sends achieved.
  struct SendReport {
    std::vector<size_t> sent;  // indexes into the claimed batch
    std::optional<Error> failure;
  };

  Result<CountSnapshot> SnapshotCount(Transaction& txn);
  /// Publishes a committed count and evaluates the alert; the alert goes to the worker.
  void ApplyCount(const CountSnapshot& snapshot);
  void RaiseAlert(int64_t dead_count);

  /// Claims `records` (dead → redriving; those no longer dead are skipped) and appends the
  /// audit row of `action` naming the claimed messages; the claimed records go to `out`.
  Result<void> Claim(Transaction& txn, const std::vector<DeadLetterRecord>& records,
                     std::string_view action, const Actor& actor, json::object details,
                     std::vector<Claimed>& out);
  /// Marks the sent records `redriven` (audit `completed_action`) and the others `dead` again
  /// (audit `redrive_failed`).
  Result<void> Settle(Transaction& txn, const std::vector<Claimed>& claimed,
                      const SendReport& report, std::string_view completed_action,
                      const Actor& actor);
  /// SendToQueue of one claimed record, on the calling thread (blocking).
  Result<void> SendNow(const Claimed& claimed);
  /// Sends in order on the worker thread, paced when `paced`; stops at the first failure.
  boost::asio::awaitable<SendReport> SendAll(const std::vector<Claimed>& claimed, bool paced);
  /// SendAll, then one write settling every claimed record.
  boost::asio::awaitable<Result<SendReport>> SendAndSettle(const std::vector<Claimed>& claimed,
                                                           bool paced, const Actor& actor);

  /// What a re-drive claims: the records it found (Claim skips those no longer `dead`) and the
  /// audit row naming them.
  struct ClaimRequest {
    std::vector<DeadLetterRecord> records;
    std::string_view action;
    json::object details;
  };
  /// Finds the records to claim inside the claiming write; an error aborts the write. It may
  /// run more than once: stores retry a conflicting write whole.
  using ClaimSelector = std::function<Result<ClaimRequest>(Transaction&)>;
  /// The re-drive protocol shared by Redrive and RedriveAll: one write claims what `select`
  /// finds (and counts), then SendAndSettle. Answers the claimed records, every one of them
  /// sent; a refused send is SendFailure.
  boost::asio::awaitable<Result<std::vector<Claimed>>> ClaimAndRedrive(ClaimSelector select,
                                                                       bool paced,
                                                                       const Actor& actor);

  Store& store_;
  EventBus& bus_;
  const Topology topology_;
  const Clock& clock_;
  const DlqOptions options_;
  const DlqAlertFn on_alert_;
  const std::shared_ptr<RedrivePacer> pacer_;
  RedriveRateLimiter limiter_;

  std::atomic<uint64_t> next_sequence_{0};  // advanced inside writes (the writer serializes)
  std::mutex count_mutex_;
  uint64_t applied_sequence_ = 0;  // guarded by count_mutex_
  bool count_known_ = false;       // guarded by count_mutex_
  bool armed_ = true;              // guarded by count_mutex_
  std::atomic<int64_t> dead_count_{0};

  BlockingWorker worker_;  // last: stopped (and its jobs run) before the members above go
};

}  // namespace shopflow::monitor
