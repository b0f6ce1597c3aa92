#pragma once

#include <string_view>

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

  /// Handle as an EventHandler for EventBus::Subscribe(kQueue, ...). This handler must outlive
  /// the subscription (until the bus is stopped).
  EventHandler AsEventHandler() const;

 private:
  HandlerOutcome HandleOrderCreated(const Delivery& delivery) const;
  HandlerOutcome HandleOrderEnded(const Delivery& delivery, std::string_view reason) const;

  Store& store_;
  PaymentProcessor processor_;
};

}  // namespace shopflow::payments
