#include "payments/payment_routes.hpp"

#include <algorithm>
#include <cctype>

namespace shopflow::payments {
namespace asio = boost::asio;

namespace {

asio::awaitable<ApiResponse> ProcessPayment(PaymentService& payments, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto processed = co_await payments.Process(std::move(*body), ContextOf(req));
  if (!processed) co_return ErrorResponse(processed.error());
  co_return JsonResponse(201, std::move(*processed));
}

asio::awaitable<ApiResponse> UpdatePaymentStatus(PaymentService& payments, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto updated = co_await payments.UpdateStatus(std::string(req.Param("id")), std::move(*body),
                                                ContextOf(req));
  if (!updated) co_return ErrorResponse(updated.error());
  co_return JsonResponse(200, updated->ToJson());
}

asio::awaitable<ApiResponse> ListPayments(PaymentService& payments, ApiRequest& req) {
  auto page = ReadPage(req);
  if (!page) co_return ErrorResponse(page.error());
  PaymentFilter filter;
  if (auto s = req.Query("status")) {
    filter.status = ParseStatus(*s);
    if (!filter.status) {
      co_return ErrorResponse(ValidationError(
          "unknown status filter", {{"status", "must be one of " + std::string(kStatusList)}}));
    }
  }
  if (auto o = req.Query("orderId")) filter.order_id = std::string(*o);
  // Customers list the payment of one of their orders (payments are indexed by order, not by
  // customer): orderId is required and another customer's payment is left out.
  const auto own = req.principal.OwnerScope();
  if (own && !filter.order_id) {
    co_return ErrorResponse(ValidationError("customers list payments by order",
                                            {{"orderId", "is required for a customer"}}));
  }
  auto found = co_await payments.List(std::move(filter), *page);
  if (!found) co_return ErrorResponse(found.error());
  if (own) {
    std::erase_if(found->payments, [&](const Payment& p) { return p.customer_id() != *own; });
    found->total = static_cast<int64_t>(found->payments.size());
  }
  json::array data;
  for (const auto& p : found->payments) data.push_back(p.ToJson());
  co_return JsonResponse(200, ListBody(std::move(data), found->total, *page));
}

asio::awaitable<ApiResponse> GetPayment(PaymentService& payments, ApiRequest& req) {
  auto found = co_await payments.Get(std::string(req.Param("id")));
  if (!found) co_return ErrorResponse(found.error());
  if (auto own = req.principal.OwnerScope(); own && found->customer_id() != *own) {
    co_return ErrorResponse(
        NotFoundError("payment " + std::string(req.Param("id")) + " not found"));
  }
  co_return JsonResponse(200, found->ToJson());
}

// A refund needs no body ({reason?} is optional), so an empty one (with or without a content
// type) means {}; anything else must be a JSON object like every other body.
asio::awaitable<ApiResponse> RefundPayment(PaymentService& payments, ApiRequest& req) {
  json::object body;
  const bool blank = std::all_of(req.body.begin(), req.body.end(),
                                 [](unsigned char c) { return std::isspace(c) != 0; });
  if (!blank) {
    auto parsed = JsonObjectBody(req);
    if (!parsed) co_return ErrorResponse(parsed.error());
    body = std::move(*parsed);
  }
  auto refunded =
      co_await payments.Refund(std::string(req.Param("id")), std::move(body), ContextOf(req));
  if (!refunded) co_return ErrorResponse(refunded.error());
  co_return JsonResponse(200, refunded->ToJson());
}

}  // namespace

std::vector<Route> PaymentRoutes(PaymentService& payments) {
  auto bind = [&payments](auto fn) -> ApiHandler {
    return [&payments, fn](ApiRequest& req) { return fn(payments, req); };
  };
  return {
      {"POST", "/api/payments/process", bind(ProcessPayment)},
      {"PUT", "/api/payments/:id/status", bind(UpdatePaymentStatus)},
      {"GET", "/api/payments", bind(ListPayments)},
      {"GET", "/api/payments/:id", bind(GetPayment)},
      {"POST", "/api/payments/:id/refund", bind(RefundPayment)},
  };
}

}  // namespace shopflow::payments
