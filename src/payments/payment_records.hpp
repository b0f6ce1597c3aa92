#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/envelope.hpp"
#include "payments/payment.hpp"
#include "storage/store.hpp"

// Transaction-level building blocks shared by the payments use cases, the saga handler and the
// worker: reading and writing payment documents, and recording each status change with its
// event in the same transaction (transactional outbox). None of them blocks.

namespace shopflow::payments {

/// The collections payments stores: "payments" (orderId unique and indexed, status indexed)
/// and the shared Idempotency-Key collection (storage/idempotency.hpp), which other modules
/// (orders) declare too: a composition root declares each collection name once.
std::vector<CollectionSpec> PaymentCollections();

/// Why a change happens, for the causal links of the events it publishes.
struct EventOrigin {
  /// The consumed event that caused the change (saga); not owned, must outlive every use of
  /// the origin. Events get its correlationId and causationId = its messageId.
  const Envelope* cause = nullptr;
  /// Without a cause (API request, worker): the correlationId to carry; causationId stays "".
  std::string correlation_id;

  static EventOrigin CausedBy(const Envelope& cause) {
    return EventOrigin{&cause, cause.metadata.correlation_id};
  }
  static EventOrigin Correlated(std::string correlation_id) {
    return EventOrigin{nullptr, std::move(correlation_id)};
  }
};

/// The event published when a payment enters `status` (PAYMENT_REQUESTED ... PAYMENT_REFUNDED).
std::string_view EventTypeFor(PaymentStatus status);

/// An event about `payment` (docs/EVENT_PAYLOADS.md): data = the payment + customerId, plus
/// `extra` fields; source "payments"; causal links from `origin`.
Envelope PaymentEvent(std::string_view type, const Payment& payment, const EventOrigin& origin,
                      TimePoint now, json::object extra = {});

Result<std::optional<Payment>> FindPayment(ReadTransaction& txn, std::string_view payment_id);
/// Like FindPayment, but a missing payment is kNotFound.
Result<Payment> LoadPayment(ReadTransaction& txn, std::string_view payment_id);
/// The payment of an order (there is at most one), if any.
Result<std::optional<Payment>> FindPaymentForOrder(ReadTransaction& txn, std::string_view order_id);
/// kConflict when the order already has a payment (unique orderId) or the id exists.
Result<void> InsertPayment(Transaction& txn, const Payment& payment);
Result<void> ReplacePayment(Transaction& txn, const Payment& payment);

/// Transition(payment, to, now, reason) and, when allowed, appends the new status's event
/// (PAYMENT_REFUNDED carries `reason`). Does not store the payment: the caller inserts or
/// replaces it once, after all of its changes in this transaction.
Result<void> TransitionAndRecord(Transaction& txn, Payment& payment, PaymentStatus to,
                                 std::string reason, const EventOrigin& origin, TimePoint now);

}  // namespace shopflow::payments
