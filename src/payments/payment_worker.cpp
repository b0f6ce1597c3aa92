#include "payments/payment_worker.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/thread_name.hpp"
#include "payments/payment_records.hpp"
#include "payments/run_blocking.hpp"

namespace shopflow::payments {
namespace {

constexpr int64_t kPageSize = 200;
// One scan looks at most at this many processing payments; the next scan takes the rest.
constexpr int64_t kMaxPerScan = 10'000;

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

// A charge the gateway left unanswered, sent again; past `give_up` (from the payment's creation)
// another unanswered charge fails the payment with "gateway_unavailable".
GatewayResult ChargeAgain(PaymentGateway& gateway, const Candidate& c, TimePoint now,
                          Duration give_up) {
  // The same payment id: a charge that did reach the gateway is answered, not captured twice.
  ChargeRequest request{c.payment_id, c.order_id, c.amount, c.method, c.card_token};
  GatewayResult answer = RunBlocking([&] { return gateway.Charge(request); });
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
  int changed = 0;
  for (const Candidate& c : *candidates) {
    // A charge to send again belongs to recovery whatever the method (pix registration too).
    const bool retry = c.retry_at.has_value();
    const bool card = IsCardMethod(c.method);
    const bool mine = job == Job::kRecover ? retry || card : !retry && !card;
    if (!mine || (retry ? now < *c.retry_at : now - c.created_at < age)) continue;
    // Asked outside the write: the gateway may be slow.
    std::optional<GatewayResult> answer;
    if (job == Job::kRecover) {
      answer = c.retry_at ? ChargeAgain(processor_.gateway(), c, now, options_.gateway_give_up)
                          : AnswerForStalled(processor_.gateway(), c);
    }
    bool did_change = false;
    auto written = WriteAndWait(processor_.store(), [&](Transaction& txn) -> Result<void> {
      did_change = false;
      auto payment = LoadPayment(txn, c.payment_id);
      if (!payment) return std::move(payment).error();
      if (payment->status != PaymentStatus::kProcessing) return Ok();  // settled meanwhile
      const EventOrigin origin =
          EventOrigin::Correlated(GetString(payment->metadata, "correlationId"));
      if (job == Job::kRecover) {
        auto finished = processor_.Finish(txn, c.payment_id, *answer, origin);
        if (!finished) return std::move(finished).error();
        did_change = finished->status != PaymentStatus::kProcessing;
        return Ok();
      }
      // The bank's confirmation, simulated: as PUT .../status {status: "succeeded"} would.
      if (payment->transaction_id.empty()) payment->transaction_id = "txn_" + NewId();
      if (auto moved = TransitionAndRecord(txn, *payment, PaymentStatus::kSucceeded, "", origin,
                                           processor_.clock().Now());
          !moved) {
        return moved;
      }
      did_change = true;
      return ReplacePayment(txn, *payment);
    });
    if (!written) return std::move(written).error();
    if (did_change) ++changed;
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
