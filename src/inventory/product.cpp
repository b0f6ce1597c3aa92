#include "inventory/product.hpp"

namespace shopflow::inventory {

json::object Product::ToJson() const {
  return json::object{{"productId", product_id},
                      {"name", name},
                      {"description", description},
                      {"price", price.ToJson()},
                      {"stock", stock},
                      {"reserved", reserved},
                      {"available", available()},
                      {"minStock", min_stock},
                      {"category", category},
                      {"sku", sku},
                      {"createdAt", FormatRfc3339(created_at)},
                      {"updatedAt", FormatRfc3339(updated_at)}};
}

Result<Product> Product::FromJson(const json::object& doc) {
  Product p;
  p.product_id = GetString(doc, "productId");
  if (p.product_id.empty()) return InternalError("stored product has no productId");
  p.name = GetString(doc, "name");
  p.description = GetString(doc, "description");
  p.price = GetMoney(doc, "price");
  p.stock = GetInt(doc, "stock");
  p.reserved = GetInt(doc, "reserved");
  p.min_stock = GetInt(doc, "minStock");
  p.category = GetString(doc, "category");
  p.sku = GetString(doc, "sku");
  p.created_at = ParseRfc3339(GetString(doc, "createdAt")).value_or(TimePoint{});
  p.updated_at = ParseRfc3339(GetString(doc, "updatedAt")).value_or(TimePoint{});
  return p;
}

}  // namespace shopflow::inventory
