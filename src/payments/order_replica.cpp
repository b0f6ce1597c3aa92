#include "payments/order_replica.hpp"

#include "events/event_types.hpp"
#include "payments/payment.hpp"
#include "storage/await.hpp"

namespace shopflow::payments {

CollectionSpec OrderSnapshotsCollection() {
  return CollectionSpec{std::string(kOrderSnapshotsCollection), {}, {}};
}

Result<void> RecordOrderEvent(Store& store, const Envelope& event) {
  std::string status;
  if (event.event_type == events::kOrderCreated) {
    status = "pending";
  } else if (event.event_type == events::kOrderCancelled) {
    status = "cancelled";
  } else if (event.event_type == events::kOrderFailed) {
    status = "failed";
  } else {
    return Ok();
  }
  const std::string id = GetString(event.data, "orderId");
  if (id.empty()) return Ok();
  return WriteAndWait(store, [&](Transaction& txn) -> Result<void> {
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
