// The orders and inventory handlers on a real SqliteStore: which deliveries reach the store.
// Each queue also receives events its module ignores (EVENTS.md bindings); those must be
// acknowledged without a write transaction or an inbox mark.
#include "orders/order_events.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "inventory/inventory_events.hpp"
#include "inventory/product_service.hpp"
#include "inventory/stock_service.hpp"
#include "orders/order_service.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow {
namespace {

class HandlerWrites : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("shopflow-handlers-" + NewId() + ".db");
    SqliteStoreOptions options;
    options.path = path_.string();
    options.collections = MergeCollections({orders::OrderService::Collections(),
                                            inventory::ProductService::Collections(),
                                            inventory::StockService::Collections()});
    auto store = SqliteStore::Open(std::move(options));
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ec);
    }
  }

  Delivery Of(std::string_view type, json::object data = {{"orderId", "o-unknown"}}) {
    Delivery d;
    d.envelope = MakeEvent(std::string(type), std::move(data), "test", "corr-1", "", clock_.Now());
    d.queue = "test.queue";
    return d;
  }
  uint64_t Writes() const { return store_->Stats().writes_committed; }

  testing::FakeClock clock_;
  std::filesystem::path path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(HandlerWrites, OrdersAcknowledgeIgnoredEventsWithoutAWrite) {
  orders::OrderEventHandler handler(*store_, clock_);
  for (std::string_view type : {events::kInventoryUpdated, events::kInventoryConfirmed,
                                events::kInventoryReleased, events::kOrderUpdated}) {
    EXPECT_FALSE(handler.Acts(Of(type).envelope)) << type;
    EXPECT_EQ(handler.Handle(Of(type)).kind, HandlerOutcome::Kind::kAck) << type;
  }
  // A reservation made by hand (not by the saga) is not the saga's business either.
  EXPECT_FALSE(
      handler.Acts(Of(events::kInventoryReserved, {{"orderId", "o"}, {"manual", true}}).envelope));
  EXPECT_EQ(Writes(), 0u);

  // What the saga acts on goes through the inbox, even for an order this store does not hold.
  for (std::string_view type :
       {events::kInventoryReserved, events::kInventoryError, events::kPaymentRequested,
        events::kPaymentProcessing, events::kPaymentSucceeded, events::kPaymentFailed,
        events::kPaymentRefunded}) {
    EXPECT_TRUE(handler.Acts(Of(type).envelope)) << type;
    EXPECT_EQ(handler.Handle(Of(type)).kind, HandlerOutcome::Kind::kAck) << type;
  }
  EXPECT_EQ(Writes(), 7u);

  // With a catalog replica to keep, INVENTORY_UPDATED matters.
  orders::OrderEventHandler replica(*store_, clock_, /*keep_catalog_replica=*/true);
  EXPECT_TRUE(replica.Acts(Of(events::kInventoryUpdated).envelope));
}

TEST_F(HandlerWrites, InventoryAcknowledgesIgnoredEventsWithoutAWrite) {
  inventory::InventoryEventHandler handler(*store_, clock_);
  for (std::string_view type :
       {events::kOrderUpdated, events::kPaymentRequested, events::kPaymentProcessing,
        events::kPaymentSucceeded, events::kPaymentFailed}) {
    EXPECT_FALSE(inventory::InventoryEventHandler::Acts(Of(type).envelope)) << type;
    EXPECT_EQ(handler.Handle(Of(type)).kind, HandlerOutcome::Kind::kAck) << type;
  }
  EXPECT_EQ(Writes(), 0u);
  for (std::string_view type :
       {events::kOrderConfirmed, events::kOrderFailed, events::kOrderCancelled}) {
    EXPECT_TRUE(inventory::InventoryEventHandler::Acts(Of(type).envelope)) << type;
    EXPECT_EQ(handler.Handle(Of(type)).kind, HandlerOutcome::Kind::kAck) << type;
  }
  EXPECT_EQ(Writes(), 3u);
  EXPECT_TRUE(inventory::InventoryEventHandler::Acts(Of(events::kOrderCreated).envelope));
}

}  // namespace
}  // namespace shopflow
