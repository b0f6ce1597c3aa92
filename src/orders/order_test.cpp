#include "orders/order.hpp"

#include <gtest/gtest.h>

namespace shopflow::orders {
namespace {

Order OrderIn(OrderStatus status) {
  Order o;
  o.order_id = "o1";
  o.status = status;
  return o;
}

const OrderStatus kAll[] = {OrderStatus::kPending,   OrderStatus::kPaid,      OrderStatus::kShipped,
                            OrderStatus::kDelivered, OrderStatus::kCancelled, OrderStatus::kFailed};

TEST(OrderStateMachine, ByHandAllowsExactlyTheContractTransitions) {
  auto allowed = [](OrderStatus from, OrderStatus to) {
    return (from == OrderStatus::kPaid && to == OrderStatus::kShipped) ||
           (from == OrderStatus::kShipped && to == OrderStatus::kDelivered) ||
           ((from == OrderStatus::kPending || from == OrderStatus::kPaid) &&
            to == OrderStatus::kCancelled);
  };
  for (auto from : kAll) {
    for (auto to : kAll) {
      Order o = OrderIn(from);
      auto r = TransitionByHand(o, to, "why", FromUnixMillis(5));
      EXPECT_EQ(r.ok(), allowed(from, to)) << StatusName(from) << " -> " << StatusName(to);
      if (r.ok()) {
        EXPECT_EQ(o.status, to);
        ASSERT_EQ(o.history.size(), 1u);
        EXPECT_EQ(o.history[0].reason, "why");
      } else {
        EXPECT_EQ(r.error().code, ErrorCode::kConflict);
        EXPECT_EQ(o.status, from);
        EXPECT_TRUE(o.history.empty());
      }
    }
  }
}

TEST(OrderStateMachine, OnlyTheSagaPaysOrFails) {
  Order o = OrderIn(OrderStatus::kPending);
  EXPECT_FALSE(TransitionByHand(o, OrderStatus::kPaid, "", {}).ok());
  EXPECT_FALSE(TransitionByHand(o, OrderStatus::kFailed, "", {}).ok());
  ASSERT_TRUE(TransitionBySaga(o, OrderStatus::kFailed, "card_declined", {}).ok());
  EXPECT_EQ(o.failure_reason, "card_declined");
  EXPECT_FALSE(TransitionBySaga(o, OrderStatus::kPaid, "", {}).ok());
}

TEST(Order, RoundTripsThroughItsDocument) {
  Order o = OrderIn(OrderStatus::kPaid);
  o.customer_id = "c1";
  o.items = {{"p1", "Pen", 3, Money::FromCents(199)}, {"p2", "Ink", 1, Money::FromCents(1000)}};
  o.history = {{OrderStatus::kPending, FromUnixMillis(1), "created"}};
  auto doc = o.ToJson();
  EXPECT_EQ(ToJsonText(doc.at("totalAmount")), "15.97");
  EXPECT_EQ(ToJsonText(doc.at("items").as_array()[0].as_object().at("total")), "5.97");
  auto back = Order::FromJson(doc);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ToJson(), doc);
}

}  // namespace
}  // namespace shopflow::orders
