#include "payments/payment_service.hpp"

#include <utility>

#include "core/ids.hpp"
#include "payments/gateway.hpp"
#include "storage/await.hpp"
#include "storage/idempotency.hpp"

namespace shopflow::payments {
namespace asio = boost::asio;

namespace {

constexpr std::string_view kIdempotencyScope = "payments.process";
// Marks a keyed request whose charge is still at the gateway (between the two phases): a repeat
// then answers the payment as it stands instead of a 409 for "already processing".
constexpr std::string_view kInFlightScope = "payments.process.inflight";
constexpr size_t kMaxDetailsBytes = 2048;
constexpr size_t kMaxReasonLength = 500;

// The fingerprint must tell different requests apart without being a function of the full card
// number (a 64-bit hash of a 16-digit number can be brute-forced): it sees only the last four.
std::string SafeFingerprint(const json::object& body) {
  json::object copy = body;
  if (auto* details = copy.if_contains("paymentDetails"); details && details->is_object()) {
    json::object& d = details->get_object();
    for (const char* secret : {"cvv", "cvc", "securityCode"}) d.erase(secret);
    if (auto* number = d.if_contains("cardNumber"); number && number->is_string()) {
      *number = "last4:" + CardLast4(std::string_view(number->get_string()));
    }
  }
  return RequestFingerprint(copy);
}

Result<void> RememberOnce(Transaction& txn, std::string_view scope, std::string_view key,
                          std::string_view fingerprint, const StoredResponse& response,
                          TimePoint now) {
  auto previous = FindIdempotentResponse(txn, scope, key, fingerprint);
  if (!previous) return std::move(previous).error();
  if (previous->has_value()) return Ok();
  return RememberIdempotentResponse(txn, scope, key, fingerprint, response, now);
}

// The answer already given to (key, fingerprint): the first response, or, while that first
// request is still at the gateway, the payment as it stands. nullopt for a new key; kConflict
// for a key used with a different request.
Result<std::optional<json::object>> PreviousAnswer(Transaction& txn, std::string_view key,
                                                   std::string_view fingerprint) {
  auto first = FindIdempotentResponse(txn, kIdempotencyScope, key, fingerprint);
  if (!first) return std::move(first).error();
  if (first->has_value() && (*first)->body.is_object()) {
    return std::optional<json::object>((*first)->body.get_object());
  }
  auto in_flight = FindIdempotentResponse(txn, kInFlightScope, key, fingerprint);
  if (!in_flight) return std::move(in_flight).error();
  if (in_flight->has_value() && (*in_flight)->body.is_object()) {
    auto current = LoadPayment(txn, GetString((*in_flight)->body.get_object(), "paymentId"));
    if (!current) return std::move(current).error();
    return std::optional<json::object>(current->ToJson());
  }
  return std::optional<json::object>();
}

}  // namespace

PaymentService::PaymentService(Store& store, OrderDirectory& orders, PaymentGateway& gateway,
                               const Clock& clock)
    : store_(store), orders_(orders), clock_(clock), processor_(store, gateway, clock) {}

std::vector<CollectionSpec> PaymentService::Collections() { return PaymentCollections(); }

asio::awaitable<Result<json::object>> PaymentService::Process(json::object body,
                                                              RequestContext context) {
  const std::string& key = context.idempotency_key;
  if (!key.empty()) {
    if (auto ok = ValidateIdempotencyKey(key); !ok) co_return std::move(ok).error();
  }
  BodyReader r(body);
  auto order_id = r.RequiredString("orderId", 128);
  auto method = r.OptionalString("method", 32);
  const json::object* details = r.OptionalObject("paymentDetails");
  r.RejectUnknownFields();
  if (method && !IsPaymentMethod(*method)) {
    r.Fail("method", "must be one of " + std::string(kMethodList));
  }
  std::string card_number;
  if (details) {
    if (ToJsonText(*details).size() > kMaxDetailsBytes) {
      r.Fail("paymentDetails", "must be at most 2 KiB");
    } else if (const auto* number = details->if_contains("cardNumber");
               number && !number->is_null()) {
      if (!number->is_string() || number->get_string().size() > 32) {
        r.Fail("paymentDetails.cardNumber", "must be a string of at most 32 characters");
      } else {
        // Tokenized at intake: from here on only the token exists (issue 8).
        card_number = TokenizeCard(std::string_view(number->get_string())).token;
      }
    } else if (const auto* token = details->if_contains("cardToken"); token && !token->is_null()) {
      if (!token->is_string() || !IsCardToken(std::string_view(token->get_string()))) {
        r.Fail("paymentDetails.cardToken", "must be a card token (tok_...)");
      } else {
        card_number = std::string(token->get_string());
      }
    }
  }
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();

  const std::string fingerprint = key.empty() ? "" : SafeFingerprint(body);
  if (!key.empty()) {
    // Before the order is looked at: a repeat gets the first answer even after the order moved
    // on (paid, once its payment succeeded).
    std::optional<json::object> previous;
    auto checked = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
      auto found = PreviousAnswer(txn, key, fingerprint);
      if (!found) return std::move(found).error();
      previous = std::move(*found);
      return Ok();
    });
    if (!checked) co_return std::move(checked).error();
    if (previous) {
      const json::object* metadata = GetObject(*previous, "metadata");
      if (auto own = context.principal.OwnerScope();
          own && (!metadata || GetString(*metadata, "customerId") != *own)) {
        co_return NotFoundError("order " + *order_id + " not found");
      }
      co_return std::move(*previous);
    }
  }

  auto order = co_await orders_.Find(*order_id);
  if (!order) co_return std::move(order).error();
  if (!order->has_value()) co_return NotFoundError("order " + *order_id + " not found");
  const OrderSnapshot& snapshot = **order;
  // A customer pays only its own orders; another's is as good as absent (issue 8).
  if (auto own = context.principal.OwnerScope(); own && snapshot.customer_id != *own) {
    co_return NotFoundError("order " + *order_id + " not found");
  }
  if (snapshot.status != "pending") {
    co_return ConflictError("order " + *order_id + " is " + snapshot.status +
                            ", not pending: its payment cannot be processed");
  }

  const EventOrigin origin = EventOrigin::Correlated(context.correlation_id);
  json::object answer;
  std::optional<ChargeRequest> outstanding;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    const TimePoint now = clock_.Now();
    if (!key.empty()) {
      // Again inside the write that creates: concurrent repeats are serialized here.
      auto previous = PreviousAnswer(txn, key, fingerprint);
      if (!previous) return std::move(previous).error();
      if (previous->has_value()) {
        answer = std::move(**previous);
        return Ok();
      }
    }
    auto existing = FindPaymentForOrder(txn, *order_id);
    if (!existing) return std::move(existing).error();
    Payment payment;
    const bool is_new = !existing->has_value();
    if (!is_new) {
      payment = std::move(**existing);
      if (payment.status != PaymentStatus::kRequested) {
        return ConflictError("order " + *order_id + " already has a payment, " +
                             std::string(StatusName(payment.status)));
      }
      if (method) payment.method = *method;
    } else {
      payment.payment_id = NewId();
      payment.order_id = *order_id;
      payment.amount = snapshot.total_amount;
      payment.method = method.value_or(
          IsPaymentMethod(snapshot.payment_method) ? snapshot.payment_method : "credit_card");
      payment.created_at = now;
      payment.metadata["customerId"] = snapshot.customer_id;
      payment.metadata["correlationId"] = context.correlation_id;
    }
    if (auto last4 = CardLast4(card_number); !last4.empty()) payment.metadata["cardLast4"] = last4;
    auto begun = processor_.Begin(txn, payment, is_new, card_number, origin);
    if (!begun) return std::move(begun).error();
    outstanding = std::move(*begun);
    answer = payment.ToJson();
    if (key.empty()) return Ok();
    if (outstanding) {
      return RememberIdempotentResponse(txn, kInFlightScope, key, fingerprint,
                                        {201, json::object{{"paymentId", payment.payment_id}}},
                                        now);
    }
    return RememberIdempotentResponse(txn, kIdempotencyScope, key, fingerprint, {201, answer}, now);
  });
  if (!written) co_return std::move(written).error();
  if (!outstanding) co_return answer;

  auto finished = co_await processor_.Complete(
      std::move(*outstanding), origin, [&](Transaction& txn, const Payment& payment) {
        if (key.empty()) return Ok();
        return RememberOnce(txn, kIdempotencyScope, key, fingerprint, {201, payment.ToJson()},
                            clock_.Now());
      });
  if (!finished) co_return std::move(finished).error();
  co_return finished->ToJson();
}

