#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/request_context.hpp"
#include "inventory/product.hpp"
#include "storage/store.hpp"

namespace shopflow::inventory {

struct ProductFilter {
  std::optional<std::string> category;
  std::optional<std::string> sku;
};

struct ProductPage {
  std::vector<Product> products;
  int64_t total = 0;
};

/// Catalog use cases: create, read, list and update products. Every change is written with its
/// INVENTORY_UPDATED event in one transaction (outbox). Thread-safe; the store and clock must
/// outlive it. Coroutines resume on the caller's executor.
class ProductService {
 public:
  ProductService(Store& store, const Clock& clock);

  /// The collections this module stores (for the store's schema).
  static std::vector<CollectionSpec> Collections();

  /// Validates `body` ({name, sku, price, stock, minStock?, category?, description?}); a
  /// duplicate sku → kConflict.
  boost::asio::awaitable<Result<Product>> Create(const json::object& body, RequestContext context);
  boost::asio::awaitable<Result<Product>> Get(std::string product_id);
  boost::asio::awaitable<Result<ProductPage>> List(ProductFilter filter, Page page);
  /// Any of {name, price, minStock, category, description}; other fields → kValidationFailed.
  boost::asio::awaitable<Result<Product>> Update(std::string product_id, const json::object& body,
                                                 RequestContext context);
  /// The products with these ids that exist (for the orders module's catalog port).
  boost::asio::awaitable<Result<std::vector<Product>>> FindMany(std::vector<std::string> ids);

 private:
  Store& store_;
  const Clock& clock_;
};

}  // namespace shopflow::inventory
