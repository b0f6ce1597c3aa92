#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "events/event_bus.hpp"
#include "payments/gateway.hpp"
#include "payments/payment_processor.hpp"
#include "storage/store.hpp"

namespace shopflow::payments {

/// The payments side of the order saga (EVENTS.md), consuming payments.events.queue:
///
/// - ORDER_CREATED: unless the order already has a payment (made through the API, or the
///   tombstone of an earlier cancel), creates it (amount = data.totalAmount, method =
///   data.paymentMethod, customerId, card last four of data.paymentDetails) and charges it:
///   PAYMENT_REQUESTED, PAYMENT_PROCESSING, then for cards PAYMENT_SUCCEEDED or PAYMENT_FAILED
///   (failureReason from the gateway); pix and boleto stay `processing` for the bank.
/// - ORDER_CANCELLED / ORDER_FAILED (reason "order_cancelled" / "order_failed"): a succeeded
///   payment is refunded (PAYMENT_REFUNDED), a requested or processing one fails
///   (PAYMENT_FAILED); when there is no payment yet a `failed` tombstone is stored (with
///   PAYMENT_FAILED) so that a late ORDER_CREATED charges nothing; failed or refunded: nothing.
/// - anything else is acknowledged untouched.
///
/// Each consumed event is applied exactly once: its inbox mark (consumer "payments") commits
/// in the same transaction as its effect and events. Published events are caused by the
/// delivery (same correlationId, causationId = its messageId). When the gateway has latency
/// the charge finishes in a second write after the gateway answered (see PaymentProcessor).
/// The deliveries of a batch are applied in one transaction, and their charges then go to the
/// gateway together (one wait for all of them, not one each).
///
/// Thread-safe; store, gateway and clock must outlive it.
class PaymentEventHandler {
 public:
  static constexpr std::string_view kConsumer = "payments";
  static constexpr std::string_view kQueue = "payments.events.queue";

  PaymentEventHandler(Store& store, PaymentGateway& gateway, const Clock& clock);

  /// Handles one delivery; blocks the calling (bus) thread until its writes committed and, with
  /// gateway latency, until the gateway answered. Never call it on an I/O thread.
  /// Outcomes: Ack when applied (or already applied, or not for payments); Retry when the store
  /// is unavailable or a concurrent writer created the payment first; DeadLetter when the event
  /// cannot be used (no orderId, bad amount or method, unsupported version).
  HandlerOutcome Handle(const Delivery& delivery) const;

  /// Handle for the deliveries of a batch consumer (EventBus::SubscribeBatch): unusable ones
  /// are dead-lettered before any write (so they cannot roll back the others' transaction, in
  /// which an instant gateway would have answered their charges), the rest for payments go in
  /// one store transaction (ApplyOnceBatch: a later one sees an earlier one's writes, one that
  /// still fails is retried on its own so it cannot hold back the rest), then the
  /// charges the gateway did not answer at once are sent concurrently and finished (their
  /// writes committed together by the store's group commit). One outcome per delivery.
  std::vector<HandlerOutcome> HandleBatch(std::span<const Delivery> deliveries) const;

 private:
  // Phase 2 for charges whose phase 1 committed: sent concurrently, each finished in its own
  // write. Never fails: a charge left `processing` is finished by PaymentWorker's recovery.
  struct Outstanding {
    ChargeRequest request;
    const Envelope* cause;
  };
  void CompleteCharges(std::vector<Outstanding> charges) const;

  Store& store_;
  PaymentProcessor processor_;
};

}  // namespace shopflow::payments
