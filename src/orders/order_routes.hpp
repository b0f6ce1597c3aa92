#pragma once

#include <vector>

#include "core/api.hpp"
#include "orders/order_service.hpp"

namespace shopflow::orders {

/// The /api/orders routes of API.md. `orders` must outlive the routes.
std::vector<Route> OrderRoutes(OrderService& orders);

}  // namespace shopflow::orders
