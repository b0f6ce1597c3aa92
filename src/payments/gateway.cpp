#include "payments/gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/ids.hpp"
#include "payments/payment.hpp"

namespace shopflow::payments {
namespace asio = boost::asio;

SimulatedGateway::SimulatedGateway(std::chrono::milliseconds latency) : latency_(latency) {}

GatewayResult SimulatedGateway::Decide(const ChargeRequest& request) {
  GatewayResult result;
  if (!IsCardMethod(request.method)) {
    result.outcome = GatewayResult::Outcome::kPending;
    return result;
  }
  // Test cards are recognised by their digits, so "4000 0000 0000 0002" declines as well.
  std::string digits;
  for (char c : request.card_number) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits == kDeclinedCard) {
    result.outcome = GatewayResult::Outcome::kDeclined;
    result.failure_reason = "card_declined";
  } else if (digits == kInsufficientFundsCard) {
    result.outcome = GatewayResult::Outcome::kDeclined;
    result.failure_reason = "insufficient_funds";
  }
  return result;
}

GatewayResult SimulatedGateway::Answer(const ChargeRequest& request) {
  std::lock_guard lock(mutex_);
  if (auto it = answers_.find(request.payment_id); it != answers_.end()) return it->second;
  GatewayResult result = Decide(request);
  result.transaction_id = "txn_" + NewId();
  answers_.emplace(request.payment_id, result);
  answer_order_.push_back(request.payment_id);
  if (answer_order_.size() > kRememberedCharges) {
    answers_.erase(answer_order_.front());
    answer_order_.pop_front();
  }
  return result;
}

std::optional<GatewayResult> SimulatedGateway::TryChargeNow(const ChargeRequest& request) {
  if (latency_.count() > 0) return std::nullopt;
  return Answer(request);
}

asio::awaitable<GatewayResult> SimulatedGateway::Charge(ChargeRequest request) {
  if (latency_.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, latency_);
    // A cancelled wait (executor shutting down) still answers: the charge was submitted.
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return Answer(request);
}

std::optional<GatewayResult> SimulatedGateway::Lookup(std::string_view payment_id) const {
  std::lock_guard lock(mutex_);
  if (auto it = answers_.find(payment_id); it != answers_.end()) return it->second;
  return std::nullopt;
}

}  // namespace shopflow::payments
