#include "events/envelope.hpp"

#include <gtest/gtest.h>

#include "events/event_types.hpp"

namespace shopflow {
namespace {

TEST(Envelope, RoundTripsThroughJson) {
  Envelope e = MakeEvent(std::string(events::kOrderCreated), json::object{{"orderId", "o1"}},
                         "orders", "corr-1", "cause-1", FromUnixMillis(1795960987123));
  e.metadata.retry_count = 2;
  auto parsed = ParseEnvelope(SerializeEnvelope(e));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->event_type, "ORDER_CREATED");
  EXPECT_EQ(GetString(parsed->data, "orderId"), "o1");
  EXPECT_EQ(parsed->metadata.message_id, e.metadata.message_id);
  EXPECT_EQ(parsed->metadata.source, "orders");
  EXPECT_EQ(parsed->metadata.correlation_id, "corr-1");
  EXPECT_EQ(parsed->metadata.causation_id, "cause-1");
  EXPECT_EQ(parsed->metadata.version, "1");
  EXPECT_EQ(parsed->metadata.retry_count, 2);
  EXPECT_EQ(ToUnixMillis(parsed->metadata.timestamp), 1795960987123);
}

TEST(Envelope, WireShapeHasTheContractFieldNames) {
  Envelope e = MakeEvent("ORDER_CREATED", {}, "orders", "c", "", FromUnixMillis(0));
  auto obj = EnvelopeToJson(e);
  ASSERT_TRUE(obj.contains("eventType"));
  ASSERT_TRUE(obj.contains("data"));
  const auto& md = obj.at("metadata").as_object();
  for (const char* key :
       {"messageId", "source", "correlationId", "timestamp", "version", "retryCount"}) {
    EXPECT_TRUE(md.contains(key)) << key;
  }
  EXPECT_FALSE(md.contains("causationId"));  // omitted when there is no cause
}

TEST(Envelope, SerializedTextIsTheCompactJsonOfItsObject) {
  // Written member by member, the text must say what EnvelopeToJson's object says, in the
  // compact form ToJsonText gives it: escapes, nesting, numbers, with and without a cause.
  json::object data{{"orderId", "o\"1\\\n\u00e9"},
                    {"items", json::array{json::object{{"qty", 2}, {"price", 19.99}}}},
                    {"note", nullptr},
                    {"flag", true},
                    {"big", uint64_t{18446744073709551615ull}}};
  for (const std::string cause : {"", "cause-1"}) {
    Envelope e = MakeEvent(std::string(events::kOrderCreated), data, "orders", "corr\t1", cause,
                           FromUnixMillis(1795960987123));
    e.metadata.retry_count = 3;
    const std::string text = SerializeEnvelope(e);
    const json::object expected = EnvelopeToJson(e);
    auto parsed = ParseJson(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(*parsed, json::value(expected)) << text;
    // Compact and in the writer's member order: eventType, metadata, data.
    json::object ordered{{"eventType", expected.at("eventType")},
                         {"metadata", expected.at("metadata")},
                         {"data", expected.at("data")}};
    EXPECT_EQ(text, ToJsonText(ordered));
  }
}

TEST(Envelope, AcceptsUnknownFieldsRejectsMissingOnes) {
  EXPECT_TRUE(
      ParseEnvelope(R"({"eventType":"X","data":{},"metadata":{"messageId":"m"},"extra":1})"));
  EXPECT_EQ(ParseEnvelope("{").error().code, ErrorCode::kMalformedJson);
  EXPECT_EQ(ParseEnvelope(R"({"data":{},"metadata":{"messageId":"m"}})").error().code,
            ErrorCode::kValidationFailed);
  EXPECT_FALSE(ParseEnvelope(R"({"eventType":"X","data":{}})"));
  EXPECT_FALSE(ParseEnvelope(R"({"eventType":"X","data":[],"metadata":{"messageId":"m"}})"));
}

TEST(EventTable, MapsTypesToRoutingKeys) {
  EXPECT_EQ(AllEvents().size(), 20u);
  EXPECT_EQ(RoutingKeyFor("ORDER_CREATED"), "order.created");
  EXPECT_EQ(RoutingKeyFor("LOW_STOCK_ALERT"), "inventory.low_stock");
  EXPECT_EQ(RoutingKeyFor("NOTIFICATION_EMAIL_SENT"), "notification.email.sent");
  EXPECT_FALSE(RoutingKeyFor("NOPE"));
  for (const auto& e : AllEvents()) {
    EXPECT_EQ(FindEventByRoutingKey(e.routing_key), &e);
  }
}

}  // namespace
}  // namespace shopflow
