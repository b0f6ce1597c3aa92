#include "orders/order_events.hpp"

#include "events/event_types.hpp"
#include "orders/catalog_replica.hpp"
#include "storage/inbox_handler.hpp"

namespace shopflow::orders {

json::object OrderEventData(const Order& order, json::object extra) {
  json::object data = order.ToJson();
  for (auto& kv : extra) data[kv.key()] = std::move(kv.value());
  return data;
}

Result<Order> LoadOrder(ReadTransaction& txn, std::string_view order_id) {
  auto doc = txn.Get(kOrdersCollection, order_id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return NotFoundError("order " + std::string(order_id) + " not found");
  return Order::FromJson(**doc);
}

OrderEventHandler::OrderEventHandler(Store& store, const Clock& clock, bool keep_catalog_replica)
    : store_(store), clock_(clock), keep_catalog_replica_(keep_catalog_replica) {}

bool OrderEventHandler::Acts(const Envelope& e) const {
  const std::string_view type = e.event_type;
  if (keep_catalog_replica_ && type == events::kInventoryUpdated) return true;
  return (type == events::kInventoryReserved && !e.data.contains("manual")) ||
         type == events::kInventoryError || type == events::kPaymentRequested ||
         type == events::kPaymentProcessing || type == events::kPaymentSucceeded ||
         type == events::kPaymentFailed || type == events::kPaymentRefunded;
}

HandlerOutcome OrderEventHandler::Handle(const Delivery& delivery) {
  if (!Acts(delivery.envelope)) return HandlerOutcome::Ack();
  return ApplyOnce(store_, kConsumer, delivery,
                   [this](Transaction& txn, const Delivery& d) { return Apply(txn, d); });
}

std::vector<HandlerOutcome> OrderEventHandler::HandleBatch(std::span<const Delivery> deliveries) {
  return ApplyOnceBatch(
      store_, kConsumer, deliveries,
      [this](Transaction& txn, const Delivery& d) { return Apply(txn, d); },
      [this](const Delivery& d) { return Acts(d.envelope); });
}

namespace {

// One saga step on a loaded order: the new state is saved with every event it causes.
class Step {
 public:
  Step(Transaction& txn, Order& order, const Envelope& cause, TimePoint now)
      : txn_(txn), order_(order), cause_(cause), now_(now) {}

  Result<void> Move(OrderStatus to, const std::string& reason, std::string_view specific_event) {
    const OrderStatus from = order_.status;
    if (auto moved = TransitionBySaga(order_, to, reason, now_); !moved) return moved;
    json::object change{{"previousStatus", StatusName(from)}, {"reason", reason}};
    if (auto r = Emit(events::kOrderUpdated, change); !r) return r;
    return Emit(specific_event, change);
  }

  Result<void> Save() {
    order_.updated_at = now_;
    return txn_.Replace(kOrdersCollection, order_.order_id, order_.ToJson());
  }

 private:
  Result<void> Emit(std::string_view type, json::object extra) {
    return txn_.AppendOutbox(MakeCausedEvent(
        std::string(type), OrderEventData(order_, std::move(extra)), "orders", cause_, now_));
  }

  Transaction& txn_;
  Order& order_;
  const Envelope& cause_;
  TimePoint now_;
};

}  // namespace

Result<void> OrderEventHandler::Apply(Transaction& txn, const Delivery& delivery) {
  const Envelope& e = delivery.envelope;
  const std::string_view type = e.event_type;
  if (keep_catalog_replica_ && type == events::kInventoryUpdated) {
    return ApplyCatalogUpdate(txn, e);
  }
  if (!Acts(e)) return Ok();
  const std::string order_id = GetString(e.data, "orderId");
  if (order_id.empty()) return ValidationError(std::string(type) + " without orderId");
  auto order = LoadOrder(txn, order_id);
  if (!order) {
    // An event about an order this store does not hold changes nothing here.
    return order.error().code == ErrorCode::kNotFound ? Ok()
                                                      : Result<void>(std::move(order).error());
  }
  Step step(txn, *order, e, clock_.Now());

  if (type == events::kPaymentRefunded) {
    order->payment_state = "refunded";
    if (order->status == OrderStatus::kPaid) {
      if (auto r = step.Move(OrderStatus::kCancelled, "payment_refunded", events::kOrderCancelled);
          !r) {
        return r;
      }
    }
    return step.Save();
  }
  if (order->status != OrderStatus::kPending) return Ok();

  if (type == events::kInventoryReserved) {
    order->stock_state = "reserved";
  } else if (type == events::kInventoryError) {
    order->stock_state = "rejected";
    const std::string reason = GetString(e.data, "reason", "insufficient_stock");
    if (auto r = step.Move(OrderStatus::kFailed, reason, events::kOrderFailed); !r) return r;
    return step.Save();
  } else if (type == events::kPaymentFailed) {
    order->payment_state = "failed";
    order->payment_id = GetString(e.data, "paymentId");
    const std::string reason = GetString(e.data, "failureReason", "payment_failed");
    if (auto r = step.Move(OrderStatus::kFailed, reason, events::kOrderFailed); !r) return r;
    return step.Save();
  } else {
    // PAYMENT_REQUESTED, PAYMENT_PROCESSING, PAYMENT_SUCCEEDED: progress of the charge.
    order->payment_id = GetString(e.data, "paymentId");
    if (order->payment_state != "succeeded") order->payment_state = GetString(e.data, "status");
  }
  if (order->stock_state == "reserved" && order->payment_state == "succeeded") {
    if (auto r = step.Move(OrderStatus::kPaid, "stock reserved and payment succeeded",
                           events::kOrderConfirmed);
        !r) {
      return r;
    }
  }
  return step.Save();
}

}  // namespace shopflow::orders
