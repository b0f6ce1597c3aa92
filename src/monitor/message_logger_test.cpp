#include "monitor/message_logger.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "events/event_types.hpp"
#include "monitor/monitor_test_support.hpp"
#include "monitor/stats.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::monitor {
namespace {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;
using testing::TempStore;
using testing::TestEvent;
using ::testing::UnorderedElementsAre;
using testing::WaitUntil;

std::vector<std::string> Field(const std::vector<json::object>& rows, std::string_view field) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(GetString(r, field));
  return out;
}

class MessageLoggerTest : public ::testing::Test {
 protected:
  static RetryPolicy Retry() {
    RetryPolicy r;
    r.max_attempts = 3;
    r.initial_delay = 100ms;
    r.jitter = 0;
    return r;
  }

  Envelope Event(std::string_view type, json::object data = {{"orderId", "o-1"}}) {
    return TestEvent(type, std::move(data), "orders", "corr-1", "", clock_.Now());
  }

  /// Logger options for tests: no automatic pruning.
  static MessageLoggerOptions Options() {
    MessageLoggerOptions o;
    o.prune_interval = std::chrono::hours(24);
    return o;
  }

  FakeClock clock_;
  TempStore store_;
  const Topology topology_ = DefaultTopology(Retry());
};

TEST_F(MessageLoggerTest, RecordsPublishedAndConsumedRowsOfARoutedEvent) {
  InMemoryEventBus bus(topology_, clock_, {.seed = 1});
  ObservedEventBus observed(bus);
  MessageLogger logger(*store_, topology_, clock_, Options());
  observed.AddObserver(&logger);
  for (const char* q :
       {"payments.events.queue", "inventory.events.queue", "notifications.events.queue"}) {
    observed.Subscribe(q, [](const Delivery&) { return HandlerOutcome::Ack(); }, {});
  }
  logger.Start();
  ASSERT_TRUE(observed.Start().ok());

  const Envelope created = Event(events::kOrderCreated, {{"orderId", "o-42"}, {"total", 10}});
  ASSERT_TRUE(observed.Publish(std::span<const Envelope>(&created, 1)).ok());
  ASSERT_TRUE(WaitUntil([&] { return logger.Stats().observed == 4; }));
  logger.Flush();
  bus.Stop();

  const auto rows = store_.Log();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(Field(rows, "status"),
              UnorderedElementsAre("published", "consumed", "consumed", "consumed"));
  EXPECT_THAT(Field(rows, "module"),
              UnorderedElementsAre("orders", "payments", "inventory", "notifications"));
  for (const auto& row : rows) {
    EXPECT_EQ(GetString(row, "messageId"), created.metadata.message_id);
    EXPECT_EQ(GetString(row, "eventType"), "ORDER_CREATED");
    EXPECT_EQ(GetString(row, "exchange"), "ecommerce.events");
    EXPECT_EQ(GetString(row, "routingKey"), "order.created");
    EXPECT_EQ(GetString(row, "orderId"), "o-42");
    EXPECT_EQ(GetString(row, "correlationId"), "corr-1");
    EXPECT_EQ(GetString(row, "createdAt"), FormatRfc3339(clock_.Now()));
    EXPECT_EQ(GetInt(*GetObject(row, "data"), "total"), 10);
    EXPECT_EQ(GetString(*GetObject(row, "metadata"), "source"), "orders");
    if (GetString(row, "status") == "consumed") {
      EXPECT_THAT(GetString(row, "queue"), ::testing::EndsWith(".events.queue"));
      EXPECT_EQ(GetInt(row, "attempt"), 1);
      EXPECT_TRUE(row.contains("durationMs"));
    } else {
      EXPECT_FALSE(row.contains("queue"));
    }
  }
  EXPECT_EQ(logger.Stats().written, 4u);
  EXPECT_EQ(logger.Stats().dropped, 0u);
}

