#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace shopflow::orders {

inline constexpr std::string_view kOrdersCollection = "orders";

/// API.md "Statuses": pending → paid → shipped → delivered; pending → failed;
/// pending | paid → cancelled.
enum class OrderStatus { kPending, kPaid, kShipped, kDelivered, kCancelled, kFailed };

std::string_view StatusName(OrderStatus status);
std::optional<OrderStatus> ParseStatus(std::string_view name);
/// True for statuses no transition leaves (delivered, cancelled, failed).
bool IsFinal(OrderStatus status);

inline constexpr std::string_view kPaymentMethods[] = {"credit_card", "debit_card", "pix",
                                                       "boleto"};

struct OrderLine {
  std::string product_id;
  std::string name;
  int64_t quantity = 0;
  Money price;  // unit price from the catalog at the moment of ordering

  Money total() const { return price * quantity; }
};

struct HistoryEntry {
  OrderStatus status = OrderStatus::kPending;
  TimePoint at{};
  std::string reason;
};

struct Order {
  std::string order_id;
  std::string customer_id;
  OrderStatus status = OrderStatus::kPending;
  std::vector<OrderLine> items;
  std::string payment_method = "credit_card";
  json::object payment_details;  // sanitized: never a full card number
  std::string failure_reason;
  TimePoint created_at{};
  TimePoint updated_at{};
  json::object metadata;  // {source, correlationId, ...client metadata}
  std::vector<HistoryEntry> history;

  // Saga progress while pending, from inventory and payment events (shown as "saga").
  std::string stock_state;    // "", "reserved", "rejected"
  std::string payment_state;  // "", "requested", "processing", "succeeded", "failed", "refunded"
  std::string payment_id;

  Money total_amount() const;

  /// The API shape of API.md ("Order"), which is also the stored document.
  json::object ToJson() const;
  static Result<Order> FromJson(const json::object& doc);
};

/// Moves `order` to `to` as an operator or customer may (PUT .../status, DELETE): paid →
/// shipped → delivered, or pending | paid → cancelled. Anything else → kConflict, order unchanged.
Result<void> TransitionByHand(Order& order, OrderStatus to, std::string reason, TimePoint now);
/// Moves `order` as the saga does (pending → paid, pending → failed, paid → cancelled by refund).
/// Anything else → kConflict, order unchanged.
Result<void> TransitionBySaga(Order& order, OrderStatus to, std::string reason, TimePoint now);

}  // namespace shopflow::orders
