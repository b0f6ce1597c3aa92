#include "notifications/notification_event_handler.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "events/event_types.hpp"
#include "events/topology.hpp"
#include "notifications/notifications_test_support.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::notifications {
namespace {

using namespace std::chrono_literals;
using testing::IsOk;
using testing::WaitUntil;

json::object OrderData(json::object metadata = {}) {
  return json::object{{"orderId", "01JORDER0000000000000000001"},
                      {"customerId", "customer-7"},
                      {"status", "pending"},
                      {"items", json::array{json::object{{"productId", "p1"},
                                                         {"name", "Pen"},
                                                         {"quantity", 2},
                                                         {"price", 1.25},
                                                         {"total", 2.5}}}},
                      {"totalAmount", 2.5},
                      {"paymentMethod", "credit_card"},
                      {"createdAt", "2026-11-29T14:03:07.123Z"},
                      {"metadata", std::move(metadata)}};
}

class NotificationEventHandlerTest : public testing::ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    MakeService(Options(), clock_);
  }

  static NotificationsOptions Options() {
    NotificationsOptions options;
    options.alert_email = "ops@shop.test";
    return options;
  }

  void MakeService(NotificationsOptions options, const Clock& clock) override {
    handler_.reset();
    ServiceFixture::MakeService(std::move(options), clock);
    handler_ = std::make_unique<NotificationEventHandler>(*service_);
  }

  void TearDown() override {
    handler_.reset();
    ServiceFixture::TearDown();
  }

  Envelope Event(std::string_view type, json::object data) {
    return MakeEvent(std::string(type), std::move(data), "orders", "corr-saga", "", clock_.Now());
  }

  static Delivery DeliveryOf(Envelope envelope) {
    Delivery d;
    d.routing_key = std::string(RoutingKeyFor(envelope.event_type).value_or(""));
    d.envelope = std::move(envelope);
    d.queue = std::string(NotificationEventHandler::kQueue);
    return d;
  }

  /// Stores a notification as phase 1 would have left it before a crash.
  Notification StorePending(TimePoint created_at, std::string causation_id) {
    Notification n;
    n.notification_id = NewId();
    n.type = NotificationType::kEmail;
    n.recipient = "late@example.com";
    n.subject = "Left behind";
    n.content = "<p>x</p>";
    n.event_trigger = std::string(events::kOrderCreated);
    n.metadata = {{"correlationId", "corr-crash"},
                  {"causationId", std::move(causation_id)},
                  {"createdAt", FormatRfc3339(created_at)}};
    EXPECT_TRUE(IsOk(WriteAndWait(*store_, [&](Transaction& txn) {
      return txn.Insert(kNotificationsCollection, n.notification_id, n.ToJson());
    })));
    return n;
  }

  shopflow::testing::FakeClock clock_;
  std::unique_ptr<NotificationEventHandler> handler_;
};

TEST_F(NotificationEventHandlerTest, OrderCreatedThroughTheBusSendsOneConfirmationEmail) {
  InMemoryEventBus bus(DefaultTopology(), clock_, {.seed = 7});
  bus.Subscribe(std::string(NotificationEventHandler::kQueue), handler_->AsEventHandler(), {});
  ASSERT_TRUE(IsOk(bus.Start()));
  const Envelope created = Event(events::kOrderCreated, OrderData({{"email", "ana@example.com"}}));
  ASSERT_TRUE(IsOk(bus.Publish({&created, 1})));
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked >= 1; }));

  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  const Notification& n = stored[0];
  EXPECT_EQ(n.type, NotificationType::kEmail);
  EXPECT_EQ(n.status, NotificationStatus::kSent);
  EXPECT_EQ(n.recipient, "ana@example.com");
  EXPECT_EQ(n.event_trigger, "ORDER_CREATED");
  EXPECT_EQ(n.subject, "We received your order 01JORDER0000000000000000001");
  EXPECT_EQ(n.sent_at, clock_.Now());
  EXPECT_EQ(GetString(n.metadata, "template"), "order-confirmation");
  EXPECT_EQ(GetString(n.metadata, "orderId"), "01JORDER0000000000000000001");
  EXPECT_EQ(GetString(n.metadata, "correlationId"), "corr-saga");
  EXPECT_EQ(GetString(n.metadata, "causationId"), created.metadata.message_id);
  ASSERT_EQ(email_->sent().size(), 1u);
  EXPECT_NE(email_->sent()[0].content.find("Pen"), std::string::npos);

  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationEmailSent);
  EXPECT_EQ(events[0].metadata.causation_id, created.metadata.message_id);
  EXPECT_EQ(events[0].metadata.correlation_id, "corr-saga");
  EXPECT_EQ(events[0].metadata.source, "notifications");
  EXPECT_EQ(events[0].data, testing::EventDataOf(n.ToJson()));

  // The broker delivers it again: nothing is sent, stored or published twice.
  ASSERT_TRUE(IsOk(bus.SendToQueue(NotificationEventHandler::kQueue, created, {})));
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked >= 2; }));
  EXPECT_EQ(AllNotifications().size(), 1u);
  EXPECT_EQ(email_->sent().size(), 1u);
  EXPECT_EQ(OutboxEvents().size(), 1u);
  bus.Stop();
}

