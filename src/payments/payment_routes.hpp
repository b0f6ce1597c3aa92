#pragma once

#include <vector>

#include "core/api.hpp"
#include "payments/payment_service.hpp"

namespace shopflow::payments {

/// The /api/payments routes of API.md: POST /api/payments/process, PUT
/// /api/payments/:id/status, GET /api/payments, GET /api/payments/:id and POST
/// /api/payments/:id/refund. `payments` must outlive the routes.
std::vector<Route> PaymentRoutes(PaymentService& payments);

}  // namespace shopflow::payments
