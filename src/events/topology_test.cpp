#include "events/topology.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "events/event_types.hpp"

namespace shopflow {
namespace {
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(TopicMatches, StarIsExactlyOneWord) {
  EXPECT_TRUE(TopicMatches("order.*", "order.created"));
  EXPECT_FALSE(TopicMatches("order.*", "order"));
  EXPECT_FALSE(TopicMatches("order.*", "order.created.extra"));
  EXPECT_TRUE(TopicMatches("*.created", "order.created"));
  EXPECT_FALSE(TopicMatches("order.*", "payment.created"));
}

TEST(TopicMatches, HashIsZeroOrMoreWords) {
  EXPECT_TRUE(TopicMatches("#", "a.b.c"));
  EXPECT_TRUE(TopicMatches("notification.#", "notification"));
  EXPECT_TRUE(TopicMatches("notification.#", "notification.email.sent"));
  EXPECT_TRUE(TopicMatches("a.#.z", "a.z"));
  EXPECT_TRUE(TopicMatches("a.#.z", "a.b.c.z"));
  EXPECT_FALSE(TopicMatches("a.#.z", "a.b.c"));
  EXPECT_TRUE(TopicMatches("#.sent", "notification.email.sent"));
  EXPECT_FALSE(TopicMatches("order.created", "order.createdx"));
}

TEST(DefaultTopology, RoutesEventsLikeEventsMd) {
  const Topology t = DefaultTopology();
  auto route = [&](std::string_view key) { return t.Route(t.events_exchange, key); };
  EXPECT_THAT(route("order.created"),
              UnorderedElementsAre("payments.events.queue", "inventory.events.queue",
                                   "notifications.events.queue"));
  EXPECT_THAT(route("order.updated"), ElementsAre("inventory.events.queue"));
  EXPECT_THAT(route("order.cancelled"),
              UnorderedElementsAre("payments.events.queue", "inventory.events.queue"));
  EXPECT_THAT(route("order.failed"),
              UnorderedElementsAre("payments.events.queue", "inventory.events.queue",
                                   "notifications.events.queue"));
  EXPECT_THAT(route("payment.succeeded"),
              UnorderedElementsAre("orders.events.queue", "inventory.events.queue",
                                   "notifications.events.queue"));
  EXPECT_THAT(route("inventory.low_stock"),
              UnorderedElementsAre("orders.events.queue", "notifications.events.queue"));
  EXPECT_THAT(route("notification.email.sent"), IsEmpty());
}

TEST(DefaultTopology, EveryConsumerOfEventsMdIsReached) {
  const Topology t = DefaultTopology();
  struct Expect {
    std::string_view type;
    std::string_view queue;
  };
  const Expect expectations[] = {{events::kOrderCreated, "payments.events.queue"},
                                 {events::kOrderCancelled, "payments.events.queue"},
                                 {events::kOrderFailed, "payments.events.queue"},
                                 {events::kOrderConfirmed, "inventory.events.queue"},
                                 {events::kPaymentRefunded, "orders.events.queue"},
                                 {events::kInventoryError, "orders.events.queue"},
                                 {events::kLowStockAlert, "notifications.events.queue"}};
  for (const auto& e : expectations) {
    EXPECT_THAT(t.Route(t.events_exchange, *RoutingKeyFor(e.type)), ::testing::Contains(e.queue))
        << e.type;
  }
}

TEST(DefaultTopology, HasDeadLetterQueuesAndRetryTiers) {
  RetryPolicy policy;
  policy.max_attempts = 4;
  policy.initial_delay = std::chrono::milliseconds(100);
  const Topology t = DefaultTopology(policy);
  const auto* orders = t.FindModule("orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->dead_letter_queue, "dlq.orders.created.failed");
  ASSERT_EQ(orders->retry_queues.size(), 3u);
  const auto* tier2 = t.FindQueue(orders->retry_queues[1]);
  ASSERT_NE(tier2, nullptr);
  EXPECT_EQ(tier2->message_ttl, std::chrono::milliseconds(200));
  EXPECT_EQ(tier2->dead_letter_routing_key, "orders.events.queue");
  const auto* dlq = t.FindQueue("dlq.payments.process.failed");
  ASSERT_NE(dlq, nullptr);
  EXPECT_EQ(dlq->message_ttl, std::chrono::hours(24));
  EXPECT_THAT(t.Route(t.dead_letter_exchange, "payments.events.queue"),
              ElementsAre("dlq.payments.process.failed"));
  EXPECT_THAT(t.Route("", "orders.events.queue"), ElementsAre("orders.events.queue"));
  EXPECT_EQ(t.ModuleOfQueue(orders->retry_queues[0]), orders);
}

TEST(RetryPolicy, GrowsExponentiallyUpToTheCap) {
  RetryPolicy p;
  p.initial_delay = std::chrono::milliseconds(100);
  p.multiplier = 3;
  p.max_delay = std::chrono::milliseconds(1000);
  EXPECT_EQ(p.DelayAfter(1).count(), 100);
  EXPECT_EQ(p.DelayAfter(2).count(), 300);
  EXPECT_EQ(p.DelayAfter(3).count(), 900);
  EXPECT_EQ(p.DelayAfter(4).count(), 1000);
}

}  // namespace
}  // namespace shopflow