TEST_F(NotificationEventHandlerTest, TheSameDeliveryTwiceSendsOnce) {
  const Delivery d = DeliveryOf(Event(events::kOrderCreated, OrderData()));
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].recipient, "customer-7");  // no address in metadata: the customerId
  EXPECT_EQ(email_->sent().size(), 1u);
  EXPECT_EQ(OutboxEvents().size(), 1u);
}

TEST_F(NotificationEventHandlerTest, AFailingChannelStoresFailedPublishesFailureAndAcks) {
  email_->Fail(true);
  const Delivery d = DeliveryOf(Event(events::kOrderCreated, OrderData()));
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].status, NotificationStatus::kFailed);
  EXPECT_FALSE(stored[0].sent_at.has_value());
  EXPECT_EQ(GetString(stored[0].metadata, "failureReason"), "gateway refused (fake)");
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationFailed);
  EXPECT_EQ(events[0].metadata.causation_id, d.envelope.metadata.message_id);
  EXPECT_EQ(events[0].data, testing::EventDataOf(stored[0].ToJson()));

  // A channel that throws is a failure too, never an exception out of the handler.
  email_->Fail(false);
  email_->Throw(true);
  EXPECT_EQ(handler_->Handle(DeliveryOf(Event(events::kOrderCreated, OrderData()))).kind,
            HandlerOutcome::Kind::kAck);
  EXPECT_EQ(AllNotifications().back().status, NotificationStatus::kFailed);
}

TEST_F(NotificationEventHandlerTest, PaymentSucceededSendsAReceipt) {
  json::object payment{
      {"paymentId", "01JPAY"},      {"orderId", "01JORDER"},     {"amount", 2.5},
      {"status", "succeeded"},      {"method", "credit_card"},   {"transactionId", "txn_1"},
      {"customerId", "customer-7"}, {"metadata", json::object{}}};
  const Delivery d = DeliveryOf(Event(events::kPaymentSucceeded, payment));
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].recipient, "customer-7");
  EXPECT_EQ(stored[0].subject, "Payment receipt for order 01JORDER");
  EXPECT_EQ(GetString(stored[0].metadata, "template"), "payment-receipt");
  EXPECT_EQ(GetString(stored[0].metadata, "paymentId"), "01JPAY");
  EXPECT_NE(stored[0].content.find("txn_1"), std::string::npos);
  EXPECT_NE(stored[0].content.find("2.50"), std::string::npos);
}

TEST_F(NotificationEventHandlerTest, OrderFailedSendsAFailureNoticeWhateverTheCause) {
  for (const char* reason : {"card_declined", "insufficient_stock"}) {
    json::object order = OrderData({{"customerEmail", "bia@example.com"}});
    order["status"] = "failed";
    order["failureReason"] = reason;
    order["reason"] = reason;
    EXPECT_EQ(handler_->Handle(DeliveryOf(Event(events::kOrderFailed, order))).kind,
              HandlerOutcome::Kind::kAck);
  }
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& n : stored) {
    EXPECT_EQ(n.recipient, "bia@example.com");
    EXPECT_EQ(n.event_trigger, "ORDER_FAILED");
    EXPECT_EQ(GetString(n.metadata, "template"), "order-failed");
    EXPECT_EQ(n.status, NotificationStatus::kSent);
  }
  EXPECT_NE(stored[0].content.find("card_declined"), std::string::npos);
  EXPECT_NE(stored[1].content.find("insufficient_stock"), std::string::npos);
}

