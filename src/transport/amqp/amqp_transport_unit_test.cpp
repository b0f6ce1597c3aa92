// Pure tests of the RabbitMQ transport: no broker involved.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "events/event_types.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/amqp/amqp_event_bus.hpp"
#include "transport/amqp/amqp_url.hpp"
#include "transport/amqp/amqp_wrappers.hpp"
#include "transport/amqp/definitions.hpp"
#include "transport/amqp/wire_message.hpp"

namespace shopflow {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// ---- URL -------------------------------------------------------------------------------------

TEST(ParseAmqpUrlTest, ReadsEveryPart) {
  auto url = ParseAmqpUrl("amqp://admin:admin123@127.0.0.1:5672/ecommerce");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 5672);
  EXPECT_EQ(url->user, "admin");
  EXPECT_EQ(url->password, "admin123");
  EXPECT_EQ(url->vhost, "ecommerce");
}

TEST(ParseAmqpUrlTest, FillsDefaultsAndDecodesEscapes) {
  auto bare = ParseAmqpUrl("amqp://broker");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->host, "broker");
  EXPECT_EQ(bare->port, 5672);
  EXPECT_EQ(bare->user, "guest");
  EXPECT_EQ(bare->password, "guest");
  EXPECT_EQ(bare->vhost, "/");

  auto slash = ParseAmqpUrl("amqp://u:p@h:5673/");
  ASSERT_TRUE(slash.ok());
  EXPECT_EQ(slash->port, 5673);
  EXPECT_EQ(slash->vhost, "/");

  auto escaped = ParseAmqpUrl("amqp://us%40er:p%3Ass@h/%2Fshop");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->user, "us@er");
  EXPECT_EQ(escaped->password, "p:ss");
  EXPECT_EQ(escaped->vhost, "/shop");
}

TEST(ParseAmqpUrlTest, RejectsBadUrlsWithAValidationError) {
  for (const char* bad : {"", "http://host/", "amqp://host:99999/", "amqp://host:abc/",
                          "amqp://host/a/b", "amqps://host/", "localhost:5672"}) {
    auto url = ParseAmqpUrl(bad);
    ASSERT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.error().code, ErrorCode::kValidationFailed) << bad;
    EXPECT_THAT(url.error().message, HasSubstr("invalid RabbitMQ URL")) << bad;
  }
  EXPECT_THAT(ParseAmqpUrl("amqps://h/").error().message, HasSubstr("TLS"));
}

TEST(ParseAmqpUrlTest, RedactedHidesThePassword) {
  auto url = ParseAmqpUrl("amqp://admin:s3cret@10.0.0.1:5672/%2F");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->Redacted(), "amqp://admin:***@10.0.0.1:5672/%2F");
  EXPECT_THAT(url->Redacted(), ::testing::Not(HasSubstr("s3cret")));
}

// ---- Definitions -----------------------------------------------------------------------------

RetryPolicy SmallRetry() {
  RetryPolicy p;
  p.max_attempts = 3;
  p.initial_delay = 100ms;
  return p;
}

const json::object* FindByName(const json::array& items, std::string_view name) {
  for (const auto& item : items) {
    if (item.as_object().at("name").as_string() == name) return &item.as_object();
  }
  return nullptr;
}

