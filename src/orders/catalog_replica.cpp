#include "orders/catalog_replica.hpp"

#include "storage/await.hpp"

namespace shopflow::orders {

CollectionSpec CatalogReplicaCollection() {
  return CollectionSpec{std::string(kCatalogCollection), {}, {}};
}

Result<void> ApplyCatalogUpdate(Transaction& txn, const Envelope& event) {
  const std::string id = GetString(event.data, "productId");
  if (id.empty()) return Ok();
  const std::string updated_at = GetString(event.data, "updatedAt");
  json::object doc{{"productId", id},
                   {"name", GetString(event.data, "name")},
                   {"price", GetMoney(event.data, "price").ToJson()},
                   {"updatedAt", updated_at}};
  auto existing = txn.Get(kCatalogCollection, id);
  if (!existing) return std::move(existing).error();
  if (!existing->has_value()) return txn.Insert(kCatalogCollection, id, doc);
  // RFC 3339 UTC timestamps of one format compare as strings: skip a redelivered older update.
  if (GetString(**existing, "updatedAt") > updated_at) return Ok();
  return txn.Replace(kCatalogCollection, id, doc);
}

boost::asio::awaitable<Result<std::vector<CatalogItem>>> ReplicaCatalog::Find(
    std::vector<std::string> product_ids) {
  std::vector<CatalogItem> items;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    for (const auto& id : product_ids) {
      auto doc = txn.Get(kCatalogCollection, id);
      if (!doc) return std::move(doc).error();
      if (doc->has_value()) {
        items.push_back({id, GetString(**doc, "name"), GetMoney(**doc, "price")});
      }
    }
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return items;
}

}  // namespace shopflow::orders