TEST_F(NotificationEventHandlerTest, LowStockAlertGoesToTheOperators) {
  json::object product{{"productId", "01JPROD"}, {"name", "Pen"},
                       {"sku", "PEN-1"},         {"stock", 5},
                       {"reserved", 4},          {"available", 1},
                       {"minStock", 2},          {"customerId", "not-a-customer"}};
  EXPECT_EQ(handler_->Handle(DeliveryOf(Event(events::kLowStockAlert, product))).kind,
            HandlerOutcome::Kind::kAck);
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].recipient, "ops@shop.test");
  EXPECT_EQ(stored[0].subject, "Low stock: Pen (PEN-1)");
  EXPECT_EQ(GetString(stored[0].metadata, "template"), "stock-alert");
  EXPECT_EQ(GetString(stored[0].metadata, "productId"), "01JPROD");
  ASSERT_EQ(email_->sent().size(), 1u);
  EXPECT_EQ(email_->sent()[0].recipient, "ops@shop.test");
}

TEST_F(NotificationEventHandlerTest, OtherEventsAreAcknowledgedAndIgnored) {
  for (auto type : {events::kOrderUpdated, events::kOrderCancelled, events::kPaymentFailed,
                    events::kInventoryReserved, events::kNotificationEmailSent}) {
    EXPECT_EQ(handler_->Handle(DeliveryOf(Event(type, OrderData()))).kind,
              HandlerOutcome::Kind::kAck)
        << type;
  }
  EXPECT_TRUE(AllNotifications().empty());
  EXPECT_TRUE(OutboxEvents().empty());
  EXPECT_TRUE(email_->sent().empty());
}

TEST_F(NotificationEventHandlerTest, AnEventWithoutRecipientIsAFailedNotification) {
  json::object order = OrderData();
  order.erase("customerId");
  const Delivery d = DeliveryOf(Event(events::kOrderCreated, order));
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].status, NotificationStatus::kFailed);
  EXPECT_EQ(GetString(stored[0].metadata, "failureReason"),
            "the event names no customer to write to");
  EXPECT_TRUE(email_->sent().empty());
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationFailed);
  EXPECT_EQ(events[0].metadata.causation_id, d.envelope.metadata.message_id);
}

TEST_F(NotificationEventHandlerTest, AnUnknownVersionIsDeadLettered) {
  Envelope e = Event(events::kOrderCreated, OrderData());
  e.metadata.version = "2";
  EXPECT_EQ(handler_->Handle(DeliveryOf(e)).kind, HandlerOutcome::Kind::kDeadLetter);
  EXPECT_TRUE(AllNotifications().empty());
}

TEST_F(NotificationEventHandlerTest, AMissingTemplateIsRetriedAndLaterDelivered) {
  const auto empty_dir = dir_ / "no-templates";
  std::filesystem::create_directories(empty_dir);
  NotificationsOptions broken = Options();
  broken.templates_dir = empty_dir.string();
  MakeService(broken, clock_);
  const Delivery d = DeliveryOf(Event(events::kOrderCreated, OrderData()));
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kRetry);
  EXPECT_TRUE(AllNotifications().empty());
  EXPECT_TRUE(OutboxEvents().empty());

  MakeService(Options(), clock_);  // the deployment is fixed; the message comes back
  EXPECT_EQ(handler_->Handle(d).kind, HandlerOutcome::Kind::kAck);
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].status, NotificationStatus::kSent);
}

TEST_F(NotificationEventHandlerTest, RetryPendingSendsWhatACrashLeftPending) {
  const Notification old_one = StorePending(clock_.Now() - 5min, "01JCAUSE");
  const Notification young = StorePending(clock_.Now() - 1s, "01JCAUSE2");

  auto resent = service_->RetryPending();
  ASSERT_TRUE(IsOk(resent));
  EXPECT_EQ(*resent, 1u);  // the young one may still be in flight elsewhere
  ASSERT_EQ(email_->sent().size(), 1u);
  EXPECT_EQ(email_->sent()[0].notification_id, old_one.notification_id);
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationEmailSent);
  EXPECT_EQ(events[0].metadata.correlation_id, "corr-crash");
  EXPECT_EQ(events[0].metadata.causation_id, "01JCAUSE");
  EXPECT_EQ(GetString(events[0].data, "notificationId"), old_one.notification_id);
  EXPECT_EQ(GetString(events[0].data, "status"), "sent");

  clock_.Advance(2min);
  email_->Fail(true);
  resent = service_->RetryPending();
  ASSERT_TRUE(IsOk(resent));
  EXPECT_EQ(*resent, 1u);
  events = OutboxEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].event_type, events::kNotificationFailed);
  EXPECT_EQ(GetString(events[1].data, "notificationId"), young.notification_id);

  resent = service_->RetryPending();
  ASSERT_TRUE(IsOk(resent));
  EXPECT_EQ(*resent, 0u);
  for (const auto& n : AllNotifications()) EXPECT_NE(n.status, NotificationStatus::kPending);
}

