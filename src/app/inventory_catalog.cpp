#include "app/inventory_catalog.hpp"

namespace shopflow {

boost::asio::awaitable<Result<std::vector<orders::CatalogItem>>> InventoryCatalog::Find(
    std::vector<std::string> product_ids) {
  auto found = co_await products_.FindMany(std::move(product_ids));
  if (!found) co_return std::move(found).error();
  std::vector<orders::CatalogItem> items;
  for (const auto& p : *found) items.push_back({p.product_id, p.name, p.price});
  co_return items;
}

}  // namespace shopflow
