#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/request_context.hpp"
#include "inventory/product.hpp"
#include "storage/store.hpp"

namespace shopflow::inventory {

/// A manual reservation made through the API.
struct ManualReservation {
  std::string product_id;
  int64_t quantity = 0;
  std::string order_id;  // "" when the caller named no order
  Product product;       // after the reservation
};

struct InventoryStats {
  int64_t total_products = 0;
  int64_t total_stock = 0;
  int64_t total_reserved = 0;
  int64_t total_available = 0;
  int64_t low_stock_count = 0;
  Money inventory_value;  // sum of stock * price

  json::object ToJson() const;
};

/// Stock use cases of API.md: add, reserve, release, stats, low stock. Each change is stored
/// with INVENTORY_UPDATED (and LOW_STOCK_ALERT on a downward crossing of minStock) in one
/// transaction; the store's single writer serializes them, so concurrent reservations of the
/// last units never oversell. Thread-safe; store and clock must outlive it.
class StockService {
 public:
  StockService(Store& store, const Clock& clock);

  static std::vector<CollectionSpec> Collections();

  /// {productId, quantity >= 1, reason?}: stock += quantity.
  boost::asio::awaitable<Result<Product>> AddStock(const json::object& body,
                                                   RequestContext context);
  /// {productId, quantity >= 1, orderId?}: holds stock; kConflict when not enough is available.
  boost::asio::awaitable<Result<ManualReservation>> Reserve(const json::object& body,
                                                            RequestContext context);
  /// {productId, quantity >= 1, orderId?}: gives back a manual hold; kConflict when more than
  /// is held (by that orderId when given, else by holds made without one).
  boost::asio::awaitable<Result<Product>> Release(const json::object& body, RequestContext context);
  boost::asio::awaitable<Result<InventoryStats>> Stats();
  /// Products with available <= minStock, by id, newest first.
  boost::asio::awaitable<Result<std::vector<Product>>> LowStock();

 private:
  Store& store_;
  const Clock& clock_;
};

}  // namespace shopflow::inventory
