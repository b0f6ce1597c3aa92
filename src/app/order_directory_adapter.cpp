#include "app/order_directory_adapter.hpp"

namespace shopflow {

boost::asio::awaitable<Result<std::optional<payments::OrderSnapshot>>> OrderDirectoryAdapter::Find(
    std::string order_id) {
  auto order = co_await orders_.Get(std::move(order_id));
  if (!order) {
    if (order.error().code == ErrorCode::kNotFound) {
      co_return std::optional<payments::OrderSnapshot>();
    }
    co_return std::move(order).error();
  }
  co_return std::optional<payments::OrderSnapshot>(payments::OrderSnapshot{
      order->order_id, order->customer_id, std::string(orders::StatusName(order->status)),
      order->payment_method, order->total_amount()});
}

}  // namespace shopflow