TEST_F(NotificationEventHandlerTest, ABatchIsStoredInOneWriteAndSettledInAnother) {
  Envelope old_version = Event(events::kOrderCreated, OrderData());
  old_version.metadata.version = "2";
  json::object nobody = OrderData();
  nobody.erase("customerId");
  json::object payment{
      {"paymentId", "01JPAY"},      {"orderId", "01JORDER"},     {"amount", 2.5},
      {"status", "succeeded"},      {"method", "credit_card"},   {"transactionId", "txn_1"},
      {"customerId", "customer-9"}, {"metadata", json::object{}}};
  const Delivery created =
      DeliveryOf(Event(events::kOrderCreated, OrderData({{"email", "ana@example.com"}})));
  const std::vector<Delivery> batch = {
      created,
      DeliveryOf(Event(events::kOrderUpdated, OrderData())),  // ignored
      DeliveryOf(Event(events::kPaymentSucceeded, payment)),
      DeliveryOf(old_version),                           // dead-lettered
      DeliveryOf(Event(events::kOrderCreated, nobody)),  // failed: no recipient
      created,                                           // a copy within the batch
  };
  const uint64_t writes_before = store_->Stats().writes_committed;
  const std::vector<HandlerOutcome> outcomes = handler_->HandleBatch(batch);
  ASSERT_EQ(outcomes.size(), batch.size());
  for (size_t i : {0u, 1u, 2u, 4u, 5u}) {
    EXPECT_EQ(outcomes[i].kind, HandlerOutcome::Kind::kAck) << i;
  }
  EXPECT_EQ(outcomes[3].kind, HandlerOutcome::Kind::kDeadLetter);
  // Phase 1 of all three notifications together, then phase 2 of the two that were sent.
  EXPECT_EQ(store_->Stats().writes_committed - writes_before, 2u);

  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 3u);
  std::map<std::string, Notification> by_cause;
  for (auto& n : stored) by_cause[GetString(n.metadata, "causationId")] = n;
  ASSERT_EQ(by_cause.size(), 3u);
  const Notification& confirmation = by_cause.at(created.envelope.metadata.message_id);
  EXPECT_EQ(confirmation.status, NotificationStatus::kSent);
  EXPECT_EQ(confirmation.recipient, "ana@example.com");
  const Notification& receipt = by_cause.at(batch[2].envelope.metadata.message_id);
  EXPECT_EQ(receipt.status, NotificationStatus::kSent);
  EXPECT_EQ(receipt.recipient, "customer-9");
  EXPECT_EQ(by_cause.at(batch[4].envelope.metadata.message_id).status, NotificationStatus::kFailed);
  ASSERT_EQ(email_->sent().size(), 2u);
  EXPECT_EQ(email_->sent()[0].recipient, "ana@example.com");
  EXPECT_EQ(email_->sent()[1].recipient, "customer-9");

  // One event per notification, each caused by its own delivery.
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 3u);
  std::map<std::string, std::string> event_by_cause;
  for (const auto& e : events) event_by_cause[e.metadata.causation_id] = e.event_type;
  EXPECT_EQ(event_by_cause.at(created.envelope.metadata.message_id),
            events::kNotificationEmailSent);
  EXPECT_EQ(event_by_cause.at(batch[2].envelope.metadata.message_id),
            events::kNotificationEmailSent);
  EXPECT_EQ(event_by_cause.at(batch[4].envelope.metadata.message_id), events::kNotificationFailed);

  // The whole batch redelivered: the same outcomes, nothing stored or sent twice.
  const std::vector<HandlerOutcome> again = handler_->HandleBatch(batch);
  ASSERT_EQ(again.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(again[i].kind, outcomes[i].kind) << i;
  EXPECT_EQ(AllNotifications().size(), 3u);
  EXPECT_EQ(email_->sent().size(), 2u);
  EXPECT_EQ(OutboxEvents().size(), 3u);
}

