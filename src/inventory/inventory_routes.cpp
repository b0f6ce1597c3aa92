#include "inventory/inventory_routes.hpp"

namespace shopflow::inventory {
namespace asio = boost::asio;

namespace {

json::value ToJsonValue(const Product& p) { return p.ToJson(); }

asio::awaitable<ApiResponse> ListProducts(ProductService& products, ApiRequest& req) {
  auto page = ReadPage(req);
  if (!page) co_return ErrorResponse(page.error());
  ProductFilter filter;
  if (auto c = req.Query("category")) filter.category = std::string(*c);
  if (auto s = req.Query("sku")) filter.sku = std::string(*s);
  auto found = co_await products.List(std::move(filter), *page);
  if (!found) co_return ErrorResponse(found.error());
  json::array data;
  for (const auto& p : found->products) data.push_back(ToJsonValue(p));
  co_return JsonResponse(200, ListBody(std::move(data), found->total, *page));
}

asio::awaitable<ApiResponse> CreateProduct(ProductService& products, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto created = co_await products.Create(*body, ContextOf(req));
  if (!created) co_return ErrorResponse(created.error());
  co_return JsonResponse(201, ToJsonValue(*created));
}

asio::awaitable<ApiResponse> GetProduct(ProductService& products, ApiRequest& req) {
  auto found = co_await products.Get(std::string(req.Param("id")));
  if (!found) co_return ErrorResponse(found.error());
  co_return JsonResponse(200, ToJsonValue(*found));
}

asio::awaitable<ApiResponse> UpdateProduct(ProductService& products, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto updated = co_await products.Update(std::string(req.Param("id")), *body, ContextOf(req));
  if (!updated) co_return ErrorResponse(updated.error());
  co_return JsonResponse(200, ToJsonValue(*updated));
}

}  // namespace

std::vector<Route> InventoryRoutes(ProductService& products) {
  auto bind = [&products](auto fn) -> ApiHandler {
    return [&products, fn](ApiRequest& req) { return fn(products, req); };
  };
  return {
      {"GET", "/api/inventory/products", bind(ListProducts)},
      {"POST", "/api/inventory/products", bind(CreateProduct)},
      {"GET", "/api/inventory/products/:id", bind(GetProduct)},
      {"PUT", "/api/inventory/products/:id", bind(UpdateProduct)},
  };
}

}  // namespace shopflow::inventory
