#include "app/guarded_gateway.hpp"

#include <string>
#include <utility>

namespace shopflow {
namespace asio = boost::asio;
using payments::GatewayResult;

namespace {

GatewayResult CircuitOpen() {
  return GatewayResult{GatewayResult::Outcome::kUnavailable, "",
                       std::string(GuardedGateway::kOpenReason)};
}

}  // namespace

void GuardedGateway::Record(const GatewayResult& result) {
  if (result.outcome == GatewayResult::Outcome::kUnavailable) {
    breaker_.RecordFailure();
  } else {
    breaker_.RecordSuccess();
  }
}

std::optional<GatewayResult> GuardedGateway::TryChargeNow(const payments::ChargeRequest& request) {
  if (!breaker_.Allow()) return CircuitOpen();
  std::optional<GatewayResult> result = inner_.TryChargeNow(request);
  if (!result) {
    // Not a call yet: Charge will ask the breaker again.
    breaker_.Cancel();
    return std::nullopt;
  }
  Record(*result);
  return result;
}

asio::awaitable<GatewayResult> GuardedGateway::Charge(payments::ChargeRequest request) {
  if (!breaker_.Allow()) co_return CircuitOpen();
  GatewayResult result;
  try {
    result = co_await inner_.Charge(std::move(request));
  } catch (...) {
    breaker_.RecordFailure();
    throw;
  }
  Record(result);
  co_return result;
}

std::optional<GatewayResult> GuardedGateway::Lookup(std::string_view payment_id) const {
  return inner_.Lookup(payment_id);
}

}  // namespace shopflow
