#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/request_context.hpp"
#include "orders/catalog.hpp"
#include "orders/order.hpp"
#include "storage/store.hpp"

namespace shopflow::orders {

struct OrderFilter {
  std::optional<OrderStatus> status;
  std::optional<std::string> customer_id;
};

/// Turns a card number into what may be stored and published: {cardToken, cardLast4,
/// cardBrand}. The composition root passes the payment gateway's tokenization (a pure function,
/// so payments can charge the token in any process); without one only cardLast4 is kept.
using CardTokenizer = std::function<json::object(std::string_view card_number)>;

struct OrderPage {
  std::vector<Order> orders;
  int64_t total = 0;
};

/// Order use cases of API.md. Each state change is stored with its events (ORDER_CREATED,
/// ORDER_UPDATED, ORDER_CANCELLED) in one transaction, so an accepted order always has its
/// event. Thread-safe; store, catalog and clock must outlive it.
class OrderService {
 public:
  OrderService(Store& store, Catalog& catalog, const Clock& clock, CardTokenizer tokenizer = {});

  static std::vector<CollectionSpec> Collections();

  /// Validates, prices lines from the catalog (client prices ignored), stores the order
  /// `pending` and ORDER_CREATED. With an Idempotency-Key, a repeat returns the first response
  /// (the stored JSON) and creates nothing. Returns the order's JSON as first answered.
  boost::asio::awaitable<Result<json::object>> Create(const json::object& body,
                                                      RequestContext context);
  boost::asio::awaitable<Result<Order>> Get(std::string order_id);
  /// The order's JSON as stored, which is Get(order_id)->ToJson() (every write stores
  /// Order::ToJson()): GET /api/orders/:id answers it without parsing and serializing the
  /// order again. kNotFound when absent.
  boost::asio::awaitable<Result<std::string>> GetText(std::string order_id);
  boost::asio::awaitable<Result<OrderPage>> List(OrderFilter filter, Page page);
  /// PUT /api/orders/:id/status: {status, reason?}; illegal transitions → kConflict.
  boost::asio::awaitable<Result<Order>> UpdateStatus(std::string order_id, const json::object& body,
                                                     RequestContext context);
  /// DELETE /api/orders/:id: cancels a pending or paid order; otherwise kConflict.
  boost::asio::awaitable<Result<Order>> Cancel(std::string order_id, std::string reason,
                                               RequestContext context);

 private:
  boost::asio::awaitable<Result<Order>> Transition(std::string order_id, OrderStatus to,
                                                   std::string reason, RequestContext context);

  Store& store_;
  Catalog& catalog_;
  const Clock& clock_;
  const CardTokenizer tokenizer_;
};

}  // namespace shopflow::orders
