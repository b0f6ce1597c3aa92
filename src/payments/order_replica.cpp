#include "payments/order_replica.hpp"

#include <algorithm>

#include "events/event_types.hpp"
#include "payments/payment.hpp"
#include "storage/await.hpp"

namespace shopflow::payments {

CollectionSpec OrderSnapshotsCollection() {
  return CollectionSpec{std::string(kOrderSnapshotsCollection), {}, {}};
}

namespace {

// The order status an event tells of ("" for an event about no order).
std::string_view StatusTold(const Envelope& event) {
  if (GetString(event.data, "orderId").empty()) return "";
  if (event.event_type == events::kOrderCreated) return "pending";
  if (event.event_type == events::kOrderCancelled) return "cancelled";
  if (event.event_type == events::kOrderFailed) return "failed";
  return "";
}

Result<void> Record(Transaction& txn, const Envelope& event) {
  const std::string_view status = StatusTold(event);
  if (status.empty()) return Ok();
  const std::string id = GetString(event.data, "orderId");
  auto existing = txn.Get(kOrderSnapshotsCollection, id);
  if (!existing) return std::move(existing).error();
  json::object doc{{"orderId", id},
                   {"customerId", GetString(event.data, "customerId")},
                   {"status", status},
                   {"paymentMethod", GetString(event.data, "paymentMethod", "credit_card")},
                   {"totalAmount", GetMoney(event.data, "totalAmount").ToJson()}};
  if (!existing->has_value()) return txn.Insert(kOrderSnapshotsCollection, id, doc);
  // A late ORDER_CREATED (a retry) must not bring a cancelled or failed order back.
  if (status == "pending") return Ok();
  return txn.Replace(kOrderSnapshotsCollection, id, doc);
}

}  // namespace

Result<void> RecordOrderEvents(Store& store, std::span<const Delivery> deliveries) {
  const bool any = std::any_of(deliveries.begin(), deliveries.end(),
                               [](const Delivery& d) { return !StatusTold(d.envelope).empty(); });
  if (!any) return Ok();
  return WriteAndWait(store, [&](Transaction& txn) -> Result<void> {
    for (const Delivery& delivery : deliveries) {
      if (auto recorded = Record(txn, delivery.envelope); !recorded) return recorded;
    }
    return Ok();
  });
}

boost::asio::awaitable<Result<std::optional<OrderSnapshot>>> ReplicaOrderDirectory::Find(
    std::string order_id) {
  std::optional<OrderSnapshot> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto doc = txn.Get(kOrderSnapshotsCollection, order_id);
    if (!doc) return std::move(doc).error();
    if (!doc->has_value()) return Ok();
    OrderSnapshot s{order_id, GetString(**doc, "customerId"), GetString(**doc, "status"),
                    GetString(**doc, "paymentMethod"), GetMoney(**doc, "totalAmount")};
    if (s.status == "pending") {
      auto payment = txn.FindOne(kPaymentsCollection, "orderId", order_id);
      if (!payment) return std::move(payment).error();
      if (payment->has_value()) {
        const std::string ps = GetString(**payment, "status");
        if (ps == "succeeded") s.status = "paid";
      }
    }
    out = std::move(s);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

}  // namespace shopflow::payments
