#include "orders/order_routes.hpp"

namespace shopflow::orders {
namespace asio = boost::asio;

namespace {

asio::awaitable<ApiResponse> ListOrders(OrderService& orders, ApiRequest& req) {
  auto page = ReadPage(req);
  if (!page) co_return ErrorResponse(page.error());
  OrderFilter filter;
  if (auto s = req.Query("status")) {
    filter.status = ParseStatus(*s);
    if (!filter.status) {
      co_return ErrorResponse(ValidationError(
          "unknown status filter",
          {{"status", "must be one of pending, paid, shipped, delivered, cancelled, failed"}}));
    }
  }
  if (auto c = req.Query("customerId")) filter.customer_id = std::string(*c);
  // A customer's list is its own orders (issue 8); asking for another customer's is refused.
  if (auto own = req.principal.OwnerScope()) {
    if (filter.customer_id && *filter.customer_id != *own) {
      co_return ErrorResponse(
          Error{ErrorCode::kForbidden, "a customer may list only its own orders", {}});
    }
    filter.customer_id = *own;
  }
  auto found = co_await orders.List(std::move(filter), *page);
  if (!found) co_return ErrorResponse(found.error());
  json::array data;
  for (const auto& o : found->orders) data.push_back(o.ToJson());
  co_return JsonResponse(200, ListBody(std::move(data), found->total, *page));
}

asio::awaitable<ApiResponse> CreateOrder(OrderService& orders, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  if (auto own = req.principal.OwnerScope()) {
    // Missing or malformed customerId is the validator's to report; another customer's is not.
    const json::value* customer = body->if_contains("customerId");
    if (customer && customer->is_string() && customer->get_string() != *own) {
      co_return ErrorResponse(
          Error{ErrorCode::kForbidden, "a customer may create orders only for itself", {}});
    }
  }
  auto created = co_await orders.Create(*body, ContextOf(req));
  if (!created) co_return ErrorResponse(created.error());
  co_return JsonResponse(201, std::move(*created));
}

asio::awaitable<ApiResponse> GetOrder(OrderService& orders, ApiRequest& req) {
  if (auto own = req.principal.OwnerScope()) {
    auto found = co_await orders.Get(std::string(req.Param("id")));
    if (!found) co_return ErrorResponse(found.error());
    // Another customer's order does not exist as far as this customer can tell (no enumeration).
    if (found->customer_id != *own) {
      co_return ErrorResponse(
          NotFoundError("order " + std::string(req.Param("id")) + " not found"));
    }
    co_return JsonResponse(200, found->ToJson());
  }
  // The hot read: the stored document is the answer, sent without a parse and a serialization.
  auto text = co_await orders.GetText(std::string(req.Param("id")));
  if (!text) co_return ErrorResponse(text.error());
  ApiResponse response;
  response.raw_body = std::move(*text);
  co_return response;
}

asio::awaitable<ApiResponse> UpdateOrderStatus(OrderService& orders, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto updated = co_await orders.UpdateStatus(std::string(req.Param("id")), *body, ContextOf(req));
  if (!updated) co_return ErrorResponse(updated.error());
  co_return JsonResponse(200, updated->ToJson());
}

asio::awaitable<ApiResponse> CancelOrder(OrderService& orders, ApiRequest& req) {
  auto cancelled =
      co_await orders.Cancel(std::string(req.Param("id")), "cancelled via API", ContextOf(req));
  if (!cancelled) co_return ErrorResponse(cancelled.error());
  co_return JsonResponse(200, cancelled->ToJson());
}

}  // namespace

std::vector<Route> OrderRoutes(OrderService& orders) {
  auto bind = [&orders](auto fn) -> ApiHandler {
    return [&orders, fn](ApiRequest& req) { return fn(orders, req); };
  };
  return {
      {"GET", "/api/orders", bind(ListOrders)},
      {"POST", "/api/orders", bind(CreateOrder)},
      {"GET", "/api/orders/:id", bind(GetOrder)},
      {"PUT", "/api/orders/:id/status", bind(UpdateOrderStatus)},
      {"DELETE", "/api/orders/:id", bind(CancelOrder)},
  };
}

}  // namespace shopflow::orders
