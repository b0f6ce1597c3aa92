#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/json.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace shopflow::payments {

/// What payments may know about an order when a person acts on it through the API.
struct OrderSnapshot {
  std::string order_id;
  std::string customer_id;
  std::string status;  // "pending", "paid", "shipped", ... (API.md order statuses)
  std::string payment_method;
  Money total_amount;
};

/// A port: payments never calls the orders module's code; the composition root supplies an
/// adapter (in-process: the orders service). Thread-safe.
class OrderDirectory {
 public:
  virtual ~OrderDirectory() = default;
  /// The order, or nullopt when no such order exists.
  virtual boost::asio::awaitable<Result<std::optional<OrderSnapshot>>> Find(
      std::string order_id) = 0;
};

}  // namespace shopflow::payments
