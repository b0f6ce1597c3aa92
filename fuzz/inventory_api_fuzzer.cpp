// Bodies of the inventory API through its route handlers (JsonObjectBody, then ProductService's
// and StockService's BodyReader validation). First byte: '0' POST /api/inventory/products,
// '1' PUT /api/inventory/products/:id, '2' POST /api/inventory/stock/add, '3' .../reserve,
// '4' .../release; the rest is the body. "@P" in the body (and the :id of '1') stands for a
// product created at start-up, so that stock changes reach the rules past "unknown product".

#include <cstddef>
#include <cstdint>

#include "core/clock.hpp"
#include "fuzz/support/fuzz_input.hpp"
#include "fuzz/support/route_harness.hpp"
#include "inventory/inventory_routes.hpp"
#include "inventory/product_service.hpp"
#include "inventory/stock_service.hpp"

namespace shopflow::fuzz {
namespace {

struct InventoryTarget {
  InventoryTarget()
      : harness(MergeCollections(
            {inventory::ProductService::Collections(), inventory::StockService::Collections()})),
        products(harness.store(), SystemClock::Instance()),
        stock(harness.store(), SystemClock::Instance()) {
    harness.Add(inventory::InventoryRoutes(products, stock));
    auto created = harness.Call("POST", "/api/inventory/products",
                                R"({"name":"Seed","sku":"FUZZ-SEED","price":25,"stock":1000})");
    Check(created.status == 201, "seeding a product failed");
    product_id = GetString(created.body.as_object(), "productId");
  }

  std::string WithProduct(std::string_view payload) const {
    std::string body(payload);
    for (size_t at = body.find("@P"); at != std::string::npos; at = body.find("@P", at)) {
      body.replace(at, 2, product_id);
      at += product_id.size();
    }
    return body;
  }

  RouteHarness harness;
  inventory::ProductService products;
  inventory::StockService stock;
  std::string product_id;
};

}  // namespace
}  // namespace shopflow::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow::fuzz;
  static auto* target = new InventoryTarget();
  static const std::vector<RouteHarness::Endpoint> endpoints = {
      {"POST", "/api/inventory/products"},
      {"PUT", "/api/inventory/products/" + target->product_id},
      {"POST", "/api/inventory/stock/add"},
      {"POST", "/api/inventory/stock/reserve"},
      {"POST", "/api/inventory/stock/release"}};
  target->harness.FuzzOne(endpoints, data, size,
                          [](std::string_view payload) { return target->WithProduct(payload); });
  return 0;
}
