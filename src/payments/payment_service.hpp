#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/request_context.hpp"
#include "payments/gateway.hpp"
#include "payments/order_directory.hpp"
#include "payments/payment.hpp"
#include "payments/payment_processor.hpp"
#include "storage/store.hpp"

namespace shopflow::payments {

struct PaymentFilter {
  std::optional<std::string> order_id;
  std::optional<PaymentStatus> status;
};

struct PaymentPage {
  std::vector<Payment> payments;
  int64_t total = 0;
};

/// The payment use cases of API.md ("Payments"). Every state change is stored with its event
/// in one transaction (outbox); a gateway call never happens inside a write (see
/// PaymentProcessor). Bad input is rejected before anything is written.
///
/// Coroutines must be awaited from an executor that serializes its handlers (an HTTP
/// connection's strand); they never block it, also when the gateway has latency. They take
/// their arguments by value, so callers need not keep them alive. Thread-safe; store, orders,
/// gateway and clock must outlive it.
class PaymentService {
 public:
  PaymentService(Store& store, OrderDirectory& orders, PaymentGateway& gateway, const Clock& clock);

  /// PaymentCollections(): the collections to declare in the store.
  static std::vector<CollectionSpec> Collections();

  /// POST /api/payments/process {orderId, method?, paymentDetails?}: runs the order's payment
  /// now. Unknown order → kNotFound; order not `pending`, or its payment past `requested` →
  /// kConflict; a `requested` payment is processed, a missing one created (amount = the
  /// order's total, method = body.method or the order's). Declines are not errors: the answer
  /// is the payment, `failed`. With an Idempotency-Key a repeat with the same body answers the
  /// first response (while the first is still at the gateway: the payment as it stands) and
  /// creates nothing; a different body → kConflict. Returns the payment's JSON.
  boost::asio::awaitable<Result<json::object>> Process(json::object body, RequestContext context);

  /// PUT /api/payments/:id/status {status, reason?}: the bank's confirmation. Allowed:
  /// processing → succeeded | failed, requested → processing | failed; others → kConflict;
  /// an unknown status value → kValidationFailed; unknown id → kNotFound.
  boost::asio::awaitable<Result<Payment>> UpdateStatus(std::string payment_id, json::object body,
                                                       RequestContext context);

  boost::asio::awaitable<Result<Payment>> Get(std::string payment_id);
  /// Newest first.
  boost::asio::awaitable<Result<PaymentPage>> List(PaymentFilter filter, Page page);

  /// POST /api/payments/:id/refund {reason?}: succeeded → refunded with PAYMENT_REFUNDED;
  /// kConflict unless `succeeded`, or when the order is `shipped` or `delivered`.
  boost::asio::awaitable<Result<Payment>> Refund(std::string payment_id, json::object body,
                                                 RequestContext context);

 private:
  Store& store_;
  OrderDirectory& orders_;
  const Clock& clock_;
  PaymentProcessor processor_;
};

}  // namespace shopflow::payments
