#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string_view>

#include "monitor/circuit_breaker.hpp"
#include "payments/gateway.hpp"

namespace shopflow {

/// The payment gateway behind a circuit breaker: a charge the gateway leaves unanswered
/// (GatewayResult kUnavailable) counts as a failure, any answer (approved, declined, pending)
/// as a success. While the circuit is open charges answer kUnavailable "payment gateway circuit
/// open" at once, without reaching the gateway, so payments wait for their retry (PaymentWorker)
/// instead of queueing on a dead gateway; after the cool-down one trial charge goes through.
/// Lookup is not guarded (it reads what the gateway already answered). Thread-safe as the inner
/// gateway is; inner and breaker must outlive it.
class GuardedGateway final : public payments::PaymentGateway {
 public:
  static constexpr std::string_view kOpenReason = "payment gateway circuit open";

  GuardedGateway(payments::PaymentGateway& inner, monitor::CircuitBreaker& breaker)
      : inner_(inner), breaker_(breaker) {}

  std::optional<payments::GatewayResult> TryChargeNow(
      const payments::ChargeRequest& request) override;
  boost::asio::awaitable<payments::GatewayResult> Charge(payments::ChargeRequest request) override;
  std::optional<payments::GatewayResult> Lookup(std::string_view payment_id) const override;

 private:
  void Record(const payments::GatewayResult& result);

  payments::PaymentGateway& inner_;
  monitor::CircuitBreaker& breaker_;
};

}  // namespace shopflow
