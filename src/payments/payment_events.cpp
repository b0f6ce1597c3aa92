#include "payments/payment_events.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "payments/gateway.hpp"
#include "payments/payment_records.hpp"
#include "payments/run_blocking.hpp"
#include "storage/inbox_handler.hpp"

namespace shopflow::payments {
namespace {

// What payments reads from an order event (docs/EVENT_PAYLOADS.md: the order plus, on
// ORDER_CREATED, paymentDetails {cardToken, cardLast4, cardBrand}; orders tokenizes at intake).
struct OrderFacts {
  std::string order_id;
  std::string customer_id;
  std::string method;
  Money total;
  std::string card_number;  // a card token (or a number from an event older than issue 8)
};

// `to_charge`: the event must describe a chargeable order (an amount and a known method); a
// compensation only needs the order id and takes the rest as far as it is usable.
Result<OrderFacts> ReadOrderFacts(const json::object& data, bool to_charge) {
  OrderFacts facts;
  facts.order_id = GetString(data, "orderId");
  if (facts.order_id.empty()) return ValidationError("order event without data.orderId");
  facts.customer_id = GetString(data, "customerId");
  facts.method = GetString(data, "paymentMethod", "credit_card");
  const json::value* total = data.if_contains("totalAmount");
  std::optional<Money> amount = total ? Money::FromJson(*total) : std::nullopt;
  if (to_charge) {
    if (!amount || *amount < Money()) {
      return ValidationError("order " + facts.order_id + " has no valid data.totalAmount");
    }
    if (!IsPaymentMethod(facts.method)) {
      return ValidationError("order " + facts.order_id + " has an unknown payment method " +
                             facts.method);
    }
  }
  facts.total = amount.value_or(Money());
  if (!IsPaymentMethod(facts.method)) facts.method = "credit_card";
  if (const auto* details = GetObject(data, "paymentDetails")) {
    // Events written before tokenization carried the number: tokenize it here, keep nothing.
    const std::string token = GetString(*details, "cardToken");
    const std::string number = GetString(*details, "cardNumber");
    if (!token.empty()) {
      facts.card_number = token;
    } else if (!number.empty()) {
      facts.card_number = TokenizeCard(number).token;
    }
  }
  return facts;
}

Payment NewPayment(const OrderFacts& facts, const Envelope& cause, TimePoint now) {
  Payment payment;
  payment.payment_id = NewId();
  payment.order_id = facts.order_id;
  payment.amount = facts.total;
  payment.method = facts.method;
  payment.created_at = now;
  payment.metadata["customerId"] = facts.customer_id;
  payment.metadata["correlationId"] = cause.metadata.correlation_id;
  if (auto last4 = CardLast4(facts.card_number); !last4.empty()) {
    payment.metadata["cardLast4"] = last4;
  }
  return payment;
}

// With a single-writer store the orderId check and the insert cannot interleave with another
// writer; a store that can (unique index clash) gets the event again, and then finds the payment.
Error RetryIfRaced(Error error) {
  if (error.code != ErrorCode::kConflict) return error;
  return UnavailableError("the order's payment was created concurrently: " + error.message);
}

}  // namespace

PaymentEventHandler::PaymentEventHandler(Store& store, PaymentGateway& gateway, const Clock& clock)
    : store_(store), processor_(store, gateway, clock) {}

HandlerOutcome PaymentEventHandler::Handle(const Delivery& delivery) const {
  const std::string_view type = delivery.envelope.event_type;
  const bool ours = type == events::kOrderCreated || type == events::kOrderCancelled ||
                    type == events::kOrderFailed;
  if (!ours) return HandlerOutcome::Ack();
  if (delivery.envelope.metadata.version != "1") {
    return HandlerOutcome::DeadLetter("unsupported version " + delivery.envelope.metadata.version +
                                      " of " + std::string(type));
  }
  if (type == events::kOrderCreated) return HandleOrderCreated(delivery);
  return HandleOrderEnded(delivery,
                          type == events::kOrderCancelled ? "order_cancelled" : "order_failed");
}

EventHandler PaymentEventHandler::AsEventHandler() const {
  return [this](const Delivery& delivery) { return Handle(delivery); };
}

HandlerOutcome PaymentEventHandler::HandleOrderCreated(const Delivery& delivery) const {
  std::optional<ChargeRequest> outstanding;
  const HandlerOutcome outcome =
      ApplyOnce(store_, std::string(kConsumer), delivery,
                [&](Transaction& txn, const Delivery& d) -> Result<void> {
                  outstanding.reset();
                  auto facts = ReadOrderFacts(d.envelope.data, /*to_charge=*/true);
                  if (!facts) return std::move(facts).error();
                  auto existing = FindPaymentForOrder(txn, facts->order_id);
                  if (!existing) return std::move(existing).error();
                  // Paid through the API already, or cancelled before it was created (tombstone).
                  if (existing->has_value()) return Ok();
                  Payment payment = NewPayment(*facts, d.envelope, processor_.clock().Now());
                  auto begun = processor_.Begin(txn, payment, /*is_new=*/true, facts->card_number,
                                                EventOrigin::CausedBy(d.envelope));
                  if (!begun) return RetryIfRaced(std::move(begun).error());
                  outstanding = std::move(*begun);
                  return Ok();
                });
  if (outcome.kind != HandlerOutcome::Kind::kAck || !outstanding) return outcome;

  // Phase 2. The event is already applied (inbox), so whatever happens here the delivery is
  // acknowledged: a redelivery would change nothing, and a payment left `processing` is
  // finished by PaymentWorker's recovery.
  const std::string payment_id = outstanding->payment_id;
  try {
    auto finished = RunBlocking([&] {
      return processor_.Complete(std::move(*outstanding), EventOrigin::CausedBy(delivery.envelope));
    });
    if (!finished) {
      spdlog::warn("payments: payment {} left processing for recovery: {}", payment_id,
                   finished.error().message);
    }
  } catch (const std::exception& e) {
    spdlog::error("payments: charging payment {} failed, left processing for recovery: {}",
                  payment_id, e.what());
  }
  return HandlerOutcome::Ack();
}

HandlerOutcome PaymentEventHandler::HandleOrderEnded(const Delivery& delivery,
                                                     std::string_view reason) const {
  return ApplyOnce(
      store_, std::string(kConsumer), delivery,
      [&](Transaction& txn, const Delivery& d) -> Result<void> {
        auto facts = ReadOrderFacts(d.envelope.data, /*to_charge=*/false);
        if (!facts) return std::move(facts).error();
        const EventOrigin origin = EventOrigin::CausedBy(d.envelope);
        const TimePoint now = processor_.clock().Now();
        auto existing = FindPaymentForOrder(txn, facts->order_id);
        if (!existing) return std::move(existing).error();
        if (!existing->has_value()) {
          // The order ended before its ORDER_CREATED reached us (redelivery order is not
          // guaranteed): a tombstone payment, already failed, makes that late event a no-op.
          Payment tombstone = NewPayment(*facts, d.envelope, now);
          if (auto moved = TransitionAndRecord(txn, tombstone, PaymentStatus::kFailed,
                                               std::string(reason), origin, now);
              !moved) {
            return moved;
          }
          if (auto stored = InsertPayment(txn, tombstone); !stored) {
            return RetryIfRaced(std::move(stored).error());
          }
          return Ok();
        }
        Payment payment = std::move(**existing);
        PaymentStatus to = PaymentStatus::kFailed;
        switch (payment.status) {
          case PaymentStatus::kRequested:
          case PaymentStatus::kProcessing:
            to = PaymentStatus::kFailed;  // nothing captured yet: the charge is abandoned
            break;
          case PaymentStatus::kSucceeded:
            to = PaymentStatus::kRefunded;
            break;
          case PaymentStatus::kFailed:
          case PaymentStatus::kRefunded:
          default:
            return Ok();  // no charge to undo
        }
        if (auto moved = TransitionAndRecord(txn, payment, to, std::string(reason), origin, now);
            !moved) {
          return moved;
        }
        return ReplacePayment(txn, payment);
      });
}

}  // namespace shopflow::payments
