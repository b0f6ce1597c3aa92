#include "inventory/stock.hpp"

#include "events/event_types.hpp"

namespace shopflow::inventory {

Result<Product> LoadProduct(ReadTransaction& txn, std::string_view product_id) {
  auto doc = txn.Get(kProductsCollection, product_id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return NotFoundError("product " + std::string(product_id) + " not found");
  return Product::FromJson(**doc);
}

Envelope InventoryEvent(std::string_view type, json::object data, const Envelope* cause,
                        const RequestContext& context, TimePoint now) {
  if (cause) return MakeCausedEvent(std::string(type), std::move(data), "inventory", *cause, now);
  return MakeEvent(std::string(type), std::move(data), "inventory", context.correlation_id, "",
                   now);
}

Result<void> SaveStockChange(Transaction& txn, const Product& before, const Product& after,
                             std::string_view reason, const Envelope* cause,
                             const RequestContext& context) {
  if (auto r = txn.Replace(kProductsCollection, after.product_id, after.ToJson()); !r) return r;
  json::object data = after.ToJson();
  data["reason"] = reason;
  data["stockDelta"] = after.stock - before.stock;
  data["reservedDelta"] = after.reserved - before.reserved;
  if (auto r = txn.AppendOutbox(InventoryEvent(events::kInventoryUpdated, std::move(data), cause,
                                               context, after.updated_at));
      !r) {
    return r;
  }
  if (before.available() > before.min_stock && after.low_stock()) {
    return txn.AppendOutbox(
        InventoryEvent(events::kLowStockAlert, after.ToJson(), cause, context, after.updated_at));
  }
  return Ok();
}

}  // namespace shopflow::inventory
