#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/money.hpp"

namespace shopflow::payments {

/// What a gateway is asked to charge. Lives in memory only.
struct ChargeRequest {
  std::string payment_id;  // the gateway-side idempotency key
  std::string order_id;
  Money amount;
  std::string method;
  /// A card token of TokenizeCard ("tok_..."), or a card number (tests and older events);
  /// "" when none.
  std::string card;
};

/// A card as the simulator's tokenization returns it, in the manner of the big providers'
/// test-mode card tokens: enough to charge and to show ("Visa ending 4242"), never the number.
struct CardToken {
  std::string token;  // "tok_<class>_<brand>_<last4>"
  std::string last4;  // "" when the number has fewer than four digits
  std::string brand;  // visa, mastercard, amex, card
};

/// Tokenizes a card number (spaces and dashes ignored). A pure function: the same number gives
/// the same token in every process, so orders can tokenize at intake and payments, possibly in
/// another process, charge the token. The token carries the simulator's outcome class (`ok`,
/// `declined` for 4000000000000002, `nofunds` for 4000000000009995), the brand and the last four
/// digits: nothing that reveals the rest of the number.
CardToken TokenizeCard(std::string_view card_number);
/// Whether `text` is a token TokenizeCard could have returned.
bool IsCardToken(std::string_view text);
/// The last four digits a token carries ("" if `text` is not a token or carries none).
std::string TokenLast4(std::string_view text);

/// The gateway's answer to one charge.
struct GatewayResult {
  enum class Outcome {
    kApproved,  // captured: the payment succeeds
    kDeclined,  // refused: the payment fails with `failure_reason`
    kPending,   // pix / boleto: registered, waiting for the bank's confirmation
    /// No answer: the gateway is down, timed out, or its circuit breaker is open. Nothing is
    /// known to be captured; the same charge may be sent again (charges are idempotent per
    /// payment id), so the payment stays `processing` and is retried with backoff.
    kUnavailable,
  };
  Outcome outcome = Outcome::kApproved;
  std::string transaction_id;
  std::string failure_reason;  // kDeclined: "card_declined", ...; kUnavailable: why

  bool operator==(const GatewayResult&) const = default;
};

/// A payment gateway. Charges are idempotent per payment id: charging the same payment again
/// returns the first answer. Implementations are thread-safe and never throw for an expected
/// outcome (a decline is a result, not an error).
class PaymentGateway {
 public:
  virtual ~PaymentGateway() = default;

  /// The answer, when the gateway can give it without waiting (no network round trip); nullopt
  /// when the caller must use Charge. Never blocks, so it may run inside a store write.
  virtual std::optional<GatewayResult> TryChargeNow(const ChargeRequest& request) = 0;
  /// Submits the charge and completes when the gateway answered (after its latency). Suspends
  /// without blocking the caller's executor; must never be awaited inside a store write.
  virtual boost::asio::awaitable<GatewayResult> Charge(ChargeRequest request) = 0;
  /// The answer the gateway gave earlier for this payment, if it knows one (crash recovery).
  virtual std::optional<GatewayResult> Lookup(std::string_view payment_id) const = 0;
};

/// Test cards of the built-in simulator (API.md "Payments").
inline constexpr std::string_view kDeclinedCard = "4000000000000002";
inline constexpr std::string_view kInsufficientFundsCard = "4000000000009995";

/// The built-in gateway simulator, deterministic in the manner of the big providers' test
/// modes: card number 4000000000000002 → declined "card_declined", 4000000000009995 → declined
/// "insufficient_funds", any other or none → approved; pix and boleto → pending (the bank
/// confirms later). Every answer carries a transaction id "txn_<ULID>".
///
/// `latency` > 0 delays each Charge by that much (a steady_timer on the caller's executor, so
/// no thread is blocked) and makes TryChargeNow return nullopt. Answers are remembered per
/// payment id (the most recent kRememberedCharges) for idempotency and Lookup; they live in
/// memory, so a restarted process knows none. Thread-safe.
///
/// `outage`, when set, is asked before each charge: a reason means the gateway is down for that
/// charge (kUnavailable with that reason, nothing remembered), so an outage can be staged on
/// purpose (/api/faults/gateway) and the payments' retry and circuit breaker watched.
class SimulatedGateway final : public PaymentGateway {
 public:
  static constexpr size_t kRememberedCharges = 100'000;
  using OutageProbe = std::function<std::optional<std::string>()>;

  explicit SimulatedGateway(std::chrono::milliseconds latency = std::chrono::milliseconds(0),
                            OutageProbe outage = {});

  std::optional<GatewayResult> TryChargeNow(const ChargeRequest& request) override;
  boost::asio::awaitable<GatewayResult> Charge(ChargeRequest request) override;
  std::optional<GatewayResult> Lookup(std::string_view payment_id) const override;

  /// The simulator's rule alone (transaction id left empty): what `request` would get.
  static GatewayResult Decide(const ChargeRequest& request);

 private:
  GatewayResult Answer(const ChargeRequest& request);

  const std::chrono::milliseconds latency_;
  const OutageProbe outage_;
  mutable std::mutex mutex_;
  std::map<std::string, GatewayResult, std::less<>> answers_;
  std::deque<std::string> answer_order_;  // oldest first, to forget beyond the cap
};

}  // namespace shopflow::payments
