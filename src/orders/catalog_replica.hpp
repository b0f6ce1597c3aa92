#pragma once

#include <string_view>
#include <vector>

#include "events/envelope.hpp"
#include "orders/catalog.hpp"
#include "storage/store.hpp"

namespace shopflow::orders {

/// Orders' own copy of the catalog, kept from INVENTORY_UPDATED events (which carry the whole
/// product): how orders prices lines when the inventory module runs in another process.
inline constexpr std::string_view kCatalogCollection = "catalog";
CollectionSpec CatalogReplicaCollection();

/// Inside the inbox transaction of an INVENTORY_UPDATED event: stores the product's name and
/// price unless a newer update is already stored (products carry updatedAt).
Result<void> ApplyCatalogUpdate(Transaction& txn, const Envelope& event);

/// The Catalog port over the replica. Eventually consistent: a product created a moment ago
/// may not be orderable yet in this process. Thread-safe; the store must outlive it.
class ReplicaCatalog final : public Catalog {
 public:
  explicit ReplicaCatalog(Store& store) : store_(store) {}
  boost::asio::awaitable<Result<std::vector<CatalogItem>>> Find(
      std::vector<std::string> product_ids) override;

 private:
  Store& store_;
};

}  // namespace shopflow::orders
