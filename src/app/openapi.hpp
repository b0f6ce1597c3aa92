#pragma once

#include <string_view>
#include <vector>

#include "core/api.hpp"

namespace shopflow {

/// docs/openapi.json (OpenAPI 3.1), compiled into the binary.
std::string_view OpenApiDocument();

/// GET /api/openapi.json.
std::vector<Route> OpenApiRoutes();

}  // namespace shopflow
