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

// GET /api/orders/:id answers the stored text (OrderService::GetText) instead of
// FromJson(...).ToJson(): that is only right if the round trip is the identity, byte for byte.
TEST(Order, StoredTextIsWhatTheOrderSerializesTo) {
  for (OrderStatus status : kAll) {
    Order o = OrderIn(status);
    o.customer_id = "c\"1\u00e9";
    o.items = {{"p1", "Pen", 3, Money::FromCents(199)}, {"p2", "Ink", 1, Money::FromCents(1000)}};
    o.payment_method = "pix";
    o.payment_details = json::object{{"cardLast4", "4242"}, {"cardBrand", "visa"}};
    o.failure_reason = status == OrderStatus::kFailed ? "insufficient_stock" : "";
    o.created_at = FromUnixMillis(1795960987123);
    o.updated_at = FromUnixMillis(1795960988456);
    o.metadata =
        json::object{{"source", "api"}, {"correlationId", "k"}, {"note", json::array{1, "x"}}};
    o.history = {{OrderStatus::kPending, o.created_at, "order created"},
                 {status, o.updated_at, "moved"}};
    o.stock_state = "reserved";
    o.payment_state = "succeeded";
    o.payment_id = "pay-1";
    const std::string stored = ToJsonText(o.ToJson());
    auto parsed = ParseJson(stored);
    ASSERT_TRUE(parsed.ok());
    auto back = Order::FromJson(parsed->as_object());
    ASSERT_TRUE(back) << stored;
    EXPECT_EQ(ToJsonText(back->ToJson()), stored);
  }
}

}  // namespace
}  // namespace shopflow::orders
