// Bodies of the orders API through its route handlers (JsonObjectBody, then OrderService's
// BodyReader validation): POST /api/orders and PUT /api/orders/:id/status. First byte: '0'
// create, '1' status change of an order created at start-up; the rest is the body.

#include <cstddef>
#include <cstdint>

#include "core/clock.hpp"
#include "fuzz/support/fuzz_input.hpp"
#include "fuzz/support/route_harness.hpp"
#include "orders/order_routes.hpp"
#include "orders/order_service.hpp"

namespace shopflow::fuzz {
namespace {

// Every product exists at 12.50: validation, not the catalog, decides what is refused.
class AnyProductCatalog final : public orders::Catalog {
 public:
  boost::asio::awaitable<Result<std::vector<orders::CatalogItem>>> Find(
      std::vector<std::string> product_ids) override {
    std::vector<orders::CatalogItem> items;
    for (auto& id : product_ids)
      items.push_back({std::move(id), "Fuzz lamp", Money::FromCents(1250)});
    co_return items;
  }
};

struct OrdersTarget {
  OrdersTarget()
      : harness(MergeCollections({orders::OrderService::Collections()})),
        service(harness.store(), catalog, SystemClock::Instance()) {
    harness.Add(orders::OrderRoutes(service));
    auto created =
        harness.Call("POST", "/api/orders",
                     R"({"customerId":"fuzz","items":[{"productId":"p1","quantity":1}]})");
    Check(created.status == 201, "seeding an order failed");
    order_path = "/api/orders/" + GetString(created.body.as_object(), "orderId") + "/status";
  }
  AnyProductCatalog catalog;
  RouteHarness harness;
  orders::OrderService service;
  std::string order_path;
};

}  // namespace
}  // namespace shopflow::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow::fuzz;
  static auto* target = new OrdersTarget();
  static const std::vector<RouteHarness::Endpoint> endpoints = {{"POST", "/api/orders"},
                                                                {"PUT", target->order_path}};
  target->harness.FuzzOne(endpoints, data, size);
  return 0;
}
