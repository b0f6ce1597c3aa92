#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "payments/gateway.hpp"
#include "payments/payment.hpp"
#include "payments/payment_records.hpp"
#include "storage/store.hpp"

namespace shopflow::payments {

/// Payment metadata kept for charges the gateway left unanswered (GatewayResult kUnavailable):
/// the card token to send again, how many charges went unanswered, the last reason, and when
/// the next is due (RFC 3339).
inline constexpr std::string_view kCardTokenKey = "cardToken";
inline constexpr std::string_view kGatewayAttemptsKey = "gatewayAttempts";
inline constexpr std::string_view kGatewayErrorKey = "gatewayError";
inline constexpr std::string_view kGatewayRetryAtKey = "gatewayRetryAt";

/// The charging steps shared by the API and the saga. A gateway call never happens inside a
/// store write (the store has one writer thread), so a charge has up to two phases:
///
/// 1. Begin, inside the caller's write (with the caller's own checks, inbox mark or
///    Idempotency-Key): the payment goes requested → processing with PAYMENT_REQUESTED (new
///    payments) and PAYMENT_PROCESSING. When the gateway can answer without waiting
///    (TryChargeNow) its answer is applied in the same write and the charge is complete.
/// 2. Otherwise Complete: awaits PaymentGateway::Charge outside any transaction, then Finish
///    applies the answer in a second write, only if the payment is still `processing` (so it
///    is idempotent, and a compensation or bank confirmation that won the race is kept).
///
/// A payment whose process died between the phases stays `processing`; PaymentWorker finishes
/// it. Thread-safe (stateless); store, gateway and clock must outlive it.
class PaymentProcessor {
 public:
  using AlsoFn = std::function<Result<void>(Transaction& txn, const Payment& payment)>;

  PaymentProcessor(Store& store, PaymentGateway& gateway, const Clock& clock);

  /// Phase 1 inside `txn`. `payment` must be `requested`; when `is_new` it is inserted (with
  /// PAYMENT_REQUESTED), else replaced. On return `payment` is what was stored. Returns the
  /// charge still to send to the gateway, or nullopt when the gateway already answered.
  /// `card_number` (a card token, or a number from tests) goes to the gateway only; the caller
  /// stores at most CardLast4 of it.
  Result<std::optional<ChargeRequest>> Begin(Transaction& txn, Payment& payment, bool is_new,
                                             const std::string& card_number,
                                             const EventOrigin& origin) const;

  /// Phase 2 inside `txn`: applies `result` to the payment if it is still `processing`
  /// (approved → succeeded, declined → failed with the gateway's reason, pending → keeps
  /// processing and takes the transaction id, unavailable → keeps processing and records the
  /// attempt and the next one's time in metadata) with the matching event; otherwise changes
  /// nothing. Returns the payment as stored after the call; kNotFound if it does not exist.
  Result<Payment> Finish(Transaction& txn, std::string_view payment_id, const GatewayResult& result,
                         const EventOrigin& origin) const;

  /// Sends `request` to the gateway, then runs Finish (and `also`, e.g. remembering an
  /// idempotent response) in one new write. Store errors are returned; the payment then stays
  /// `processing` for recovery. Must be awaited from a coroutine whose executor serializes its
  /// handlers (storage/await.hpp); `origin.cause` must outlive the call.
  boost::asio::awaitable<Result<Payment>> Complete(ChargeRequest request, EventOrigin origin,
                                                   AlsoFn also = {}) const;

  Store& store() const { return store_; }
  PaymentGateway& gateway() const { return gateway_; }
  const Clock& clock() const { return clock_; }

 private:
  Store& store_;
  PaymentGateway& gateway_;
  const Clock& clock_;
};

}  // namespace shopflow::payments
