#include "app/openapi.hpp"

namespace shopflow {

std::vector<Route> OpenApiRoutes() {
  return {{"GET", "/api/openapi.json", [](ApiRequest&) -> boost::asio::awaitable<ApiResponse> {
             ApiResponse r;
             r.raw_body = std::string(OpenApiDocument());
             co_return r;
           }}};
}

}  // namespace shopflow