asio::awaitable<Result<Payment>> PaymentService::UpdateStatus(std::string payment_id,
                                                              json::object body,
                                                              RequestContext context) {
  BodyReader r(body);
  auto status_name = r.RequiredString("status", 32);
  auto reason = r.OptionalString("reason", kMaxReasonLength);
  r.RejectUnknownFields();
  std::optional<PaymentStatus> to;
  if (status_name) {
    to = ParseStatus(*status_name);
    if (!to) r.Fail("status", "must be one of " + std::string(kStatusList));
  }
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();

  const EventOrigin origin = EventOrigin::Correlated(context.correlation_id);
  std::optional<Payment> updated;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto payment = LoadPayment(txn, payment_id);
    if (!payment) return std::move(payment).error();
    const PaymentStatus from = payment->status;
    // By hand only the bank's answers are accepted; refunds have their own endpoint and the
    // gateway's decisions are not overridden.
    const bool by_hand = (from == PaymentStatus::kProcessing &&
                          (*to == PaymentStatus::kSucceeded || *to == PaymentStatus::kFailed)) ||
                         (from == PaymentStatus::kRequested &&
                          (*to == PaymentStatus::kProcessing || *to == PaymentStatus::kFailed));
    if (!by_hand) {
      return ConflictError("payment " + payment_id + " cannot go from " +
                           std::string(StatusName(from)) + " to " + *status_name);
    }
    if (*to == PaymentStatus::kSucceeded && payment->transaction_id.empty()) {
      payment->transaction_id = "txn_" + NewId();
    }
    std::string why = reason.value_or(*to == PaymentStatus::kFailed ? "bank_declined" : "");
    if (auto moved = TransitionAndRecord(txn, *payment, *to, std::move(why), origin, clock_.Now());
        !moved) {
      return moved;
    }
    if (auto stored = ReplacePayment(txn, *payment); !stored) return stored;
    updated = std::move(*payment);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*updated);
}