TEST_F(MessageLoggerTest, RecordsFailedAndDeadLetteredOutcomesWithAttemptAndReason) {
  InMemoryEventBus bus(topology_, clock_, {.seed = 1});
  ObservedEventBus observed(bus);
  MessageLogger logger(*store_, topology_, clock_, Options());
  observed.AddObserver(&logger);
  observed.Subscribe("payments.events.queue",
                     [](const Delivery& d) {
                       return d.attempt == 1 ? HandlerOutcome::Retry("gateway timeout")
                                             : HandlerOutcome::Ack();
                     },
                     {});
  observed.Subscribe("inventory.events.queue",
                     [](const Delivery&) { return HandlerOutcome::DeadLetter("no items"); }, {});
  logger.Start();
  ASSERT_TRUE(observed.Start().ok());

  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(observed.Publish(std::span<const Envelope>(&created, 1)).ok());
  ASSERT_TRUE(WaitUntil([&] { return logger.Stats().observed == 3; }));  // published, 2 handled
  ASSERT_TRUE(WaitUntil([&] { return bus.PeekScheduled("payments.events.queue").size() == 1; }));
  clock_.Advance(1s);  // the payments retry is due
  ASSERT_TRUE(WaitUntil([&] { return logger.Stats().observed == 4; }));
  logger.Flush();
  bus.Stop();

  const auto failed = store_.Log({{"status", FieldFilter::Op::kEq, "failed"}});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(GetString(failed[0], "queue"), "payments.events.queue");
  EXPECT_EQ(GetString(failed[0], "module"), "payments");
  EXPECT_EQ(GetInt(failed[0], "attempt"), 1);
  EXPECT_EQ(GetString(failed[0], "reason"), "gateway timeout");

  const auto consumed = store_.Log({{"status", FieldFilter::Op::kEq, "consumed"}});
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(GetInt(consumed[0], "attempt"), 2);

  const auto dead = store_.Log({{"status", FieldFilter::Op::kEq, "dead_lettered"}});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(GetString(dead[0], "module"), "inventory");
  EXPECT_EQ(GetString(dead[0], "reason"), "no items");
}

// The bus reports a Retry on the last attempt as the dead letter it becomes, so the log and
// the stats (and the live feed and metrics, the same way) count it where the message went.
TEST_F(MessageLoggerTest, ARetryAskedOnTheLastAttemptIsRecordedAndCountedAsDeadLettered) {
  InMemoryEventBus bus(topology_, clock_, {.seed = 1});
  ObservedEventBus observed(bus, topology_);
  MessageLogger logger(*store_, topology_, clock_, Options());
  StatsCollector stats(clock_);
  observed.AddObserver(&logger);
  observed.AddObserver(&stats);
  observed.Subscribe("payments.events.queue",
                     [](const Delivery&) { return HandlerOutcome::Retry("gateway down"); }, {});
  logger.Start();
  ASSERT_TRUE(observed.Start().ok());

  const Envelope created = Event(events::kOrderCreated);
  ASSERT_TRUE(observed.Publish(std::span<const Envelope>(&created, 1)).ok());
  for (uint64_t handled = 1; handled < 3; ++handled) {  // Retry().max_attempts deliveries
    ASSERT_TRUE(WaitUntil([&] { return logger.Stats().observed == 1 + handled; }));
    ASSERT_TRUE(WaitUntil([&] { return bus.PeekScheduled("payments.events.queue").size() == 1; }));
    clock_.Advance(1s);  // the retry is due
  }
  ASSERT_TRUE(WaitUntil([&] { return logger.Stats().observed == 4; }));
  logger.Flush();
  bus.Stop();

  const auto rows = store_.Log();
  ASSERT_EQ(rows.size(), 4u);
  std::map<int64_t, std::string> status_by_attempt;
  for (const auto& row : rows) {
    if (GetString(row, "status") == "published") continue;
    status_by_attempt[GetInt(row, "attempt")] = GetString(row, "status");
    EXPECT_EQ(GetString(row, "reason"), "gateway down");
  }
  EXPECT_EQ(status_by_attempt,
            (std::map<int64_t, std::string>{{1, "failed"}, {2, "failed"}, {3, "dead_lettered"}}));
  const EventCounts counted = stats.Totals();
  EXPECT_EQ(counted.failed, 2);
  EXPECT_EQ(counted.dead_lettered, 1);
}

