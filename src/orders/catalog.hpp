#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "core/money.hpp"
#include "core/result.hpp"

namespace shopflow::orders {

struct CatalogItem {
  std::string product_id;
  std::string name;
  Money price;
};

/// Where orders learn current prices (a port: the orders module never calls inventory code;
/// the composition root supplies an adapter). Thread-safe.
class Catalog {
 public:
  virtual ~Catalog() = default;
  /// The items among `product_ids` that exist; unknown ids are simply absent.
  virtual boost::asio::awaitable<Result<std::vector<CatalogItem>>> Find(
      std::vector<std::string> product_ids) = 0;
};

}  // namespace shopflow::orders