TEST_F(NotificationEventHandlerTest, ARecordOnlyChannelStoresEachSentWithItsEventInOneWrite) {
  email_->SetRecordsOnly(true);
  json::object payment{
      {"paymentId", "01JPAY"},      {"orderId", "01JORDER"},     {"amount", 2.5},
      {"status", "succeeded"},      {"method", "credit_card"},   {"transactionId", "txn_1"},
      {"customerId", "customer-9"}, {"metadata", json::object{}}};
  const std::vector<Delivery> batch = {
      DeliveryOf(Event(events::kOrderCreated, OrderData({{"email", "ana@example.com"}}))),
      DeliveryOf(Event(events::kPaymentSucceeded, payment)),
  };
  const uint64_t writes_before = store_->Stats().writes_committed;
  const std::vector<HandlerOutcome> outcomes = handler_->HandleBatch(batch);
  ASSERT_EQ(outcomes.size(), batch.size());
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.kind, HandlerOutcome::Kind::kAck);
  // Stored sent in phase 1: no second write, and nothing handed to the channel.
  EXPECT_EQ(store_->Stats().writes_committed - writes_before, 1u);
  EXPECT_TRUE(email_->sent().empty());

  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 2u);
  std::map<std::string, json::object> doc_by_cause;
  for (const auto& n : stored) {
    EXPECT_EQ(n.status, NotificationStatus::kSent);
    EXPECT_EQ(n.sent_at, clock_.Now());
    doc_by_cause[GetString(n.metadata, "causationId")] = n.ToJson();
  }
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e.event_type, events::kNotificationEmailSent);
    EXPECT_EQ(e.metadata.source, "notifications");
    EXPECT_EQ(e.metadata.correlation_id, "corr-saga");
    ASSERT_TRUE(doc_by_cause.contains(e.metadata.causation_id)) << e.metadata.causation_id;
    EXPECT_EQ(e.data, testing::EventDataOf(doc_by_cause.at(e.metadata.causation_id)));
  }

  // Redelivered: nothing stored or published twice.
  handler_->HandleBatch(batch);
  EXPECT_EQ(AllNotifications().size(), 2u);
  EXPECT_EQ(OutboxEvents().size(), 2u);
}

TEST_F(NotificationEventHandlerTest, ABatchWithAFailingChannelSettlesEachAsFailed) {
  email_->Fail(true);
  const std::vector<Delivery> batch = {DeliveryOf(Event(events::kOrderCreated, OrderData())),
                                       DeliveryOf(Event(events::kOrderCreated, OrderData()))};
  for (const HandlerOutcome& o : handler_->HandleBatch(batch)) {
    EXPECT_EQ(o.kind, HandlerOutcome::Kind::kAck);
  }
  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& n : stored) {
    EXPECT_EQ(n.status, NotificationStatus::kFailed);
    EXPECT_EQ(GetString(n.metadata, "failureReason"), "gateway refused (fake)");
  }
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) EXPECT_EQ(e.event_type, events::kNotificationFailed);
}

TEST_F(NotificationEventHandlerTest, ABatchConsumerOnTheBusSendsEachOnce) {
  InMemoryEventBus bus(DefaultTopology(), clock_, {.seed = 11});
  auto* handler = handler_.get();
  bus.SubscribeBatch(std::string(NotificationEventHandler::kQueue),
                     [handler](std::span<const Delivery> d) { return handler->HandleBatch(d); },
                     {.concurrency = 1, .max_batch = 32});
  // Published before the consumer starts, so they wait on the queue together.
  constexpr size_t kOrders = 20;
  std::vector<Envelope> created;
  for (size_t i = 0; i < kOrders; ++i) {
    created.push_back(Event(events::kOrderCreated,
                            OrderData({{"email", "c" + std::to_string(i) + "@example.com"}})));
  }
  ASSERT_TRUE(IsOk(bus.Publish(created)));
  const uint64_t writes_before = store_->Stats().writes_committed;
  ASSERT_TRUE(IsOk(bus.Start()));
  ASSERT_TRUE(WaitUntil([&] { return bus.Counters().acked >= kOrders; }));
  bus.Stop();

  auto stored = AllNotifications();
  ASSERT_EQ(stored.size(), kOrders);
  std::set<std::string> recipients;
  for (const auto& n : stored) {
    EXPECT_EQ(n.status, NotificationStatus::kSent);
    recipients.insert(n.recipient);
  }
  EXPECT_EQ(recipients.size(), kOrders);
  EXPECT_EQ(email_->sent().size(), kOrders);
  EXPECT_EQ(OutboxEvents().size(), kOrders);
  // Fewer writes than two per delivery: the deliveries were taken together.
  EXPECT_LT(store_->Stats().writes_committed - writes_before, 2 * kOrders);
}

TEST(CustomerRecipient, PrefersMetadataEmailThenCustomerEmailThenCustomerId) {
  EXPECT_EQ(CustomerRecipient(OrderData({{"email", "a@x.io"}, {"customerEmail", "b@x.io"}})),
            "a@x.io");
  EXPECT_EQ(CustomerRecipient(OrderData({{"customerEmail", "b@x.io"}})), "b@x.io");
  EXPECT_EQ(CustomerRecipient(OrderData({{"email", 42}})), "customer-7");
  EXPECT_EQ(CustomerRecipient({}), "");
}

}  // namespace
}  // namespace shopflow::notifications