TEST_F(MessageLoggerTest, WritesInBatchesOfBatchSize) {
  MessageLoggerOptions options = Options();
  options.batch_size = 4;
  options.flush_interval = std::chrono::hours(1);
  MessageLogger logger(*store_, topology_, clock_, options);
  std::vector<Envelope> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Event(events::kOrderCreated));
  logger.OnPublished(batch);  // before Start: only buffered
  EXPECT_EQ(logger.Stats().written, 0u);

  logger.Start();  // the buffer is past the batch size: written at once, 4 + 4 + 2
  ASSERT_TRUE(WaitUntil([&] { return logger.Stats().written == 10; }));
  EXPECT_EQ(logger.Stats().batches, 3u);
  EXPECT_EQ(store_.Log().size(), 10u);
}

TEST_F(MessageLoggerTest, WritesWithinTheFlushIntervalBelowTheBatchSize) {
  MessageLoggerOptions options = Options();
  options.flush_interval = 20ms;
  MessageLogger logger(*store_, topology_, clock_, options);
  logger.Start();
  const std::vector<Envelope> batch = {Event(events::kOrderCreated), Event(events::kOrderUpdated)};
  logger.OnPublished(batch);
  ASSERT_TRUE(WaitUntil([&] { return logger.Stats().written == 2; }));  // no Flush asked
  EXPECT_EQ(logger.Stats().batches, 1u);
}

TEST_F(MessageLoggerTest, DropsAndCountsWhenTheBufferIsFullAndStopWritesTheRest) {
  MessageLoggerOptions options = Options();
  options.max_buffered = 3;
  MessageLogger logger(*store_, topology_, clock_, options);
  std::vector<Envelope> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Event(events::kOrderCreated));
  logger.OnPublished(batch);
  EXPECT_EQ(logger.Stats().observed, 3u);
  EXPECT_EQ(logger.Stats().dropped, 2u);

  logger.Stop();
  EXPECT_EQ(logger.Stats().written, 3u);
  logger.OnPublished(batch);  // after Stop: dropped
  EXPECT_EQ(logger.Stats().dropped, 7u);
  EXPECT_EQ(store_.Log().size(), 3u);
}

TEST_F(MessageLoggerTest, AFullBufferHoldsTheReporterBackUntilTheWriterMakesRoom) {
  MessageLoggerOptions options = Options();
  options.max_buffered = 2;
  options.batch_size = 100;  // the writer would otherwise wait for 100 rows or its timer
  options.flush_interval = std::chrono::hours(1);
  options.max_wait_for_space = std::chrono::seconds(30);  // only a failing test waits this long
  MessageLogger logger(*store_, topology_, clock_, options);
  logger.Start();
  std::vector<Envelope> batch;
  for (int i = 0; i < 9; ++i) batch.push_back(Event(events::kOrderCreated));
  logger.OnPublished(batch);  // returns once the last two fit
  logger.Flush();
  EXPECT_EQ(logger.Stats().dropped, 0u);
  EXPECT_EQ(logger.Stats().written, 9u);
  EXPECT_EQ(store_.Log().size(), 9u);
}

TEST_F(MessageLoggerTest, WithoutWaitingAFullBufferDropsAtOnce) {
  MessageLoggerOptions options = Options();
  options.max_buffered = 2;
  options.batch_size = 100;
  options.flush_interval = std::chrono::hours(1);
  options.max_wait_for_space = std::chrono::milliseconds(0);
  MessageLogger logger(*store_, topology_, clock_, options);
  logger.Start();
  std::vector<Envelope> batch;
  for (int i = 0; i < 9; ++i) batch.push_back(Event(events::kOrderCreated));
  logger.OnPublished(batch);
  EXPECT_EQ(logger.Stats().dropped, 7u);
  logger.Flush();
  EXPECT_EQ(logger.Stats().written, 2u);
}

