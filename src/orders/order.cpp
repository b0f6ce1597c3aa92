#include "orders/order.hpp"

#include <array>

namespace shopflow::orders {
namespace {

constexpr std::array<std::pair<OrderStatus, std::string_view>, 6> kStatusNames{{
    {OrderStatus::kPending, "pending"},
    {OrderStatus::kPaid, "paid"},
    {OrderStatus::kShipped, "shipped"},
    {OrderStatus::kDelivered, "delivered"},
    {OrderStatus::kCancelled, "cancelled"},
    {OrderStatus::kFailed, "failed"},
}};

Result<void> Apply(Order& order, OrderStatus to, std::string reason, TimePoint now, bool allowed) {
  if (!allowed) {
    return ConflictError("order " + order.order_id + " cannot go from " +
                         std::string(StatusName(order.status)) + " to " +
                         std::string(StatusName(to)));
  }
  order.status = to;
  order.updated_at = now;
  if (to == OrderStatus::kFailed) order.failure_reason = reason;
  order.history.push_back(HistoryEntry{to, now, std::move(reason)});
  return Ok();
}

}  // namespace

std::string_view StatusName(OrderStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "pending";
}

std::optional<OrderStatus> ParseStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsFinal(OrderStatus status) {
  return status == OrderStatus::kDelivered || status == OrderStatus::kCancelled ||
         status == OrderStatus::kFailed;
}

Money Order::total_amount() const {
  Money total;
  for (const auto& line : items) total += line.total();
  return total;
}

json::object Order::ToJson() const {
  json::array lines;
  for (const auto& l : items) {
    lines.push_back(json::object{{"productId", l.product_id},
                                 {"name", l.name},
                                 {"quantity", l.quantity},
                                 {"price", l.price.ToJson()},
                                 {"total", l.total().ToJson()}});
  }
  json::array hist;
  for (const auto& h : history) {
    hist.push_back(json::object{
        {"status", StatusName(h.status)}, {"at", FormatRfc3339(h.at)}, {"reason", h.reason}});
  }
  json::object doc{
      {"orderId", order_id},
      {"customerId", customer_id},
      {"status", StatusName(status)},
      {"items", std::move(lines)},
      {"totalAmount", total_amount().ToJson()},
      {"paymentMethod", payment_method},
      {"paymentDetails", payment_details},
      {"createdAt", FormatRfc3339(created_at)},
      {"updatedAt", FormatRfc3339(updated_at)},
      {"metadata", metadata},
      {"history", std::move(hist)},
      {"saga", json::object{{"stock", stock_state.empty() ? "pending" : stock_state},
                            {"payment", payment_state.empty() ? "pending" : payment_state},
                            {"paymentId", payment_id}}}};
  if (!failure_reason.empty()) doc["failureReason"] = failure_reason;
  return doc;
}

Result<Order> Order::FromJson(const json::object& doc) {
  Order o;
  o.order_id = GetString(doc, "orderId");
  if (o.order_id.empty()) return InternalError("stored order has no orderId");
  o.customer_id = GetString(doc, "customerId");
  auto status = ParseStatus(GetString(doc, "status"));
  if (!status) return InternalError("stored order " + o.order_id + " has an unknown status");
  o.status = *status;
  if (const auto* lines = GetArray(doc, "items")) {
    for (const auto& v : *lines) {
      if (!v.is_object()) continue;
      const auto& l = v.get_object();
      o.items.push_back(OrderLine{GetString(l, "productId"), GetString(l, "name"),
                                  GetInt(l, "quantity"), GetMoney(l, "price")});
    }
  }
  o.payment_method = GetString(doc, "paymentMethod", "credit_card");
  if (const auto* pd = GetObject(doc, "paymentDetails")) o.payment_details = *pd;
  o.failure_reason = GetString(doc, "failureReason");
  o.created_at = ParseRfc3339(GetString(doc, "createdAt")).value_or(TimePoint{});
  o.updated_at = ParseRfc3339(GetString(doc, "updatedAt")).value_or(TimePoint{});
  if (const auto* md = GetObject(doc, "metadata")) o.metadata = *md;
  if (const auto* hist = GetArray(doc, "history")) {
    for (const auto& v : *hist) {
      if (!v.is_object()) continue;
      const auto& h = v.get_object();
      o.history.push_back(HistoryEntry{
          ParseStatus(GetString(h, "status")).value_or(OrderStatus::kPending),
          ParseRfc3339(GetString(h, "at")).value_or(TimePoint{}), GetString(h, "reason")});
    }
  }
  if (const auto* saga = GetObject(doc, "saga")) {
    o.stock_state = GetString(*saga, "stock");
    o.payment_state = GetString(*saga, "payment");
    o.payment_id = GetString(*saga, "paymentId");
    if (o.stock_state == "pending") o.stock_state.clear();
    if (o.payment_state == "pending") o.payment_state.clear();
  }
  return o;
}

Result<void> TransitionByHand(Order& order, OrderStatus to, std::string reason, TimePoint now) {
  const OrderStatus from = order.status;
  const bool allowed = (from == OrderStatus::kPaid && to == OrderStatus::kShipped) ||
                       (from == OrderStatus::kShipped && to == OrderStatus::kDelivered) ||
                       ((from == OrderStatus::kPending || from == OrderStatus::kPaid) &&
                        to == OrderStatus::kCancelled);
  return Apply(order, to, std::move(reason), now, allowed);
}

Result<void> TransitionBySaga(Order& order, OrderStatus to, std::string reason, TimePoint now) {
  const OrderStatus from = order.status;
  const bool allowed =
      (from == OrderStatus::kPending &&
       (to == OrderStatus::kPaid || to == OrderStatus::kFailed || to == OrderStatus::kCancelled)) ||
      (from == OrderStatus::kPaid && to == OrderStatus::kCancelled);
  return Apply(order, to, std::move(reason), now, allowed);
}

}  // namespace shopflow::orders