TEST(TopologyDefinitionsTest, DescribesTheWholeTopology) {
  const Topology topology = DefaultTopology(SmallRetry());
  // Round-trips through text, as a definitions file would.
  const json::value doc =
      boost::json::parse(boost::json::serialize(TopologyDefinitions(topology, "shop")));
  const json::object& root = doc.as_object();
  ASSERT_EQ(root.at("vhosts").as_array().size(), 1u);
  EXPECT_EQ(root.at("vhosts").as_array()[0].as_object().at("name").as_string(), "shop");

  const json::array& exchanges = root.at("exchanges").as_array();
  ASSERT_EQ(exchanges.size(), 4u);
  const std::pair<const char*, const char*> expected_exchanges[] = {
      {"ecommerce.events", "topic"},
      {"ecommerce.notifications", "fanout"},
      {"ecommerce.deadletter", "direct"},
      {"ecommerce.retry", "direct"}};
  for (const auto& [name, type] : expected_exchanges) {
    const json::object* e = FindByName(exchanges, name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->at("type").as_string(), type);
    EXPECT_EQ(e->at("vhost").as_string(), "shop");
    EXPECT_TRUE(e->at("durable").as_bool());
    EXPECT_FALSE(e->at("auto_delete").as_bool());
  }

  const json::array& queues = root.at("queues").as_array();
  EXPECT_EQ(queues.size(), topology.queues.size());
  // 4 module queues + 4 DLQs + 4 x (max_attempts - 1) tiers.
  EXPECT_EQ(queues.size(), 4u + 4u + 8u);
  const json::object* orders = FindByName(queues, "orders.events.queue");
  ASSERT_NE(orders, nullptr);
  EXPECT_TRUE(orders->at("arguments").as_object().empty());
  const json::object* dlq = FindByName(queues, "dlq.payments.process.failed");
  ASSERT_NE(dlq, nullptr);
  EXPECT_EQ(dlq->at("arguments").as_object().at("x-message-ttl").as_int64(), 86'400'000);
  EXPECT_TRUE(dlq->at("durable").as_bool());
  const json::object* tier2 = FindByName(queues, "retry.inventory.queue.2.200ms");
  ASSERT_NE(tier2, nullptr);
  const json::object& tier_args = tier2->at("arguments").as_object();
  EXPECT_EQ(tier_args.at("x-message-ttl").as_int64(), 200);
  EXPECT_EQ(tier_args.at("x-dead-letter-exchange").as_string(), "");
  EXPECT_EQ(tier_args.at("x-dead-letter-routing-key").as_string(), "inventory.events.queue");

  const json::array& bindings = root.at("bindings").as_array();
  EXPECT_EQ(bindings.size(), topology.bindings.size());
  std::set<std::string> seen;
  for (const auto& b : bindings) {
    const json::object& o = b.as_object();
    EXPECT_EQ(o.at("vhost").as_string(), "shop");
    seen.insert(std::string(o.at("source").as_string()) + " -> " +
                std::string(o.at("destination").as_string()) + " [" +
                std::string(o.at("destination_type").as_string()) + "] " +
                std::string(o.at("routing_key").as_string()));
  }
  EXPECT_THAT(seen, Contains("ecommerce.events -> ecommerce.notifications [exchange] "
                             "order.created"));
  EXPECT_THAT(seen, Contains("ecommerce.notifications -> notifications.events.queue [queue] "));
  EXPECT_THAT(seen, Contains("ecommerce.events -> payments.events.queue [queue] order.created"));
  EXPECT_THAT(seen, Contains("ecommerce.deadletter -> dlq.orders.created.failed [queue] "
                             "orders.events.queue"));
  EXPECT_THAT(seen, Contains("ecommerce.retry -> retry.orders.queue.1.100ms [queue] "
                             "retry.orders.queue.1.100ms"));
}

// ---- Header and property mapping (rabbitmq-c types) ------------------------------------------

TEST(HeaderMappingTest, HeadersRoundTripThroughAnAmqpTable) {
  const amqp::Headers headers = {{"x-attempts", "3"}, {"x-failure-reason", "gateway: 503"}};
  const amqp::HeadersTable table(headers);
  EXPECT_EQ(table.table().num_entries, 2);
  EXPECT_EQ(amqp::HeadersFromTable(table.table()), headers);
}