TEST_F(MessageLoggerTest, StopFlushesWhatIsBuffered) {
  MessageLoggerOptions options = Options();
  options.flush_interval = std::chrono::hours(1);
  MessageLogger logger(*store_, topology_, clock_, options);
  logger.Start();
  const std::vector<Envelope> batch = {Event(events::kOrderCreated), Event(events::kOrderUpdated),
                                       Event(events::kOrderConfirmed)};
  logger.OnPublished(batch);
  logger.Stop();
  EXPECT_EQ(logger.Stats().written, 3u);
  EXPECT_EQ(store_.Log().size(), 3u);
}

std::vector<int64_t> Numbers(const std::vector<json::object>& rows) {
  std::vector<int64_t> out;
  for (const auto& r : rows) out.push_back(GetInt(*GetObject(r, "data"), "n", -1));
  return out;
}

std::vector<int64_t> Range(int64_t from, int64_t to) {  // [from, to)
  std::vector<int64_t> out;
  for (int64_t n = from; n < to; ++n) out.push_back(n);
  return out;
}

TEST_F(MessageLoggerTest, TheRingKeepsTheCountAsItWritesByEmptyingTheOldestPartition) {
  MessageLoggerOptions options = Options();
  options.max_count = 8;  // partitions of 2 rows
  options.max_age = std::chrono::seconds(0);
  MessageLogger logger(*store_, topology_, clock_, options);
  std::vector<Envelope> batch;
  for (int i = 0; i < 12; ++i) batch.push_back(Event(events::kOrderCreated, {{"n", i}}));
  logger.OnPublished(batch);
  logger.Flush();

  // No retention pass has run: the write itself emptied the two oldest partitions.
  EXPECT_EQ(logger.Stats().prune_passes, 0u);
  EXPECT_EQ(Numbers(store_.Log()), Range(4, 12));
  EXPECT_EQ(logger.Stats().pruned, 4u);
  EXPECT_EQ(*logger.Prune(), 0) << "within the cap: nothing for a pass to do";

  // One more row starts the next partition, emptying the oldest: 3/4 of the cap is left.
  const Envelope one = Event(events::kOrderCreated, {{"n", 12}});
  logger.OnPublished(std::span<const Envelope>(&one, 1));
  logger.Flush();
  EXPECT_EQ(Numbers(store_.Log()), Range(6, 13));
  EXPECT_EQ(logger.Stats().pruned, 6u);
}

TEST_F(MessageLoggerTest, RetentionPrunesRowsOlderThanTheMaximumAgeInEveryPartition) {
  MessageLoggerOptions options = Options();
  options.max_age = std::chrono::hours(1);
  options.max_count = 8;  // partitions of 2 rows: the old rows span two of them
  MessageLogger logger(*store_, topology_, clock_, options);
  std::vector<Envelope> old_ones = {Event(events::kOrderCreated), Event(events::kOrderCreated),
                                    Event(events::kOrderCreated)};
  logger.OnPublished(old_ones);
  logger.Flush();
  clock_.Advance(std::chrono::minutes(90));
  std::vector<Envelope> new_ones = {Event(events::kOrderConfirmed), Event(events::kOrderConfirmed)};
  logger.OnPublished(new_ones);
  logger.Flush();

  auto pruned = logger.Prune();
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 3);
  EXPECT_THAT(Field(store_.Log(), "eventType"),
              UnorderedElementsAre("ORDER_CONFIRMED", "ORDER_CONFIRMED"));
}

// Count-based retention only, `batch` ids per write and `batches` writes per pass.
MessageLoggerOptions CountRetention(MessageLoggerOptions options, int64_t max_count, size_t batch,
                                    size_t batches) {
  options.max_count = max_count;
  options.max_age = std::chrono::seconds(0);
  options.prune_batch = batch;
  options.prune_max_batches = batches;
  return options;
}

class MessageLoggerCapTest : public MessageLoggerTest {
 protected:
  /// Writes rows n = [from, to) with a logger capped at `max_count` (0: no cap).
  void WriteRows(int64_t max_count, int from, int to) {
    MessageLogger writer(*store_, topology_, clock_, CountRetention(Options(), max_count, 1, 1));
    std::vector<Envelope> batch;
    for (int i = from; i < to; ++i) batch.push_back(Event(events::kOrderCreated, {{"n", i}}));
    writer.OnPublished(batch);
    writer.Flush();
  }
};

