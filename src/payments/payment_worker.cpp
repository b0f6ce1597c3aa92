#include "payments/payment_worker.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "core/ids.hpp"
#include "payments/payment_records.hpp"

namespace shopflow::payments {
namespace {

constexpr int64_t kPageSize = 200;
// One scan looks at most at this many processing payments; the next scan takes the rest.
constexpr int64_t kMaxPerScan = 10'000;

struct Candidate {
  std::string payment_id;
  std::string method;
  TimePoint created_at;
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
        found.push_back({payment->payment_id, payment->method, payment->created_at});
      }
      if (static_cast<int64_t>(page->docs.size()) < kPageSize) break;
    }
    return Ok();
  });
  if (!read) return std::move(read).error();
  return found;
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
    const bool card = IsCardMethod(c.method);
    if (card != (job == Job::kRecover) || now - c.created_at < age) continue;
    // Asked outside the write: Lookup belongs to the gateway, which may be slow.
    std::optional<GatewayResult> answer;
    if (job == Job::kRecover) {
      answer = processor_.gateway().Lookup(c.payment_id);
      if (!answer || answer->outcome == GatewayResult::Outcome::kPending) {
        answer = GatewayResult{GatewayResult::Outcome::kDeclined, "", "processing_interrupted"};
      }
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
  thread_ = std::thread([this] { Run(); });
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
