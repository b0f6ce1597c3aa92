#pragma once

#include "orders/order_service.hpp"
#include "payments/order_directory.hpp"

namespace shopflow {

/// The payments module's OrderDirectory port served by the orders module in the same process.
class OrderDirectoryAdapter final : public payments::OrderDirectory {
 public:
  explicit OrderDirectoryAdapter(orders::OrderService& orders) : orders_(orders) {}

  boost::asio::awaitable<Result<std::optional<payments::OrderSnapshot>>> Find(
      std::string order_id) override;

 private:
  orders::OrderService& orders_;
};

}  // namespace shopflow
