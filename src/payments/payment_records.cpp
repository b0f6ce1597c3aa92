#include "payments/payment_records.hpp"

#include "events/event_types.hpp"
#include "storage/idempotency.hpp"

namespace shopflow::payments {

std::vector<CollectionSpec> PaymentCollections() {
  return {CollectionSpec{std::string(kPaymentsCollection), {"orderId", "status"}, {"orderId"}},
          IdempotencyCollection()};
}

std::string_view EventTypeFor(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::kRequested:
      return events::kPaymentRequested;
    case PaymentStatus::kProcessing:
      return events::kPaymentProcessing;
    case PaymentStatus::kSucceeded:
      return events::kPaymentSucceeded;
    case PaymentStatus::kFailed:
      return events::kPaymentFailed;
    case PaymentStatus::kRefunded:
      return events::kPaymentRefunded;
  }
  return events::kPaymentRequested;
}

Envelope PaymentEvent(std::string_view type, const Payment& payment, const EventOrigin& origin,
                      TimePoint now, json::object extra) {
  json::object data = payment.ToJson();
  data["customerId"] = payment.customer_id();
  for (auto& kv : extra) data[kv.key()] = std::move(kv.value());
  if (origin.cause != nullptr) {
    return MakeCausedEvent(std::string(type), std::move(data), "payments", *origin.cause, now);
  }
  return MakeEvent(std::string(type), std::move(data), "payments", origin.correlation_id, "", now);
}

Result<std::optional<Payment>> FindPayment(ReadTransaction& txn, std::string_view payment_id) {
  auto doc = txn.Get(kPaymentsCollection, payment_id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return std::optional<Payment>();
  auto payment = Payment::FromJson(**doc);
  if (!payment) return std::move(payment).error();
  return std::optional<Payment>(std::move(*payment));
}

Result<Payment> LoadPayment(ReadTransaction& txn, std::string_view payment_id) {
  auto found = FindPayment(txn, payment_id);
  if (!found) return std::move(found).error();
  if (!found->has_value())
    return NotFoundError("payment " + std::string(payment_id) + " not found");
  return std::move(**found);
}

Result<std::optional<Payment>> FindPaymentForOrder(ReadTransaction& txn,
                                                   std::string_view order_id) {
  auto doc = txn.FindOne(kPaymentsCollection, "orderId", order_id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return std::optional<Payment>();
  auto payment = Payment::FromJson(**doc);
  if (!payment) return std::move(payment).error();
  return std::optional<Payment>(std::move(*payment));
}

Result<void> InsertPayment(Transaction& txn, const Payment& payment) {
  return txn.Insert(kPaymentsCollection, payment.payment_id, payment.ToJson());
}

Result<void> ReplacePayment(Transaction& txn, const Payment& payment) {
  return txn.Replace(kPaymentsCollection, payment.payment_id, payment.ToJson());
}

Result<void> TransitionAndRecord(Transaction& txn, Payment& payment, PaymentStatus to,
                                 std::string reason, const EventOrigin& origin, TimePoint now) {
  json::object extra;
  if (to == PaymentStatus::kRefunded) extra["reason"] = reason;
  if (auto moved = Transition(payment, to, now, std::move(reason)); !moved) return moved;
  return txn.AppendOutbox(PaymentEvent(EventTypeFor(to), payment, origin, now, std::move(extra)));
}

}  // namespace shopflow::payments
