#pragma once

#include <span>
#include <vector>

#include "core/clock.hpp"
#include "events/event_bus.hpp"
#include "storage/store.hpp"

namespace shopflow::inventory {

/// The inventory side of the order saga (EVENTS.md), consuming inventory.events.queue:
/// ORDER_CREATED reserves every line or none (INVENTORY_RESERVED / INVENTORY_ERROR),
/// ORDER_CONFIRMED turns the reservation into a sale (INVENTORY_CONFIRMED), ORDER_FAILED and
/// ORDER_CANCELLED release it or return sold stock (INVENTORY_RELEASED). A cancel or failure
/// that arrives before its ORDER_CREATED leaves a tombstone, so the late ORDER_CREATED reserves
/// nothing. Each event is applied exactly once (inbox, consumer "inventory").
/// Thread-safe; store and clock must outlive it.
class InventoryEventHandler {
 public:
  static constexpr const char* kConsumer = "inventory";

  InventoryEventHandler(Store& store, const Clock& clock);

  /// For EventBus::Subscribe: blocks the bus thread until the effect is committed. An event
  /// this handler ignores (see Acts) is acknowledged without touching the store.
  HandlerOutcome Handle(const Delivery& delivery);
  /// For EventBus::SubscribeBatch: the deliveries it acts on in one store transaction
  /// (ApplyOnceBatch), the others acknowledged without a write.
  std::vector<HandlerOutcome> HandleBatch(std::span<const Delivery> deliveries);
  /// The effect of one event inside a transaction (inbox handled by the caller).
  Result<void> Apply(Transaction& txn, const Delivery& delivery);
  /// Whether Apply can change anything for this event (ORDER_CREATED, ORDER_CONFIRMED,
  /// ORDER_FAILED, ORDER_CANCELLED); the queue also receives ORDER_UPDATED and payment.*
  /// (EVENTS.md bindings), which need no inbox mark: applying nothing twice is still nothing.
  static bool Acts(const Envelope& event);

 private:
  Result<void> Reserve(Transaction& txn, const Envelope& event);
  Result<void> Confirm(Transaction& txn, const Envelope& event);
  Result<void> Release(Transaction& txn, const Envelope& event, std::string_view reason);

  Store& store_;
  const Clock& clock_;
};

}  // namespace shopflow::inventory
