#include "payments/payment_worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/thread_name.hpp"
#include "payments/payment_records.hpp"

namespace shopflow::payments {
namespace asio = boost::asio;

namespace {

constexpr int64_t kPageSize = 200;
// One scan looks at most at this many processing payments; the next scan takes the rest.
constexpr int64_t kMaxPerScan = 10'000;
// Due payments settled per write (their charges at the gateway together).
constexpr size_t kChunk = 64;

struct Candidate {
  std::string payment_id;
  std::string order_id;
  Money amount;
  std::string method;
  TimePoint created_at;
  std::string card_token;
  // Set when the gateway left its last charge unanswered: when to send it again.
  std::optional<TimePoint> retry_at;
};

Result<std::vector<Candidate>> ProcessingPayments(Store& store) {
  std::vector<Candidate> found;
  auto read = ReadAndWait(store, [&](ReadTransaction& txn) -> Result<void> {
    FindQuery query;
    query.filters = {
        {"status", FieldFilter::Op::kEq, std::string(StatusName(PaymentStatus::kProcessing))}};
    query.limit = kPageSize;
    query.newest_first = false;  // the longest waiting first
    for (query.offset = 0; query.offset < kMaxPerScan; query.offset += kPageSize) {
      auto page = txn.Find(kPaymentsCollection, query);
      if (!page) return std::move(page).error();
      for (const auto& doc : page->docs) {
        auto payment = Payment::FromJson(doc);
        if (!payment) return std::move(payment).error();
        std::optional<TimePoint> retry_at;
        if (const std::string at = GetString(payment->metadata, kGatewayRetryAtKey); !at.empty()) {
          retry_at = ParseRfc3339(at);
        }
        found.push_back({payment->payment_id, payment->order_id, payment->amount, payment->method,
                         payment->created_at, GetString(payment->metadata, kCardTokenKey),
                         retry_at});
      }
      if (static_cast<int64_t>(page->docs.size()) < kPageSize) break;
    }
    return Ok();
  });
  if (!read) return std::move(read).error();
  return found;
}

// Charges the gateway left unanswered, sent again together (their waits overlap), with the
// same payment ids: a charge that did reach the gateway is answered, not captured twice. One
// answer per candidate, nullopt for those not sent (not retries) or whose charge threw.
asio::awaitable<void> ChargeInto(PaymentGateway& gateway, ChargeRequest request,
                                 std::optional<GatewayResult>& answer) {
  answer = co_await gateway.Charge(std::move(request));
}

std::vector<std::optional<GatewayResult>> ChargeAgain(PaymentGateway& gateway,
                                                      std::span<const Candidate* const> chunk) {
  std::vector<std::optional<GatewayResult>> answers(chunk.size());
  asio::io_context context(1);
  for (size_t i = 0; i < chunk.size(); ++i) {
    const Candidate& c = *chunk[i];
    if (!c.retry_at) continue;
    ChargeRequest request{c.payment_id, c.order_id, c.amount, c.method, c.card_token};
    asio::co_spawn(context, ChargeInto(gateway, std::move(request), answers[i]),
                   [id = c.payment_id](const std::exception_ptr& failure) {
                     if (!failure) return;
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       spdlog::error("payments worker: charging payment {} again threw: {}", id,
                                     e.what());
                     }
                   });
  }
  context.run();
  return answers;
}

// Past `give_up` (from the payment's creation) another unanswered charge fails the payment
// with "gateway_unavailable".
GatewayResult GiveUpIfUnanswered(GatewayResult answer, const Candidate& c, TimePoint now,
                                 Duration give_up) {
  if (answer.outcome == GatewayResult::Outcome::kUnavailable && now - c.created_at >= give_up) {
    spdlog::warn(
        "payments worker: giving up on payment {} after the gateway left it unanswered "
        "for {} s: {}",
        c.payment_id, std::chrono::duration_cast<std::chrono::seconds>(now - c.created_at).count(),
        answer.failure_reason);
    return GatewayResult{GatewayResult::Outcome::kDeclined, "", "gateway_unavailable"};
  }
  return answer;
}

// A charge whose process died between its two phases: what the gateway answered, if it knows;
// otherwise it never reached the gateway and, with nothing captured, the payment fails.
GatewayResult AnswerForStalled(const PaymentGateway& gateway, const Candidate& c) {
  std::optional<GatewayResult> answer = gateway.Lookup(c.payment_id);
  if (!answer || answer->outcome == GatewayResult::Outcome::kPending ||
      answer->outcome == GatewayResult::Outcome::kUnavailable) {
    return GatewayResult{GatewayResult::Outcome::kDeclined, "", "processing_interrupted"};
  }
  return *answer;
}

// One due payment inside the chunk's write; whether it changed.
Result<bool> SettleOne(const PaymentProcessor& processor, Transaction& txn, bool recover,
                       const std::string& payment_id, const std::optional<GatewayResult>& answer) {
  auto payment = LoadPayment(txn, payment_id);
  if (!payment) return std::move(payment).error();
  if (payment->status != PaymentStatus::kProcessing) return false;  // settled meanwhile
  const EventOrigin origin = EventOrigin::Correlated(GetString(payment->metadata, "correlationId"));
  if (recover) {
    auto finished = processor.Finish(txn, payment_id, *answer, origin);
    if (!finished) return std::move(finished).error();
    return finished->status != PaymentStatus::kProcessing;
  }
  // The bank's confirmation, simulated: as PUT .../status {status: "succeeded"} would.
  if (payment->transaction_id.empty()) payment->transaction_id = "txn_" + NewId();
  if (auto moved = TransitionAndRecord(txn, *payment, PaymentStatus::kSucceeded, "", origin,
                                       processor.clock().Now());
      !moved) {
    return std::move(moved).error();
  }
  if (auto stored = ReplacePayment(txn, *payment); !stored) return std::move(stored).error();
  return true;
}

// One chunk of due payments: `recover` finishes charges (answers from the gateway), otherwise
// pix/boleto payments are confirmed. Returns how many payments it changed.
Result<int> SettleChunk(const PaymentProcessor& processor, bool recover,
                        std::span<const Candidate* const> chunk, TimePoint now, Duration give_up) {
  // The gateway is asked outside the write: it may be slow.
  std::vector<std::optional<GatewayResult>> answers(chunk.size());
  if (recover) {
    answers = ChargeAgain(processor.gateway(), chunk);
    for (size_t i = 0; i < chunk.size(); ++i) {
      const Candidate& c = *chunk[i];
      if (!c.retry_at) {
        answers[i] = AnswerForStalled(processor.gateway(), c);
      } else if (answers[i]) {
        answers[i] = GiveUpIfUnanswered(*answers[i], c, now, give_up);
      }
    }
  }
  // Every answer in one write; each payment re-checked there, as it may have settled meanwhile.
  int changed = 0;
  auto written = WriteAndWait(processor.store(), [&](Transaction& txn) -> Result<void> {
    changed = 0;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (recover && !answers[i]) continue;  // its charge threw: the next scan
      auto one = SettleOne(processor, txn, recover, chunk[i]->payment_id, answers[i]);
      if (!one) return std::move(one).error();
      if (*one) ++changed;
    }
    return Ok();
  });
  if (!written) return std::move(written).error();
  return changed;
}

}  // namespace

