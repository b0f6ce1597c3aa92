#include "payments/gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "core/ids.hpp"
#include "payments/payment.hpp"

namespace shopflow::payments {
namespace asio = boost::asio;

SimulatedGateway::SimulatedGateway(std::chrono::milliseconds latency, OutageProbe outage)
    : latency_(latency), outage_(std::move(outage)) {}

namespace {

constexpr std::string_view kTokenPrefix = "tok_";

std::string Digits(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return digits;
}

std::string_view BrandOf(std::string_view digits) {
  if (digits.starts_with("4")) return "visa";
  if (digits.starts_with("34") || digits.starts_with("37")) return "amex";
  if (digits.size() >= 2 && digits[0] == '5' && digits[1] >= '1' && digits[1] <= '5') {
    return "mastercard";
  }
  if (digits.size() >= 4) {
    const int prefix = std::stoi(std::string(digits.substr(0, 4)));
    if (prefix >= 2221 && prefix <= 2720) return "mastercard";
  }
  return "card";
}

// The parts of "tok_<class>_<brand>_<last4>", or false.
bool SplitToken(std::string_view text, std::string_view& klass, std::string_view& brand,
                std::string_view& last4) {
  if (!text.starts_with(kTokenPrefix)) return false;
  text.remove_prefix(kTokenPrefix.size());
  const size_t a = text.find('_');
  if (a == std::string_view::npos) return false;
  const size_t b = text.find('_', a + 1);
  if (b == std::string_view::npos) return false;
  klass = text.substr(0, a);
  brand = text.substr(a + 1, b - a - 1);
  last4 = text.substr(b + 1);
  if (klass != "ok" && klass != "declined" && klass != "nofunds") return false;
  if (brand.empty() || brand.size() > 16) return false;
  for (char c : brand) {
    if (c < 'a' || c > 'z') return false;
  }
  if (!last4.empty() && (last4.size() != 4 || Digits(last4).size() != 4)) return false;
  return true;
}

}  // namespace

CardToken TokenizeCard(std::string_view card_number) {
  const std::string digits = Digits(card_number);
  CardToken out;
  out.last4 = digits.size() >= 4 ? digits.substr(digits.size() - 4) : "";
  out.brand = std::string(BrandOf(digits));
  const std::string_view klass = digits == kDeclinedCard            ? "declined"
                                 : digits == kInsufficientFundsCard ? "nofunds"
                                                                    : "ok";
  out.token = std::string(kTokenPrefix) + std::string(klass) + "_" + out.brand + "_" + out.last4;
  return out;
}

bool IsCardToken(std::string_view text) {
  std::string_view klass, brand, last4;
  return SplitToken(text, klass, brand, last4);
}

std::string TokenLast4(std::string_view text) {
  std::string_view klass, brand, last4;
  if (!SplitToken(text, klass, brand, last4)) return "";
  return std::string(last4);
}

GatewayResult SimulatedGateway::Decide(const ChargeRequest& request) {
  GatewayResult result;
  if (!IsCardMethod(request.method)) {
    result.outcome = GatewayResult::Outcome::kPending;
    return result;
  }
  // A token carries the outcome class; a number is classified the same way (test cards are
  // recognised by their digits, so "4000 0000 0000 0002" declines as well).
  const std::string token =
      IsCardToken(request.card) ? request.card : TokenizeCard(request.card).token;
  std::string_view klass, brand, last4;
  SplitToken(token, klass, brand, last4);
  if (klass == "declined") {
    result.outcome = GatewayResult::Outcome::kDeclined;
    result.failure_reason = "card_declined";
  } else if (klass == "nofunds") {
    result.outcome = GatewayResult::Outcome::kDeclined;
    result.failure_reason = "insufficient_funds";
  }
  return result;
}

GatewayResult SimulatedGateway::Answer(const ChargeRequest& request) {
  // Asked outside the lock: the probe belongs to someone else (the fault injector).
  if (outage_) {
    if (std::optional<std::string> reason = outage_()) {
      return GatewayResult{GatewayResult::Outcome::kUnavailable, "", std::move(*reason)};
    }
  }
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