TEST_F(MessageLoggerCapTest, OnePruneRemovesABoundedNumberOfRows) {
  WriteRows(0, 0, 8);  // no cap: all in one partition
  MessageLogger logger(*store_, topology_, clock_, CountRetention(Options(), 1, 2, 2));

  bool more = false;
  EXPECT_EQ(*logger.Prune(&more), 4);  // 2 writes of 2
  EXPECT_TRUE(more) << "stopped at its bound: the next pass must come soon";
  more = false;
  EXPECT_EQ(*logger.Prune(&more), 3);
  EXPECT_FALSE(more);
  EXPECT_EQ(Numbers(store_.Log()), Range(7, 8));
}

TEST_F(MessageLoggerCapTest, APassEmptiesWholePartitionsBeyondALowerCapBeyondItsRowBound) {
  WriteRows(40, 0, 40);  // four partitions of 10
  // At most 2 writes of 5 rows per pass, yet 28 rows go: 20 by emptying two partitions.
  MessageLogger logger(*store_, topology_, clock_, CountRetention(Options(), 12, 5, 2));
  bool more = false;
  EXPECT_EQ(*logger.Prune(&more), 28);
  EXPECT_FALSE(more);
  EXPECT_EQ(Numbers(store_.Log()), Range(28, 40));
}

TEST_F(MessageLoggerCapTest, AnEarlierVersionsLogIsTheRingsFirstPartition) {
  // Rows of the one "messages" collection, written without the ring's state.
  for (int i = 0; i < 5; ++i) {
    MessageObservation o;
    o.row_id = "0" + std::to_string(i);
    o.status = "published";
    o.envelope = Event(events::kOrderCreated, {{"n", i}});
    store_.Insert(kMessagesCollection, {{o.row_id, ToMessageRow(o)}});
  }
  WriteRows(8, 5, 9);
  EXPECT_EQ(Numbers(store_.Log()), Range(0, 9)) << "the old rows are read, oldest first";
  MessageLogger logger(*store_, topology_, clock_, CountRetention(Options(), 8, 10, 10));
  EXPECT_EQ(*logger.Prune(), 1);
  EXPECT_EQ(Numbers(store_.Log()), Range(1, 9));
}

TEST_F(MessageLoggerCapTest, TheRunningLoggerComesDownToALowerCapBeyondOnePassPerInterval) {
  WriteRows(0, 0, 60);
  MessageLoggerOptions options = CountRetention(Options(), 10, 5, 1);
  options.prune_interval = std::chrono::hours(1);  // only catch-up passes can run in this test
  options.flush_interval = std::chrono::milliseconds(1);
  MessageLogger logger(*store_, topology_, clock_, options);
  // Started, it runs a first pass at once (5 of the 50 rows too many) and the next interval's
  // is an hour away; a pass that stops at its bound is followed by the next right away, so the
  // log comes down to max_count without waiting for the interval.
  logger.Start();
  ASSERT_TRUE(WaitUntil([&] { return store_.Log().size() == 10u; })) << store_.Log().size();
  logger.Stop();
  EXPECT_EQ(Numbers(store_.Log()), Range(50, 60));
}

TEST_F(MessageLoggerTest, RowIdsSortByObservationTime) {
  MessageLogger logger(*store_, topology_, clock_, Options());
  for (int i = 0; i < 5; ++i) {
    const Envelope e = Event(events::kOrderCreated, {{"n", i}});
    logger.OnPublished(std::span<const Envelope>(&e, 1));
  }
  logger.Flush();
  const auto rows = store_.Log();  // by id
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(GetInt(*GetObject(rows[i], "data"), "n"), static_cast<int64_t>(i));
  }
}

TEST(MessageLogTest, OrderIdComesFromDataOrItsMetadata) {
  EXPECT_EQ(OrderIdOf({{"orderId", "o1"}}), "o1");
  EXPECT_EQ(OrderIdOf({{"metadata", json::object{{"orderId", "o2"}}}}), "o2");
  EXPECT_EQ(OrderIdOf({{"orderId", 5}}), "");
  EXPECT_EQ(OrderIdOf({}), "");
  EXPECT_TRUE(IsMessageStatus("dead_lettered"));
  EXPECT_FALSE(IsMessageStatus("retried"));
}

