#pragma once

#include <vector>

#include "core/api.hpp"
#include "inventory/product_service.hpp"
#include "inventory/stock_service.hpp"

namespace shopflow::inventory {

/// The /api/inventory routes of API.md. The services must outlive the routes.
std::vector<Route> InventoryRoutes(ProductService& products, StockService& stock);

}  // namespace shopflow::inventory
