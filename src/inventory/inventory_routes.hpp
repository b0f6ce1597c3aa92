#pragma once

#include <vector>

#include "core/api.hpp"
#include "inventory/product_service.hpp"

namespace shopflow::inventory {

/// The /api/inventory routes of API.md. `products` must outlive the routes.
std::vector<Route> InventoryRoutes(ProductService& products);

}  // namespace shopflow::inventory
