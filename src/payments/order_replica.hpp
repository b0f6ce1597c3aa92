#pragma once

#include <span>
#include <string_view>

#include "events/event_bus.hpp"
#include "payments/order_directory.hpp"
#include "storage/store.hpp"

namespace shopflow::payments {

/// Payments' own record of the orders it hears about (ORDER_CREATED, ORDER_CANCELLED,
/// ORDER_FAILED): how payments answers API questions about an order when the orders module runs
/// in another process. Payments does not hear about shipping, so through the replica a shipped
/// order looks `paid` (see docs/API_NOTES.md).
inline constexpr std::string_view kOrderSnapshotsCollection = "order_snapshots";
CollectionSpec OrderSnapshotsCollection();

/// Records what each delivery's event says about its order, in one write (blocking; call on a
/// bus thread before the payment handler). Idempotent and order-safe: an order never goes back
/// to `pending` once cancelled or failed. Events about no order are skipped.
Result<void> RecordOrderEvents(Store& store, std::span<const Delivery> deliveries);

/// The OrderDirectory port over the replica; `paid` when the order's payment succeeded.
class ReplicaOrderDirectory final : public OrderDirectory {
 public:
  explicit ReplicaOrderDirectory(Store& store) : store_(store) {}
  boost::asio::awaitable<Result<std::optional<OrderSnapshot>>> Find(std::string order_id) override;

 private:
  Store& store_;
};

}  // namespace shopflow::payments
