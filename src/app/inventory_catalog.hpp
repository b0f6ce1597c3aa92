#pragma once

#include "inventory/product_service.hpp"
#include "orders/catalog.hpp"

namespace shopflow {

/// The orders module's Catalog port served by the inventory module in the same process. The
/// composition root owns this adapter so neither module depends on the other.
class InventoryCatalog final : public orders::Catalog {
 public:
  explicit InventoryCatalog(inventory::ProductService& products) : products_(products) {}

  boost::asio::awaitable<Result<std::vector<orders::CatalogItem>>> Find(
      std::vector<std::string> product_ids) override;

 private:
  inventory::ProductService& products_;
};

}  // namespace shopflow
