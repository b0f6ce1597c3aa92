#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "events/event_bus.hpp"
#include "orders/order.hpp"
#include "storage/store.hpp"

namespace shopflow::orders {

/// The data of an order event (docs/EVENT_PAYLOADS.md): the order plus `extra` fields.
json::object OrderEventData(const Order& order, json::object extra = {});
/// Loads an order inside a transaction; kNotFound when absent.
Result<Order> LoadOrder(ReadTransaction& txn, std::string_view order_id);

/// The orders side of the order saga (EVENTS.md), consuming orders.events.queue: an order
/// becomes `paid` once stock is reserved and payment succeeded (ORDER_UPDATED +
/// ORDER_CONFIRMED), `failed` when either fails (ORDER_UPDATED + ORDER_FAILED, whose consumers
/// compensate), and a `paid` order whose payment is refunded is cancelled (ORDER_UPDATED +
/// ORDER_CANCELLED). Events for orders that already left `pending` change nothing: the
/// compensation of the other modules covers them. Exactly once via the inbox (consumer
/// "orders"). Thread-safe; store and clock must outlive it.
class OrderEventHandler {
 public:
  static constexpr const char* kConsumer = "orders";

  /// With `keep_catalog_replica`, INVENTORY_UPDATED events also refresh the catalog replica
  /// (when the inventory module runs in another process).
  OrderEventHandler(Store& store, const Clock& clock, bool keep_catalog_replica = false);

  /// For EventBus::Subscribe: blocks the bus thread until the effect is committed. An event
  /// this handler ignores (see Acts) is acknowledged without touching the store.
  HandlerOutcome Handle(const Delivery& delivery);
  /// For EventBus::SubscribeBatch: the deliveries it acts on in one store transaction
  /// (ApplyOnceBatch), the others acknowledged without a write.
  std::vector<HandlerOutcome> HandleBatch(std::span<const Delivery> deliveries);
  /// The effect of one event inside a transaction (inbox handled by the caller).
  Result<void> Apply(Transaction& txn, const Delivery& delivery);
  /// Whether Apply can change anything for this event; decided by the envelope alone. The
  /// queue also receives events it ignores (EVENTS.md binds inventory.* and order.* broadly);
  /// those need no inbox mark: applying nothing twice is still nothing.
  bool Acts(const Envelope& event) const;

 private:
  Store& store_;
  const Clock& clock_;
  bool keep_catalog_replica_;
};

}  // namespace shopflow::orders