PaymentWorker::PaymentWorker(Store& store, PaymentGateway& gateway, const Clock& clock,
                             PaymentsOptions options)
    : options_(options), processor_(store, gateway, clock) {}

PaymentWorker::~PaymentWorker() { Stop(); }

Result<int> PaymentWorker::RecoverStalled() { return Scan(Job::kRecover); }

Result<int> PaymentWorker::ConfirmDue() {
  if (options_.auto_confirm_delay.count() <= 0) return 0;
  return Scan(Job::kConfirm);
}

Result<int> PaymentWorker::RunOnce() {
  auto recovered = RecoverStalled();
  if (!recovered) return recovered;
  auto confirmed = ConfirmDue();
  if (!confirmed) return confirmed;
  return *recovered + *confirmed;
}

Result<int> PaymentWorker::Scan(Job job) {
  auto candidates = ProcessingPayments(processor_.store());
  if (!candidates) return std::move(candidates).error();
  const TimePoint now = processor_.clock().Now();
  const Duration age = job == Job::kRecover ? Duration(options_.stall_timeout)
                                            : Duration(options_.auto_confirm_delay);
  std::vector<const Candidate*> due;
  for (const Candidate& c : *candidates) {
    // A charge to send again belongs to recovery whatever the method (pix registration too).
    const bool retry = c.retry_at.has_value();
    const bool card = IsCardMethod(c.method);
    const bool mine = job == Job::kRecover ? retry || card : !retry && !card;
    if (!mine || (retry ? now < *c.retry_at : now - c.created_at < age)) continue;
    due.push_back(&c);
  }
  // In chunks: after a gateway outage thousands of charges can be due at once, and one at a
  // time (a gateway wait and a commit each) would take minutes to catch up.
  int changed = 0;
  for (size_t start = 0; start < due.size(); start += kChunk) {
    const std::span<const Candidate* const> chunk(due.data() + start,
                                                  std::min(kChunk, due.size() - start));
    auto settled =
        SettleChunk(processor_, job == Job::kRecover, chunk, now, options_.gateway_give_up);
    if (!settled) return std::move(settled).error();
    changed += *settled;
  }
  return changed;
}

void PaymentWorker::Start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] {
    SetThreadName("payment-worker");
    Run();
  });
}

void PaymentWorker::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PaymentWorker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PaymentWorker::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    try {
      if (auto done = RunOnce(); !done) {
        spdlog::warn("payments worker: scan failed: {}", done.error().message);
      } else if (*done > 0) {
        spdlog::info("payments worker: settled {} payment(s)", *done);
      }
    } catch (const std::exception& e) {
      // A bug must not end the worker silently; the next scan tries again.
      spdlog::error("payments worker: scan threw: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, options_.scan_interval, [this] { return stopping_ || woken_; });
  }
}

}  // namespace shopflow::payments
