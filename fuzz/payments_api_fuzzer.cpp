// Bodies of the payments API through its route handlers (JsonObjectBody, then PaymentService's
// BodyReader validation, card tokenization included). First byte: '0' POST
// /api/payments/process, '1' PUT /api/payments/:id/status, '2' POST /api/payments/:id/refund
// (both on a pix payment created at start-up); the rest is the body.

#include <cstddef>
#include <cstdint>

#include "core/clock.hpp"
#include "fuzz/support/fuzz_input.hpp"
#include "fuzz/support/route_harness.hpp"
#include "payments/gateway.hpp"
#include "payments/order_directory.hpp"
#include "payments/payment_routes.hpp"
#include "payments/payment_service.hpp"

namespace shopflow::fuzz {
namespace {

// Every order exists and is pending (25.00, credit card; pix when its id starts with "pix"), so
// that any well-formed body reaches the gateway and the store.
class AnyOrderDirectory final : public payments::OrderDirectory {
 public:
  boost::asio::awaitable<Result<std::optional<payments::OrderSnapshot>>> Find(
      std::string order_id) override {
    payments::OrderSnapshot order;
    order.payment_method = order_id.starts_with("pix") ? "pix" : "credit_card";
    order.order_id = std::move(order_id);
    order.customer_id = "fuzz";
    order.status = "pending";
    order.total_amount = Money::FromCents(2500);
    co_return std::optional<payments::OrderSnapshot>(std::move(order));
  }
};

struct PaymentsTarget {
  PaymentsTarget()
      : harness(MergeCollections({payments::PaymentService::Collections()})),
        service(harness.store(), orders, gateway, SystemClock::Instance()) {
    harness.Add(payments::PaymentRoutes(service));
    auto created = harness.Call("POST", "/api/payments/process", R"({"orderId":"pix-seed"})");
    Check(created.status == 201, "seeding a payment failed");
    payment_path = "/api/payments/" + GetString(created.body.as_object(), "paymentId");
  }

  AnyOrderDirectory orders;
  payments::SimulatedGateway gateway;
  RouteHarness harness;
  payments::PaymentService service;
  std::string payment_path;
};

}  // namespace
}  // namespace shopflow::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow::fuzz;
  static auto* target = new PaymentsTarget();
  static const std::vector<RouteHarness::Endpoint> endpoints = {
      {"POST", "/api/payments/process"},
      {"PUT", target->payment_path + "/status"},
      {"POST", target->payment_path + "/refund"}};
  target->harness.FuzzOne(endpoints, data, size);
  return 0;
}