TEST(HeaderMappingTest, NonStringValuesAreRenderedOrSkipped) {
  amqp_table_entry_t entries[5] = {};
  entries[0].key = amqp_cstring_bytes("count");
  entries[0].value.kind = AMQP_FIELD_KIND_I32;
  entries[0].value.value.i32 = -7;
  entries[1].key = amqp_cstring_bytes("flag");
  entries[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
  entries[1].value.value.boolean = 1;
  entries[2].key = amqp_cstring_bytes("big");
  entries[2].value.kind = AMQP_FIELD_KIND_I64;
  entries[2].value.value.i64 = 86'400'000;
  entries[3].key = amqp_cstring_bytes("x-death");
  entries[3].value.kind = AMQP_FIELD_KIND_ARRAY;
  entries[3].value.value.array = {0, nullptr};
  entries[4].key = amqp_cstring_bytes("raw");
  entries[4].value.kind = AMQP_FIELD_KIND_BYTES;
  entries[4].value.value.bytes = amqp_cstring_bytes("abc");
  const amqp_table_t table{5, entries};
  EXPECT_THAT(amqp::HeadersFromTable(table),
              ElementsAre(Pair("count", "-7"), Pair("flag", "true"), Pair("big", "86400000"),
                          Pair("raw", "abc")));
}

TEST(HeaderMappingTest, PropertiesRoundTrip) {
  amqp::MessageProperties in;
  in.content_type = "application/json";
  in.message_id = "m-1";
  in.correlation_id = "c-1";
  in.type = "ORDER_CREATED";
  in.app_id = "orders";
  in.timestamp = 1'795'000'000;
  in.expiration = "80";
  in.headers = {{"x-attempts", "2"}};
  const amqp::PropertiesView view(in);
  EXPECT_EQ(view.get().delivery_mode, AMQP_DELIVERY_PERSISTENT);
  const amqp::MessageProperties out = amqp::PropertiesFromAmqp(view.get());
  EXPECT_EQ(out.content_type, in.content_type);
  EXPECT_EQ(out.message_id, in.message_id);
  EXPECT_EQ(out.correlation_id, in.correlation_id);
  EXPECT_EQ(out.type, in.type);
  EXPECT_EQ(out.app_id, in.app_id);
  EXPECT_EQ(out.timestamp, in.timestamp);
  EXPECT_EQ(out.expiration, in.expiration);
  EXPECT_TRUE(out.persistent);
  EXPECT_EQ(out.headers, in.headers);
}

// ---- Wire policy -----------------------------------------------------------------------------

Envelope OrderCreated() {
  Envelope e = MakeEvent(std::string(events::kOrderCreated), json::object{{"orderId", "o-1"}},
                         "orders", "corr-1", "", FromUnixMillis(1'795'000'000'123));
  e.metadata.message_id = "msg-1";
  return e;
}

TEST(WireMessageTest, EventPropertiesMirrorTheEnvelope) {
  const amqp::OutgoingMessage m =
      amqp::EventMessage(OrderCreated(), "ecommerce.events", "order.created");
  EXPECT_EQ(m.exchange, "ecommerce.events");
  EXPECT_EQ(m.routing_key, "order.created");
  EXPECT_EQ(m.properties.content_type, "application/json");
  EXPECT_EQ(m.properties.message_id, "msg-1");
  EXPECT_EQ(m.properties.correlation_id, "corr-1");
  EXPECT_EQ(m.properties.type, "ORDER_CREATED");
  EXPECT_EQ(m.properties.app_id, "orders");
  EXPECT_EQ(m.properties.timestamp, 1'795'000'000u);
  EXPECT_TRUE(m.properties.persistent);
  EXPECT_FALSE(m.must_route);
  auto parsed = ParseEnvelope(m.body);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->metadata.message_id, "msg-1");
}

amqp::InboundMessage Inbound(amqp::Headers headers, std::string routing_key = "order.created") {
  amqp::InboundMessage m;
  m.routing_key = std::move(routing_key);
  m.body = SerializeEnvelope(OrderCreated());
  m.properties.headers = std::move(headers);
  return m;
}

TEST(WireMessageTest, FirstDeliveryIsAttemptOne) {
  auto d = amqp::ToDelivery(Inbound({}), "payments.events.queue", false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attempt, 1);
  EXPECT_EQ(d->routing_key, "order.created");
  EXPECT_EQ(d->queue, "payments.events.queue");
  EXPECT_EQ(d->envelope.metadata.message_id, "msg-1");
  EXPECT_EQ(d->envelope.metadata.retry_count, 0);
  EXPECT_TRUE(d->headers.empty());
}

TEST(WireMessageTest, RetriedDeliveryReadsAttemptAndOriginalKeyAndDropsBrokerHeaders) {
  auto d = amqp::ToDelivery(Inbound({{"x-attempts", "3"},
                                     {"x-original-routing-key", "order.created"},
                                     {"x-first-death-queue", "retry.payments.queue.2.200ms"},
                                     {"x-failure-reason", "boom"}},
                                    "payments.events.queue"),
                            "payments.events.queue", false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attempt, 3);
  EXPECT_EQ(d->routing_key, "order.created");
  EXPECT_EQ(d->envelope.metadata.retry_count, 2);
  EXPECT_EQ(d->Header("x-failure-reason"), "boom");
  EXPECT_EQ(d->Header("x-first-death-queue"), "");
}

TEST(WireMessageTest, DeadLetterQueueDeliveryCountsItsOwnAttempts) {
  auto d = amqp::ToDelivery(Inbound({{"x-attempts", "5"}}, "payments.events.queue"),
                            "dlq.payments.process.failed", true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attempt, 1);
  EXPECT_EQ(d->Header("x-attempts"), "5");
  auto again = amqp::ToDelivery(Inbound({{"x-attempts", "5"}, {"x-dlq-attempts", "2"}}),
                                "dlq.payments.process.failed", true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->attempt, 2);
}

TEST(WireMessageTest, MalformedBodyIsAnError) {
  amqp::InboundMessage m = Inbound({});
  m.body = "not json";
  EXPECT_FALSE(amqp::ToDelivery(m, "orders.events.queue", false).ok());
}

TEST(WireMessageTest, CountHeaderFallsBackToOne) {
  EXPECT_EQ(amqp::CountHeader({}, "x-attempts"), 1);
  EXPECT_EQ(amqp::CountHeader({{"x-attempts", "4"}}, "x-attempts"), 4);
  EXPECT_EQ(amqp::CountHeader({{"x-attempts", "0"}}, "x-attempts"), 1);
  EXPECT_EQ(amqp::CountHeader({{"x-attempts", "4x"}}, "x-attempts"), 1);
}

TEST(WireMessageTest, RetryAndDeadLetterHeaders) {
  const TimePoint t1 = FromUnixMillis(1'795'000'000'000);
  const TimePoint t2 = t1 + 250ms;
  const amqp::Failure first{"payments.events.queue", "order.created", "timeout", 1, t1};
  const amqp::Headers retry = amqp::RetryHeaders({{"x-death", "?"}}, first);
  EXPECT_EQ(*amqp::FindHeader(retry, "x-attempts"), "2");
  EXPECT_EQ(*amqp::FindHeader(retry, "x-failure-reason"), "timeout");
  EXPECT_EQ(*amqp::FindHeader(retry, "x-original-queue"), "payments.events.queue");
  EXPECT_EQ(*amqp::FindHeader(retry, "x-original-routing-key"), "order.created");
  EXPECT_EQ(*amqp::FindHeader(retry, "x-first-failure"), FormatRfc3339(t1));
  EXPECT_EQ(amqp::FindHeader(retry, "x-death"), nullptr);

  const amqp::Failure last{"payments.events.queue", "order.created", "still down", 2, t2};
  const amqp::Headers dead = amqp::DeadLetterHeaders(retry, last);
  EXPECT_EQ(*amqp::FindHeader(dead, dead_letter_headers::kAttempts), "2");
  EXPECT_EQ(*amqp::FindHeader(dead, dead_letter_headers::kReason), "still down");
  EXPECT_EQ(*amqp::FindHeader(dead, dead_letter_headers::kFirstFailure), FormatRfc3339(t1));
  EXPECT_EQ(*amqp::FindHeader(dead, dead_letter_headers::kLastFailure), FormatRfc3339(t2));
  EXPECT_EQ(*amqp::FindHeader(dead, dead_letter_headers::kOriginalQueue), "payments.events.queue");
}

TEST(WireMessageTest, SendToQueueHeadersStartAFreshLife) {
  const amqp::Headers dlq_headers = {{"x-attempts", "5"},
                                     {"x-first-failure", "2026-01-01T00:00:00.000Z"},
                                     {"x-failure-reason", "boom"}};
  const amqp::Headers redrive = amqp::SendToQueueHeaders(dlq_headers, OrderCreated(), false);
  EXPECT_EQ(amqp::FindHeader(redrive, "x-attempts"), nullptr);
  EXPECT_EQ(amqp::FindHeader(redrive, "x-first-failure"), nullptr);
  EXPECT_EQ(*amqp::FindHeader(redrive, "x-failure-reason"), "boom");
  EXPECT_EQ(*amqp::FindHeader(redrive, "x-original-routing-key"), "order.created");
  const amqp::Headers to_dlq = amqp::SendToQueueHeaders(dlq_headers, OrderCreated(), true);
  EXPECT_EQ(*amqp::FindHeader(to_dlq, "x-attempts"), "5");
}

TEST(WireMessageTest, RetryTiersAndExpiration) {
  const Topology topology = DefaultTopology(SmallRetry());
  const ModuleQueues* payments = topology.FindModule("payments");
  ASSERT_NE(payments, nullptr);
  EXPECT_EQ(*amqp::RetryTierFor(*payments, 1), "retry.payments.queue.1.100ms");
  EXPECT_EQ(*amqp::RetryTierFor(*payments, 2), "retry.payments.queue.2.200ms");
  EXPECT_EQ(amqp::RetryTierFor(*payments, 3), nullptr);
  EXPECT_EQ(amqp::RetryTierFor(*payments, 0), nullptr);

  EXPECT_EQ(amqp::RetryExpiration(1000ms, 0.2, 0.0), "1000");
  EXPECT_EQ(amqp::RetryExpiration(1000ms, 0.2, 0.5), "900");
  EXPECT_EQ(amqp::RetryExpiration(1000ms, 0.2, 0.999999), "800");
  EXPECT_EQ(amqp::RetryExpiration(1000ms, 0.0, 0.7), "1000");
}

TEST(WireMessageTest, QueueArgumentsFollowTheSpec) {
  const Topology topology = DefaultTopology(SmallRetry());
  EXPECT_TRUE(amqp::QueueArguments(*topology.FindQueue("orders.events.queue")).empty());
  const auto tier = amqp::QueueArguments(*topology.FindQueue("retry.orders.queue.1.100ms"));
  ASSERT_EQ(tier.size(), 3u);
  EXPECT_EQ(tier[0].name, "x-message-ttl");
  EXPECT_EQ(std::get<int64_t>(tier[0].value), 100);
  EXPECT_EQ(std::get<std::string>(tier[1].value), "");
  EXPECT_EQ(std::get<std::string>(tier[2].value), "orders.events.queue");
}

// ---- The bus without a broker ----------------------------------------------------------------

AmqpUrl Unreachable() {
  AmqpUrl url;
  url.host = "127.0.0.1";
  url.port = 1;  // nothing listens there: connection refused at once
  return url;
}

TEST(AmqpEventBusNoBrokerTest, SubscribeRejectsProgrammingErrors) {
  testing::FakeClock clock;
  AmqpEventBus bus(Unreachable(), DefaultTopology(), clock);
  const auto ok = [](const Delivery&) { return HandlerOutcome::Ack(); };
  EXPECT_THROW(bus.Subscribe("nope.queue", ok, {}), std::invalid_argument);
  EXPECT_THROW(bus.Subscribe("orders.events.queue", EventHandler{}, {}), std::invalid_argument);
  EXPECT_THROW(bus.Subscribe("orders.events.queue", ok, {.concurrency = 0}), std::invalid_argument);
  EXPECT_NO_THROW(bus.Subscribe("orders.events.queue", ok, {}));
}

TEST(AmqpEventBusNoBrokerTest, ErrorsAreValues) {
  testing::FakeClock clock;
  AmqpEventBus bus(Unreachable(), DefaultTopology(), clock, {.connect_timeout = 2000ms});
  EXPECT_FALSE(bus.Status().connected);
  EXPECT_EQ(bus.Status().transport, "amqp");
  EXPECT_EQ(bus.Status().detail, "not started");

  Envelope unknown = OrderCreated();
  unknown.event_type = "NOPE";
  auto invalid = bus.Publish(std::span<const Envelope>(&unknown, 1));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kValidationFailed);

  const Envelope event = OrderCreated();
  auto not_started = bus.Publish(std::span<const Envelope>(&event, 1));
  ASSERT_FALSE(not_started.ok());
  EXPECT_EQ(not_started.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(bus.SendToQueue("nope", event, {}).error().code, ErrorCode::kValidationFailed);

  const auto begin = std::chrono::steady_clock::now();
  auto started = bus.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(started.error().message, HasSubstr("127.0.0.1:1"));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 2s);

  bus.Stop();
  bus.Stop();
  EXPECT_EQ(bus.Start().error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(bus.Status().detail, "stopped");
}

}  // namespace
}  // namespace shopflow