asio::awaitable<Result<Payment>> PaymentService::Get(std::string payment_id) {
  std::optional<Result<Payment>> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    out = LoadPayment(txn, payment_id);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return std::move(*out);
}

asio::awaitable<Result<PaymentPage>> PaymentService::List(PaymentFilter filter, Page page) {
  FindQuery query;
  if (filter.order_id) query.filters.push_back({"orderId", FieldFilter::Op::kEq, *filter.order_id});
  if (filter.status) {
    query.filters.push_back(
        {"status", FieldFilter::Op::kEq, std::string(StatusName(*filter.status))});
  }
  query.limit = page.limit;
  query.offset = page.offset;
  query.newest_first = true;
  PaymentPage out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = txn.Find(kPaymentsCollection, query);
    if (!found) return std::move(found).error();
    out.total = found->total;
    for (const auto& doc : found->docs) {
      auto payment = Payment::FromJson(doc);
      if (!payment) return std::move(payment).error();
      out.payments.push_back(std::move(*payment));
    }
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

asio::awaitable<Result<Payment>> PaymentService::Refund(std::string payment_id, json::object body,
                                                        RequestContext context) {
  BodyReader r(body);
  auto reason = r.OptionalString("reason", kMaxReasonLength);
  r.RejectUnknownFields();
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();

  auto current = co_await Get(payment_id);
  if (!current) co_return std::move(current).error();
  if (current->status != PaymentStatus::kSucceeded) {
    co_return ConflictError("payment " + payment_id + " is " +
                            std::string(StatusName(current->status)) +
                            ": only a succeeded payment can be refunded");
  }
  // Returns are out of scope (API.md): goods on their way or delivered keep their payment. The
  // order may move between this check and the write below; the orders module, which reacts to
  // PAYMENT_REFUNDED, has the last word on its own state.
  auto order = co_await orders_.Find(current->order_id);
  if (!order) co_return std::move(order).error();
  if (order->has_value() && ((*order)->status == "shipped" || (*order)->status == "delivered")) {
    co_return ConflictError("order " + current->order_id + " is " + (*order)->status +
                            ": returns are out of scope, the payment cannot be refunded");
  }

  const EventOrigin origin = EventOrigin::Correlated(context.correlation_id);
  std::optional<Payment> refunded;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto payment = LoadPayment(txn, payment_id);
    if (!payment) return std::move(payment).error();
    if (payment->status != PaymentStatus::kSucceeded) {
      return ConflictError("payment " + payment_id + " is " +
                           std::string(StatusName(payment->status)) +
                           ": only a succeeded payment can be refunded");
    }
    if (auto moved =
            TransitionAndRecord(txn, *payment, PaymentStatus::kRefunded,
                                reason.value_or("requested_by_customer"), origin, clock_.Now());
        !moved) {
      return moved;
    }
    if (auto stored = ReplacePayment(txn, *payment); !stored) return stored;
    refunded = std::move(*payment);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*refunded);
}

}  // namespace shopflow::payments