TEST(MessageLogTest, TheRowsTextIsTheRowsDocument) {
  FakeClock clock;
  MessageObservation handled;
  handled.row_id = "01ROW";
  handled.envelope = TestEvent("NOTIFICATION_EMAIL_SENT",
                               {{"to", "a\"b@example.com"},
                                {"metadata", json::object{{"orderId", "o-9"}}},
                                {"items", json::array{1, 2.5, nullptr}}},
                               "notifications", "corr-9", "cause-9", clock.Now());
  handled.status = std::string(message_status::kFailed);
  handled.exchange = "ecommerce.events";
  handled.routing_key = "notification.email.sent";
  handled.queue = "notifications.events.queue";
  handled.module = "notifications";
  handled.attempt = 2;
  handled.reason = "smtp: timeout";
  handled.duration_ms = 1.25;
  handled.at = clock.Now();
  const auto text = ToMessageRowText(handled, handled.envelope);
  EXPECT_EQ(ParseJson(text)->as_object(), ToMessageRow(handled)) << text;
  EXPECT_EQ(GetString(ToMessageRow(handled), "orderId"), "o-9");

  MessageObservation published;
  published.row_id = "01PUB";
  published.envelope = TestEvent("ORDER_CREATED", {}, "orders", "corr-1", "", clock.Now());
  published.status = std::string(message_status::kPublished);
  published.module = "orders";
  published.at = clock.Now();
  const auto row = ParseJson(ToMessageRowText(published, published.envelope))->as_object();
  EXPECT_EQ(row, ToMessageRow(published));
  EXPECT_FALSE(row.contains("queue"));
  EXPECT_FALSE(row.contains("orderId"));
  EXPECT_EQ(row.at("data"), json::object{});
}

TEST(MessageLogTest, TheRowsKeysAreWhatItsTextHoldsInEveryIndexedField) {
  // The store indexes the rows with these values instead of parsing the text: they must be
  // exactly the text's, for each field the collection indexes.
  FakeClock clock;
  std::vector<MessageObservation> rows(2);
  rows[0].row_id = "01ROW";
  rows[0].envelope =
      TestEvent("NOTIFICATION_EMAIL_SENT", {{"metadata", json::object{{"orderId", "o-9"}}}},
                "notifications", "corr \"9\"", "cause-9", clock.Now());
  rows[0].status = std::string(message_status::kConsumed);
  rows[0].queue = "notifications.events.queue";
  rows[0].at = clock.Now();
  rows[1].row_id = "01PUB";  // no orderId at all
  rows[1].envelope = TestEvent("ORDER_CREATED", {}, "orders", "corr-1", "", clock.Now());
  rows[1].status = std::string(message_status::kPublished);
  rows[1].at = clock.Now() + std::chrono::milliseconds(1500);
  for (const auto& observation : rows) {
    MessageRowKeys keys;
    const auto row = ParseJson(ToMessageRowText(observation, observation.envelope, &keys));
    ASSERT_TRUE(row.ok());
    const auto known = keys.Known();
    std::vector<std::string> fields = MessageLogCollection().indexed_fields;
    for (const auto& field : MessageLogCollection().column_fields) fields.push_back(field);
    ASSERT_EQ(fields.size(), known.size());
    for (const auto& field : fields) {
      const auto k = std::find_if(known.begin(), known.end(),
                                  [&](const KnownField& f) { return f.name == field; });
      ASSERT_NE(k, known.end()) << field;
      const auto* value = row->as_object().if_contains(field);
      if (value == nullptr) {
        EXPECT_FALSE(k->value.has_value()) << field;
      } else {
        ASSERT_TRUE(k->value.has_value()) << field;
        EXPECT_EQ(*k->value, value->as_string()) << field;
      }
    }
  }
}

}  // namespace
}  // namespace shopflow::monitor
