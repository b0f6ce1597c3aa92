#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace shopflow {

/// The event names of EVENTS.md, as constants so a typo is a compile error.
namespace events {
inline constexpr std::string_view kOrderCreated = "ORDER_CREATED";
inline constexpr std::string_view kOrderUpdated = "ORDER_UPDATED";
inline constexpr std::string_view kOrderConfirmed = "ORDER_CONFIRMED";
inline constexpr std::string_view kOrderCancelled = "ORDER_CANCELLED";
inline constexpr std::string_view kOrderFailed = "ORDER_FAILED";
inline constexpr std::string_view kPaymentRequested = "PAYMENT_REQUESTED";
inline constexpr std::string_view kPaymentProcessing = "PAYMENT_PROCESSING";
inline constexpr std::string_view kPaymentSucceeded = "PAYMENT_SUCCEEDED";
inline constexpr std::string_view kPaymentFailed = "PAYMENT_FAILED";
inline constexpr std::string_view kPaymentRefunded = "PAYMENT_REFUNDED";
inline constexpr std::string_view kInventoryUpdated = "INVENTORY_UPDATED";
inline constexpr std::string_view kInventoryReserved = "INVENTORY_RESERVED";
inline constexpr std::string_view kInventoryConfirmed = "INVENTORY_CONFIRMED";
inline constexpr std::string_view kInventoryReleased = "INVENTORY_RELEASED";
inline constexpr std::string_view kInventoryError = "INVENTORY_ERROR";
inline constexpr std::string_view kLowStockAlert = "LOW_STOCK_ALERT";
inline constexpr std::string_view kNotificationEmailSent = "NOTIFICATION_EMAIL_SENT";
inline constexpr std::string_view kNotificationSmsSent = "NOTIFICATION_SMS_SENT";
inline constexpr std::string_view kNotificationPushSent = "NOTIFICATION_PUSH_SENT";
inline constexpr std::string_view kNotificationFailed = "NOTIFICATION_FAILED";
}  // namespace events

/// One row of the event table of EVENTS.md.
struct EventInfo {
  std::string_view type;         // "ORDER_CREATED"
  std::string_view routing_key;  // "order.created"
  std::string_view publisher;    // "orders"
};

/// Every event the system knows, in the order of EVENTS.md.
std::span<const EventInfo> AllEvents();
const EventInfo* FindEventByType(std::string_view type);
const EventInfo* FindEventByRoutingKey(std::string_view routing_key);
std::optional<std::string_view> RoutingKeyFor(std::string_view type);

}  // namespace shopflow
