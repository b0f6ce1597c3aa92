#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/request_context.hpp"
#include "events/envelope.hpp"
#include "inventory/product.hpp"
#include "storage/store.hpp"

namespace shopflow::inventory {

inline constexpr std::string_view kReservationsCollection = "reservations";
inline constexpr std::string_view kHoldsCollection = "holds";

/// Loads a product inside a transaction; kNotFound when absent.
Result<Product> LoadProduct(ReadTransaction& txn, std::string_view product_id);

/// Stores `after` (whose stock or reservation changed from `before`) and appends its events:
/// INVENTORY_UPDATED with `reason`, and LOW_STOCK_ALERT when `available` has just crossed
/// minStock downwards (so an alert fires once per crossing, not on every change below it).
/// `cause` is the consumed event, or null for an API request described by `context`.
Result<void> SaveStockChange(Transaction& txn, const Product& before, const Product& after,
                             std::string_view reason, const Envelope* cause,
                             const RequestContext& context);

/// An inventory event caused by `cause` (a consumed event) or, when null, by a request.
Envelope InventoryEvent(std::string_view type, json::object data, const Envelope* cause,
                        const RequestContext& context, TimePoint now);

}  // namespace shopflow::inventory
