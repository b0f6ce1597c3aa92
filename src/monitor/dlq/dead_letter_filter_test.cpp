#include "monitor/dlq/dead_letter_filter.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "events/envelope.hpp"
#include "monitor/dlq/dead_letter_record.hpp"

namespace shopflow::monitor {
namespace {

using ::testing::UnorderedElementsAre;

std::vector<std::string> Fields(const Error& error) {
  std::vector<std::string> fields;
  for (const auto& d : error.details) fields.push_back(d.field);
  return fields;
}

TEST(CauseOfTest, ReplacesWhatVariesPerMessage) {
  EXPECT_EQ(CauseOf("validation_failed: order 01JD5QW3Z8K4N7R2T6V9X1B3C5 not found"),
            "validation_failed: order <id> not found");
  EXPECT_EQ(CauseOf("payment gateway timeout for order ord-00000001"),
            "payment gateway timeout for order <id>");
  EXPECT_EQ(CauseOf("stock 12345 below 20000 for 550e8400-e29b-41d4-a716-446655440000"),
            "stock <n> below <n> for <id>");
  // Short numbers and words are part of the cause.
  EXPECT_EQ(CauseOf("HTTP 503 from v2 api"), "HTTP 503 from v2 api");
  EXPECT_EQ(CauseOf("unsupported version 2 of ORDER_CREATED"),
            "unsupported version 2 of ORDER_CREATED");
  EXPECT_EQ(CauseOf(std::string(500, 'x') + " tail").size(), 200u);
}

TEST(DeadLetterRecordTest, RoundTripsAndBuildsFromADelivery) {
  Topology topology = DefaultTopology();
  Delivery d;
  d.envelope = MakeEvent("ORDER_CREATED", json::object{{"orderId", "o1"}}, "orders", "corr-1", "",
                         FromUnixMillis(1'795'000'000'000));
  d.queue = "dlq.payments.process.failed";
  d.routing_key = "order.created";
  d.headers = {{"x-failure-reason", "boom"},
               {"x-attempts", "4"},
               {"x-first-failure", "2026-11-29T14:03:07+02:00"},
               {"x-last-failure", "2026-11-29T12:04:00.5Z"}};
  DeadLetterRecord r = RecordFromDelivery(d, topology, FromUnixMillis(1'795'000'000'000));
  EXPECT_EQ(r.original_queue, "payments.events.queue");  // from the topology
  EXPECT_EQ(r.routing_key, "order.created");
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(r.first_failure, "2026-11-29T12:03:07.000Z");  // normalized to UTC
  EXPECT_EQ(r.last_failure, "2026-11-29T12:04:00.500Z");

  r.record_id = NewId();
  auto back = DeadLetterRecord::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), r.ToJson());
  json::object doc = r.ToJson();
  doc["status"] = "zombie";
  EXPECT_FALSE(DeadLetterRecord::FromJson(doc).ok());

  const json::object api = r.ToApiJson();
  EXPECT_EQ(GetString(api, "correlationId"), "corr-1");
  EXPECT_EQ(GetString(*GetObject(api, "data"), "orderId"), "o1");
}

TEST(DeadLetterRecordTest, MissingHeadersFallBackToWhatIsKnown) {
  Delivery d;
  d.envelope = MakeEvent("ORDER_CREATED", {}, "orders", "", "", FromUnixMillis(0));
  d.queue = "dlq.inventory.reserve.failed";
  d.routing_key = "order.created";
  const TimePoint now = FromUnixMillis(1'795'000'000'000);
  DeadLetterRecord r = RecordFromDelivery(d, DefaultTopology(), now);
  EXPECT_EQ(r.original_queue, "inventory.events.queue");
  EXPECT_EQ(r.reason, "unknown");
  EXPECT_EQ(r.attempts, 0);
  EXPECT_EQ(r.first_failure, FormatRfc3339(now));
  EXPECT_EQ(r.last_failure, FormatRfc3339(now));
}

TEST(ResolveDeadLetterQueueTest, AcceptsTheQueueItsModuleQueueOrItsModule) {
  const Topology topology = DefaultTopology();
  EXPECT_EQ(ResolveDeadLetterQueue(topology, "dlq.orders.created.failed"),
            "dlq.orders.created.failed");
  EXPECT_EQ(ResolveDeadLetterQueue(topology, "orders.events.queue"), "dlq.orders.created.failed");
  EXPECT_EQ(ResolveDeadLetterQueue(topology, "notifications"), "dlq.notifications.send.failed");
  EXPECT_EQ(ResolveDeadLetterQueue(topology, "retry"), std::nullopt);
}

TEST(ParseRedriveAllTest, DefaultsAndFullBody) {
  const Topology topology = DefaultTopology();
  DlqOptions options;
  auto empty = ParseRedriveAll(json::object{}, topology, options);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->dry_run);
  EXPECT_EQ(empty->limit, 100);
  EXPECT_EQ(empty->filter.status, DeadLetterStatus::kDead);

  auto full = ParseRedriveAll(json::object{{"queue", "payments"},
                                           {"eventType", "ORDER_CREATED"},
                                           {"reason", "timeout"},
                                           {"since", "2026-11-29T10:00:00Z"},
                                           {"until", "2026-11-29T11:00:00Z"},
                                           {"dryRun", true},
                                           {"limit", 1000}},
                              topology, options);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->filter.queue, "dlq.payments.process.failed");
  EXPECT_EQ(full->filter.event_type, "ORDER_CREATED");
  EXPECT_TRUE(full->dry_run);
  EXPECT_EQ(full->limit, 1000);
  EXPECT_EQ(full->filter.StoreFilters().size(), 5u);  // status, queue, eventType, since, until
  EXPECT_TRUE(full->filter.MatchesReason("Gateway TIMEOUT"));
  EXPECT_FALSE(full->filter.MatchesReason("declined"));
}

TEST(ParseRedriveAllTest, NamesEveryProblem) {
  auto bad = ParseRedriveAll(json::object{{"limit", 1001},
                                          {"dryRun", 1},
                                          {"until", "tomorrow"},
                                          {"queue", "nowhere"},
                                          {"extra", true}},
                             DefaultTopology(), DlqOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kValidationFailed);
  EXPECT_THAT(Fields(bad.error()),
              UnorderedElementsAre("limit", "dryRun", "until", "queue", "extra"));
}

TEST(FilterFromQueryTest, DefaultsToDeadAndAcceptsAll) {
  ApiRequest request;
  auto filter = FilterFromQuery(request, DefaultTopology());
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->status, DeadLetterStatus::kDead);
  request.query = {{"status", "all"}, {"queue", ""}};
  filter = FilterFromQuery(request, DefaultTopology());
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->status, std::nullopt);
  EXPECT_EQ(filter->queue, std::nullopt);  // empty means absent
}

}  // namespace
}  // namespace shopflow::monitor
