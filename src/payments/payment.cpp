#include "payments/payment.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "payments/gateway.hpp"

namespace shopflow::payments {
namespace {

constexpr std::array<std::pair<PaymentStatus, std::string_view>, 5> kStatusNames{{
    {PaymentStatus::kRequested, "requested"},
    {PaymentStatus::kProcessing, "processing"},
    {PaymentStatus::kSucceeded, "succeeded"},
    {PaymentStatus::kFailed, "failed"},
    {PaymentStatus::kRefunded, "refunded"},
}};

json::value OptionalString(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

}  // namespace

std::string_view StatusName(PaymentStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "requested";
}

std::optional<PaymentStatus> ParseStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsAllowedTransition(PaymentStatus from, PaymentStatus to) {
  using S = PaymentStatus;
  switch (from) {
    case S::kRequested:
      return to == S::kProcessing || to == S::kFailed;
    case S::kProcessing:
      return to == S::kSucceeded || to == S::kFailed;
    case S::kSucceeded:
      return to == S::kRefunded;
    case S::kFailed:
    case S::kRefunded:
      return false;
  }
  return false;
}

bool IsPaymentMethod(std::string_view method) {
  return std::find(std::begin(kPaymentMethods), std::end(kPaymentMethods), method) !=
         std::end(kPaymentMethods);
}

bool IsCardMethod(std::string_view method) {
  return method == "credit_card" || method == "debit_card";
}

std::string CardLast4(std::string_view card_number) {
  if (IsCardToken(card_number)) return TokenLast4(card_number);
  std::string digits;
  for (char c : card_number) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return digits.size() >= 4 ? digits.substr(digits.size() - 4) : std::string();
}

std::string Payment::customer_id() const { return GetString(metadata, "customerId"); }

json::object Payment::ToJson() const {
  json::object doc;
  doc["paymentId"] = payment_id;
  doc["orderId"] = order_id;
  doc["amount"] = amount.ToJson();
  doc["status"] = StatusName(status);
  doc["method"] = method;
  doc["transactionId"] = OptionalString(transaction_id);
  if (!failure_reason.empty()) doc["failureReason"] = failure_reason;
  doc["createdAt"] = FormatRfc3339(created_at);
  doc["processedAt"] =
      processed_at ? json::value(FormatRfc3339(*processed_at)) : json::value(nullptr);
  doc["metadata"] = metadata;
  return doc;
}

Result<Payment> Payment::FromJson(const json::object& doc) {
  Payment p;
  p.payment_id = GetString(doc, "paymentId");
  if (p.payment_id.empty()) return InternalError("stored payment has no paymentId");
  p.order_id = GetString(doc, "orderId");
  auto status = ParseStatus(GetString(doc, "status"));
  if (!status) return InternalError("stored payment " + p.payment_id + " has an unknown status");
  p.status = *status;
  p.amount = GetMoney(doc, "amount");
  p.method = GetString(doc, "method", "credit_card");
  p.transaction_id = GetString(doc, "transactionId");
  p.failure_reason = GetString(doc, "failureReason");
  p.created_at = ParseRfc3339(GetString(doc, "createdAt")).value_or(TimePoint{});
  p.processed_at = ParseRfc3339(GetString(doc, "processedAt"));
  if (const auto* md = GetObject(doc, "metadata")) p.metadata = *md;
  return p;
}

Result<void> Transition(Payment& payment, PaymentStatus to, TimePoint now, std::string reason) {
  if (!IsAllowedTransition(payment.status, to)) {
    return ConflictError("payment " + payment.payment_id + " cannot go from " +
                         std::string(StatusName(payment.status)) + " to " +
                         std::string(StatusName(to)));
  }
  payment.status = to;
  switch (to) {
    case PaymentStatus::kSucceeded:
      payment.processed_at = now;
      break;
    case PaymentStatus::kFailed:
      payment.processed_at = now;
      payment.failure_reason = reason.empty() ? "payment_failed" : std::move(reason);
      break;
    case PaymentStatus::kRefunded:
      payment.metadata["refundReason"] = reason;
      payment.metadata["refundedAt"] = FormatRfc3339(now);
      break;
    case PaymentStatus::kRequested:
    case PaymentStatus::kProcessing:
      break;
  }
  return Ok();
}

}  // namespace shopflow::payments
