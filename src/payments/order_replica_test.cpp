#include "payments/order_replica.hpp"

#include <gtest/gtest.h>

#include "events/event_types.hpp"
#include "payments/payment_service.hpp"
#include "payments/payments_test_support.hpp"
#include "payments/run_blocking.hpp"
#include "tests/support/temp_sqlite_store.hpp"

namespace shopflow::payments::testing {
namespace {

class OrderReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<CollectionSpec> collections = PaymentService::Collections();
    collections.push_back(OrderSnapshotsCollection());
    store_ = temp_.Open(std::move(collections));
    ASSERT_NE(store_, nullptr);
  }

  Delivery Event(std::string_view type, std::string order_id, int64_t cents = 5990) {
    Delivery d;
    d.envelope =
        OrderEvent(type, {.order_id = std::move(order_id), .total_cents = cents}, clock_.Now());
    return d;
  }

  std::optional<OrderSnapshot> Find(std::string order_id) {
    ReplicaOrderDirectory directory(*store_);
    auto found = RunBlocking([&] { return directory.Find(order_id); });
    EXPECT_TRUE(IsOk(found));
    return found ? *found : std::nullopt;
  }

  FakeClock clock_;
  shopflow::testing::TempSqliteStore temp_{"shopflow_order_replica"};
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(OrderReplicaTest, ABatchRecordsEachOrderAndACancelledOneNeverGoesBackToPending) {
  const std::vector<Delivery> batch{
      Event(events::kOrderCreated, "o1"),       Event(events::kOrderCancelled, "o1"),
      Event(events::kOrderCreated, "o1"),  // a late retry of the first
      Event(events::kOrderCreated, "o2", 1250), Event(events::kOrderFailed, "o3"),
      Event(events::kOrderUpdated, "o4")};
  ASSERT_TRUE(IsOk(RecordOrderEvents(*store_, batch)));

  EXPECT_EQ(Find("o1")->status, "cancelled");
  auto o2 = Find("o2");
  ASSERT_TRUE(o2.has_value());
  EXPECT_EQ(o2->status, "pending");
  EXPECT_EQ(o2->customer_id, "cust-1");
  EXPECT_EQ(o2->payment_method, "credit_card");
  EXPECT_EQ(o2->total_amount, Money::FromCents(1250));
  EXPECT_EQ(Find("o3")->status, "failed");
  EXPECT_FALSE(Find("o4").has_value()) << "ORDER_UPDATED is not recorded";

  // Recorded again (a redelivered batch): nothing changes.
  ASSERT_TRUE(IsOk(RecordOrderEvents(*store_, batch)));
  EXPECT_EQ(Find("o1")->status, "cancelled");
  EXPECT_EQ(Find("o2")->status, "pending");
}

}  // namespace
}  // namespace shopflow::payments::testing
