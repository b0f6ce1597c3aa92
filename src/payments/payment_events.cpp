#include "payments/payment_events.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "payments/gateway.hpp"
#include "payments/payment_records.hpp"
#include "storage/inbox_handler.hpp"

namespace shopflow::payments {
namespace asio = boost::asio;

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

bool ForPayments(std::string_view type) {
  return type == events::kOrderCreated || type == events::kOrderCancelled ||
         type == events::kOrderFailed;
}

// ORDER_CREATED inside the inbox transaction: creates the order's payment unless it has one and
// begins its charge; `outstanding` is then the charge still to send to the gateway, if any.
Result<void> ApplyOrderCreated(const PaymentProcessor& processor, Transaction& txn,
                               const Envelope& cause, const OrderFacts& facts,
                               std::optional<ChargeRequest>& outstanding) {
  auto existing = FindPaymentForOrder(txn, facts.order_id);
  if (!existing) return std::move(existing).error();
  // Paid through the API already, or cancelled before it was created (tombstone), or created
  // by an earlier delivery of this batch.
  if (existing->has_value()) return Ok();
  Payment payment = NewPayment(facts, cause, processor.clock().Now());
  auto begun = processor.Begin(txn, payment, /*is_new=*/true, facts.card_number,
                               EventOrigin::CausedBy(cause));
  if (!begun) return RetryIfRaced(std::move(begun).error());
  outstanding = std::move(*begun);
  return Ok();
}

// ORDER_CANCELLED / ORDER_FAILED inside the inbox transaction: the order's charge is undone.
Result<void> ApplyOrderEnded(const PaymentProcessor& processor, Transaction& txn,
                             const Envelope& cause, const OrderFacts& facts,
                             std::string_view reason) {
  const EventOrigin origin = EventOrigin::CausedBy(cause);
  const TimePoint now = processor.clock().Now();
  auto existing = FindPaymentForOrder(txn, facts.order_id);
  if (!existing) return std::move(existing).error();
  if (!existing->has_value()) {
    // The order ended before its ORDER_CREATED reached us (redelivery order is not
    // guaranteed): a tombstone payment, already failed, makes that late event a no-op.
    Payment tombstone = NewPayment(facts, cause, now);
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
}

// Phase 2 of one charge, awaited next to the others of its batch.
asio::awaitable<void> CompleteOne(const PaymentProcessor& processor, ChargeRequest request,
                                  const Envelope* cause) {
  const std::string payment_id = request.payment_id;
  auto finished = co_await processor.Complete(std::move(request), EventOrigin::CausedBy(*cause));
  if (!finished) {
    spdlog::warn("payments: payment {} left processing for recovery: {}", payment_id,
                 finished.error().message);
  }
}

}  // namespace

PaymentEventHandler::PaymentEventHandler(Store& store, PaymentGateway& gateway, const Clock& clock)
    : store_(store), processor_(store, gateway, clock) {}

HandlerOutcome PaymentEventHandler::Handle(const Delivery& delivery) const {
  return HandleBatch(std::span<const Delivery>(&delivery, 1)).front();
}

std::vector<HandlerOutcome> PaymentEventHandler::HandleBatch(
    std::span<const Delivery> deliveries) const {
  std::vector<HandlerOutcome> outcomes(deliveries.size(), HandlerOutcome::Ack());
  // Read before any write: an unusable event is dead-lettered without spoiling the batch's
  // transaction (a rolled-back one would be applied again, delivery by delivery, and the
  // gateway asked twice for each charge it answers at once).
  std::vector<std::optional<OrderFacts>> facts(deliveries.size());
  for (size_t i = 0; i < deliveries.size(); ++i) {
    const Envelope& e = deliveries[i].envelope;
    if (!ForPayments(e.event_type)) continue;
    if (e.metadata.version != "1") {
      outcomes[i] = HandlerOutcome::DeadLetter("unsupported version " + e.metadata.version +
                                               " of " + e.event_type);
      continue;
    }
    auto read = ReadOrderFacts(e.data, /*to_charge=*/e.event_type == events::kOrderCreated);
    if (!read) {
      outcomes[i] = HandlerOutcome::DeadLetter(std::string(ErrorCodeName(read.error().code)) +
                                               ": " + read.error().message);
      continue;
    }
    facts[i] = std::move(*read);
  }
  auto index_of = [deliveries](const Delivery& delivery) {
    return static_cast<size_t>(&delivery - deliveries.data());
  };

  // Phase 1: every usable delivery with its inbox mark, in one transaction.
  std::vector<std::optional<ChargeRequest>> outstanding(deliveries.size());
  std::vector<bool> applied;
  std::vector<HandlerOutcome> applying = ApplyOnceBatch(
      store_, std::string(kConsumer), deliveries,
      [&](Transaction& txn, const Delivery& delivery) -> Result<void> {
        const size_t i = index_of(delivery);
        outstanding[i].reset();
        const Envelope& e = delivery.envelope;
        if (e.event_type == events::kOrderCreated) {
          return ApplyOrderCreated(processor_, txn, e, *facts[i], outstanding[i]);
        }
        return ApplyOrderEnded(
            processor_, txn, e, *facts[i],
            e.event_type == events::kOrderCancelled ? "order_cancelled" : "order_failed");
      },
      [&](const Delivery& delivery) { return facts[index_of(delivery)].has_value(); }, &applied);
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (facts[i]) outcomes[i] = std::move(applying[i]);
  }

  // Phase 2, only for what phase 1 committed: an effect that ran in a transaction that was
  // rolled back (and perhaps retried on its own) left a charge that may not exist. The events
  // are already applied (inbox), so whatever happens here they are acknowledged: a redelivery
  // would change nothing, and a payment left `processing` is finished by PaymentWorker.
  std::vector<Outstanding> charges;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (applied[i] && outstanding[i]) {
      charges.push_back({std::move(*outstanding[i]), &deliveries[i].envelope});
    }
  }
  if (!charges.empty()) CompleteCharges(std::move(charges));
  return outcomes;
}

void PaymentEventHandler::CompleteCharges(std::vector<Outstanding> charges) const {
  // A private io_context run by this (bus) thread: Complete needs an executor that serializes
  // its handlers, and the gateway's waits then overlap instead of adding up.
  asio::io_context context(1);
  for (Outstanding& charge : charges) {
    std::string payment_id = charge.request.payment_id;
    asio::co_spawn(context, CompleteOne(processor_, std::move(charge.request), charge.cause),
                   [payment_id = std::move(payment_id)](const std::exception_ptr& failure) {
                     if (!failure) return;
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       spdlog::error(
                           "payments: charging payment {} failed, left processing for "
                           "recovery: {}",
                           payment_id, e.what());
                     }
                   });
  }
  context.run();
}

}  // namespace shopflow::payments
