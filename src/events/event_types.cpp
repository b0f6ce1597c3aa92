#include "events/event_types.hpp"

#include <array>

namespace shopflow {
namespace {
using namespace events;
constexpr std::array kEvents{
    EventInfo{kOrderCreated, "order.created", "orders"},
    EventInfo{kOrderUpdated, "order.updated", "orders"},
    EventInfo{kOrderConfirmed, "order.confirmed", "orders"},
    EventInfo{kOrderCancelled, "order.cancelled", "orders"},
    EventInfo{kOrderFailed, "order.failed", "orders"},
    EventInfo{kPaymentRequested, "payment.requested", "payments"},
    EventInfo{kPaymentProcessing, "payment.processing", "payments"},
    EventInfo{kPaymentSucceeded, "payment.succeeded", "payments"},
    EventInfo{kPaymentFailed, "payment.failed", "payments"},
    EventInfo{kPaymentRefunded, "payment.refunded", "payments"},
    EventInfo{kInventoryUpdated, "inventory.updated", "inventory"},
    EventInfo{kInventoryReserved, "inventory.reserved", "inventory"},
    EventInfo{kInventoryConfirmed, "inventory.confirmed", "inventory"},
    EventInfo{kInventoryReleased, "inventory.released", "inventory"},
    EventInfo{kInventoryError, "inventory.error", "inventory"},
    EventInfo{kLowStockAlert, "inventory.low_stock", "inventory"},
    EventInfo{kNotificationEmailSent, "notification.email.sent", "notifications"},
    EventInfo{kNotificationSmsSent, "notification.sms.sent", "notifications"},
    EventInfo{kNotificationPushSent, "notification.push.sent", "notifications"},
    EventInfo{kNotificationFailed, "notification.failed", "notifications"},
};
}  // namespace

std::span<const EventInfo> AllEvents() { return kEvents; }

const EventInfo* FindEventByType(std::string_view type) {
  for (const auto& e : kEvents) {
    if (e.type == type) return &e;
  }
  return nullptr;
}

const EventInfo* FindEventByRoutingKey(std::string_view routing_key) {
  for (const auto& e : kEvents) {
    if (e.routing_key == routing_key) return &e;
  }
  return nullptr;
}

std::optional<std::string_view> RoutingKeyFor(std::string_view type) {
  const auto* e = FindEventByType(type);
  if (!e) return std::nullopt;
  return e->routing_key;
}

}  // namespace shopflow
