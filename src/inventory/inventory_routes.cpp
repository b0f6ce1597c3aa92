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

asio::awaitable<ApiResponse> AddStock(StockService& stock, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto product = co_await stock.AddStock(*body, ContextOf(req));
  if (!product) co_return ErrorResponse(product.error());
  co_return JsonResponse(200, ToJsonValue(*product));
}

asio::awaitable<ApiResponse> ReserveStock(StockService& stock, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto held = co_await stock.Reserve(*body, ContextOf(req));
  if (!held) co_return ErrorResponse(held.error());
  json::object answer{
      {"productId", held->product_id},
      {"quantity", held->quantity},
      {"orderId", held->order_id.empty() ? json::value(nullptr) : json::value(held->order_id)},
      {"product", held->product.ToJson()}};
  co_return JsonResponse(201, std::move(answer));
}

asio::awaitable<ApiResponse> ReleaseStock(StockService& stock, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto product = co_await stock.Release(*body, ContextOf(req));
  if (!product) co_return ErrorResponse(product.error());
  co_return JsonResponse(200, ToJsonValue(*product));
}

asio::awaitable<ApiResponse> Stats(StockService& stock, ApiRequest&) {
  auto stats = co_await stock.Stats();
  if (!stats) co_return ErrorResponse(stats.error());
  co_return JsonResponse(200, stats->ToJson());
}

asio::awaitable<ApiResponse> LowStock(StockService& stock, ApiRequest& req) {
  auto page = ReadPage(req);
  if (!page) co_return ErrorResponse(page.error());
  auto low = co_await stock.LowStock();
  if (!low) co_return ErrorResponse(low.error());
  json::array data;
  const auto total = static_cast<int64_t>(low->size());
  for (int64_t i = page->offset; i < total && i < page->offset + page->limit; ++i) {
    data.push_back(ToJsonValue((*low)[static_cast<size_t>(i)]));
  }
  co_return JsonResponse(200, ListBody(std::move(data), total, *page));
}

}  // namespace

std::vector<Route> InventoryRoutes(ProductService& products, StockService& stock) {
  auto bind = [&products](auto fn) -> ApiHandler {
    return [&products, fn](ApiRequest& req) { return fn(products, req); };
  };
  auto bind_stock = [&stock](auto fn) -> ApiHandler {
    return [&stock, fn](ApiRequest& req) { return fn(stock, req); };
  };
  return {
      {"GET", "/api/inventory/products", bind(ListProducts)},
      {"POST", "/api/inventory/products", bind(CreateProduct)},
      {"GET", "/api/inventory/products/:id", bind(GetProduct)},
      {"PUT", "/api/inventory/products/:id", bind(UpdateProduct)},
      {"POST", "/api/inventory/stock/add", bind_stock(AddStock)},
      {"POST", "/api/inventory/stock/reserve", bind_stock(ReserveStock)},
      {"POST", "/api/inventory/stock/release", bind_stock(ReleaseStock)},
      {"GET", "/api/inventory/stats", bind_stock(Stats)},
      {"GET", "/api/inventory/low-stock", bind_stock(LowStock)},
  };
}

}  // namespace shopflow::inventory
