#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace shopflow::payments {

inline constexpr std::string_view kPaymentsCollection = "payments";

/// API.md "Payments": requested → processing → succeeded | failed; succeeded → refunded; and
/// requested → failed (compensation before the gateway was asked).
enum class PaymentStatus { kRequested, kProcessing, kSucceeded, kFailed, kRefunded };

std::string_view StatusName(PaymentStatus status);
std::optional<PaymentStatus> ParseStatus(std::string_view name);
/// "requested, processing, succeeded, failed, refunded" (for validation messages).
inline constexpr std::string_view kStatusList =
    "requested, processing, succeeded, failed, refunded";

/// Whether the state machine allows `from` → `to` at all (whoever asks).
bool IsAllowedTransition(PaymentStatus from, PaymentStatus to);

inline constexpr std::string_view kPaymentMethods[] = {"credit_card", "debit_card", "pix",
                                                       "boleto"};
inline constexpr std::string_view kMethodList = "credit_card, debit_card, pix, boleto";
bool IsPaymentMethod(std::string_view method);
/// Cards are decided by the gateway at once; pix and boleto wait for the bank's confirmation.
bool IsCardMethod(std::string_view method);

/// The last four digits of a card number (non-digits ignored); "" when it has fewer than four.
/// This is all of a card number payments ever stores.
std::string CardLast4(std::string_view card_number);

/// One charge of one order. At most one payment exists per order (unique orderId).
struct Payment {
  std::string payment_id;
  std::string order_id;
  Money amount;
  PaymentStatus status = PaymentStatus::kRequested;
  std::string method = "credit_card";
  std::string transaction_id;  // "" until the gateway (or the bank) assigned one: JSON null
  std::string failure_reason;  // "" unless failed: omitted from JSON
  TimePoint created_at{};
  std::optional<TimePoint> processed_at;  // when succeeded or failed was decided
  /// {customerId, correlationId, cardLast4?, cardToken?, gatewayAttempts?, gatewayError?,
  /// gatewayRetryAt?, refundReason?, refundedAt?}; never a card number (see payment_processor).
  json::object metadata;

  std::string customer_id() const;

  /// The API shape of API.md ("Payment"), which is also the stored document.
  json::object ToJson() const;
  /// Reads a stored document; malformed → kInternal.
  static Result<Payment> FromJson(const json::object& doc);
};

/// Moves `payment` to `to` when IsAllowedTransition, recording what the new status implies:
/// processedAt for succeeded and failed, failureReason = `reason` for failed, refundReason =
/// `reason` and refundedAt in metadata for refunded. Otherwise kConflict, `payment` unchanged.
Result<void> Transition(Payment& payment, PaymentStatus to, TimePoint now, std::string reason = {});

}  // namespace shopflow::payments
