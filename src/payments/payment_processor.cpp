#include "payments/payment_processor.hpp"

#include <algorithm>
#include <utility>

#include "events/event_types.hpp"
#include "storage/await.hpp"

namespace shopflow::payments {
namespace asio = boost::asio;

namespace {

// Backoff between charges the gateway left unanswered: 1 s, 2 s, 4 s, ... capped at a minute.
// While the gateway's circuit is open the retries cost nothing (refused at once), so the cap
// only bounds how late a payment notices the gateway is back.
Duration GatewayRetryDelay(int64_t attempts) {
  const int64_t shift = std::clamp<int64_t>(attempts - 1, 0, 6);
  return std::min<Duration>(std::chrono::seconds(1LL << shift), std::chrono::seconds(60));
}

// The gateway did not answer: the payment stays `processing`, and its metadata says how often
// and why, and when PaymentWorker sends the charge again.
void RecordUnavailable(Payment& payment, const GatewayResult& result, TimePoint now) {
  const int64_t attempts = GetInt(payment.metadata, kGatewayAttemptsKey) + 1;
  payment.metadata[kGatewayAttemptsKey] = attempts;
  payment.metadata[kGatewayErrorKey] = result.failure_reason;
  payment.metadata[kGatewayRetryAtKey] = FormatRfc3339(now + GatewayRetryDelay(attempts));
}

// Returns whether `payment` changed (and must be stored).
Result<bool> ApplyGatewayResult(Transaction& txn, Payment& payment, const GatewayResult& result,
                                const EventOrigin& origin, TimePoint now) {
  // Anything but `processing` means the charge was already settled (a redelivered or raced
  // phase 2, a bank confirmation, a compensation): the first decision stands.
  if (payment.status != PaymentStatus::kProcessing) return false;
  bool changed = false;
  // An answer at last: no charge is due again.
  if (result.outcome != GatewayResult::Outcome::kUnavailable &&
      payment.metadata.erase(kGatewayRetryAtKey) > 0) {
    changed = true;
  }
  if (payment.transaction_id.empty() && !result.transaction_id.empty()) {
    payment.transaction_id = result.transaction_id;
    changed = true;
  }
  switch (result.outcome) {
    case GatewayResult::Outcome::kApproved:
      if (auto moved =
              TransitionAndRecord(txn, payment, PaymentStatus::kSucceeded, "", origin, now);
          !moved) {
        return std::move(moved).error();
      }
      return true;
    case GatewayResult::Outcome::kDeclined:
      if (auto moved = TransitionAndRecord(txn, payment, PaymentStatus::kFailed,
                                           result.failure_reason, origin, now);
          !moved) {
        return std::move(moved).error();
      }
      return true;
    case GatewayResult::Outcome::kPending:
      break;
    case GatewayResult::Outcome::kUnavailable:
      RecordUnavailable(payment, result, now);
      return true;
  }
  return changed;
}

}  // namespace

PaymentProcessor::PaymentProcessor(Store& store, PaymentGateway& gateway, const Clock& clock)
    : store_(store), gateway_(gateway), clock_(clock) {}

Result<std::optional<ChargeRequest>> PaymentProcessor::Begin(Transaction& txn, Payment& payment,
                                                             bool is_new,
                                                             const std::string& card_number,
                                                             const EventOrigin& origin) const {
  const TimePoint now = clock_.Now();
  if (is_new) {
    if (auto ev = txn.AppendOutbox(PaymentEvent(events::kPaymentRequested, payment, origin, now));
        !ev) {
      return std::move(ev).error();
    }
  }
  if (auto moved = TransitionAndRecord(txn, payment, PaymentStatus::kProcessing, "", origin, now);
      !moved) {
    return std::move(moved).error();
  }
  // The token (never the number) stays with the payment, so a charge the gateway could not
  // answer can be sent again later (PaymentWorker), perhaps by another process.
  if (IsCardMethod(payment.method) && !card_number.empty()) {
    payment.metadata[kCardTokenKey] =
        IsCardToken(card_number) ? card_number : TokenizeCard(card_number).token;
  }
  ChargeRequest request{payment.payment_id, payment.order_id, payment.amount, payment.method,
                        card_number};
  std::optional<GatewayResult> instant = gateway_.TryChargeNow(request);
  if (instant) {
    if (auto applied = ApplyGatewayResult(txn, payment, *instant, origin, now); !applied) {
      return std::move(applied).error();
    }
  }
  auto stored = is_new ? InsertPayment(txn, payment) : ReplacePayment(txn, payment);
  if (!stored) return std::move(stored).error();
  if (instant) return std::optional<ChargeRequest>();
  return std::optional<ChargeRequest>(std::move(request));
}

Result<Payment> PaymentProcessor::Finish(Transaction& txn, std::string_view payment_id,
                                         const GatewayResult& result,
                                         const EventOrigin& origin) const {
  auto payment = LoadPayment(txn, payment_id);
  if (!payment) return payment;
  auto changed = ApplyGatewayResult(txn, *payment, result, origin, clock_.Now());
  if (!changed) return std::move(changed).error();
  if (*changed) {
    if (auto stored = ReplacePayment(txn, *payment); !stored) return std::move(stored).error();
  }
  return payment;
}

asio::awaitable<Result<Payment>> PaymentProcessor::Complete(ChargeRequest request,
                                                            EventOrigin origin, AlsoFn also) const {
  const GatewayResult result = co_await gateway_.Charge(request);
  std::optional<Payment> finished;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto payment = Finish(txn, request.payment_id, result, origin);
    if (!payment) return std::move(payment).error();
    if (also) {
      if (auto extra = also(txn, *payment); !extra) return extra;
    }
    finished = std::move(*payment);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*finished);
}

}  // namespace shopflow::payments
