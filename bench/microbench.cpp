// shopflow-microbench: Google Benchmark micro-benchmarks of the hot paths (issue 7): the event
// envelope's JSON codec, JSON string writing, the message log's row text, topic matching and
// routing, SQLite store writes, ids and money.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "events/envelope.hpp"
#include "events/topology.hpp"
#include "monitor/message_log.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow {
namespace {

/// An ORDER_CREATED-sized event: one order with two lines, as the saga publishes it.
Envelope SampleEvent() {
  json::array items;
  for (int i = 0; i < 2; ++i) {
    items.push_back(json::object{{"productId", NewId()},
                                 {"name", "Bench item"},
                                 {"quantity", 2},
                                 {"price", 25.5},
                                 {"total", 51}});
  }
  json::object data{{"orderId", NewId()},
                    {"customerId", "dana@example.com"},
                    {"status", "pending"},
                    {"items", std::move(items)},
                    {"totalAmount", 102},
                    {"paymentMethod", "credit_card"},
                    {"paymentDetails", json::object{{"cardNumber", "4111111111111111"}}},
                    {"createdAt", "2026-11-29T14:03:07.123Z"},
                    {"updatedAt", "2026-11-29T14:03:07.123Z"}};
  return MakeEvent("ORDER_CREATED", std::move(data), "orders", NewId(), "",
                   SystemClock::Instance().Now());
}

void BM_EnvelopeSerialize(benchmark::State& state) {
  const Envelope event = SampleEvent();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = SerializeEnvelope(event);
    bytes += body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EnvelopeSerialize);

void BM_EnvelopeParse(benchmark::State& state) {
  const std::string body = SerializeEnvelope(SampleEvent());
  for (auto _ : state) {
    auto parsed = ParseEnvelope(body);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_EnvelopeParse);

// A message-log row for a delivery of the sample event, two ways: the row's text written from
// the event in place (what the logger does), and the way before it (a copy of the event, the
// row object built around it, that object serialized).
monitor::MessageFacts SampleFacts() {
  monitor::MessageFacts f;
  f.row_id = NewId();
  f.status = "consumed";
  f.exchange = "ecommerce.events";
  f.routing_key = "order.created";
  f.queue = "payments.events.queue";
  f.module = "payments";
  f.attempt = 1;
  f.duration_ms = 0.42;
  f.at = SystemClock::Instance().Now();
  return f;
}

void BM_AppendJsonString(benchmark::State& state) {
  // Strings as a log row or an event holds them: ids, types, timestamps, names.
  const std::vector<std::string> strings = {NewId(),
                                            "INVENTORY_CONFIRMED",
                                            "2026-11-29T14:03:07.123Z",
                                            "ecommerce.events",
                                            "inventory.confirmed",
                                            "Wireless keyboard, compact layout",
                                            "correlationId"};
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const auto& s : strings) AppendJsonString(out, s);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_AppendJsonString);

void BM_MessageRowText(benchmark::State& state) {
  const Envelope event = SampleEvent();
  const monitor::MessageFacts facts = SampleFacts();
  for (auto _ : state) {
    std::string text = monitor::ToMessageRowText(facts, event);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_MessageRowText);

void BM_MessageRowByObject(benchmark::State& state) {
  const Envelope event = SampleEvent();
  const monitor::MessageFacts facts = SampleFacts();
  for (auto _ : state) {
    monitor::MessageObservation o;
    static_cast<monitor::MessageFacts&>(o) = facts;
    o.envelope = event;
    std::string text = ToJsonText(monitor::ToMessageRow(std::move(o)));
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_MessageRowByObject);

void BM_TopicMatches(benchmark::State& state) {
  // The binding patterns of EVENTS.md against the routing keys of the saga.
  const char* patterns[] = {"order.*", "payment.*",      "inventory.*",
                            "#",       "notification.#", "order.created"};
  const char* keys[] = {"order.created", "payment.succeeded", "inventory.reserved",
                        "notification.email.sent"};
  for (auto _ : state) {
    int matches = 0;
    for (const char* p : patterns) {
      for (const char* k : keys) matches += TopicMatches(p, k) ? 1 : 0;
    }
    benchmark::DoNotOptimize(matches);
  }
  state.SetItemsProcessed(state.iterations() * 24);
}
BENCHMARK(BM_TopicMatches);

void BM_TopologyRoute(benchmark::State& state) {
  const Topology topology = DefaultTopology();
  for (auto _ : state) {
    auto queues = topology.Route(topology.events_exchange, "order.created");
    benchmark::DoNotOptimize(queues);
  }
}
BENCHMARK(BM_TopologyRoute);

void BM_NewId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NewId());
}
BENCHMARK(BM_NewId);

void BM_MoneyFromJson(benchmark::State& state) {
  const json::value amount(1234.56);
  for (auto _ : state) benchmark::DoNotOptimize(Money::FromJson(amount));
}
BENCHMARK(BM_MoneyFromJson);

// --- SqliteStore writes: a fresh database in a temp directory, WAL, synchronous=NORMAL (the
// embedded defaults). Each write is what a module's command does: insert a document and append
// its event to the outbox, in one transaction.

struct StoreFixture {
  std::string dir;
  std::unique_ptr<SqliteStore> store;
  std::atomic<uint64_t> next{0};
  const Envelope event = SampleEvent();

  StoreFixture() {
    char templ[] = "/tmp/shopflow-microbench.XXXXXX";
    dir = mkdtemp(templ) ? templ : "/tmp/shopflow-microbench";
    SqliteStoreOptions options;
    options.path = dir + "/bench.db";
    options.collections = {CollectionSpec{"docs", {"status"}, {}}};
    auto opened = SqliteStore::Open(options);
    if (!opened) throw std::runtime_error(opened.error().message);
    store = std::move(*opened);  // no relay: the outbox just grows, as with a stopped relay
  }
  ~StoreFixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }

  WriteFn InsertWithOutbox() {
    const std::string id = "doc-" + std::to_string(next++);
    return [this, id](Transaction& txn) -> Result<void> {
      json::object doc{{"status", "pending"}, {"customerId", "dana@example.com"}, {"n", 1}};
      if (auto r = txn.Insert("docs", id, doc); !r) return r;
      return txn.AppendOutbox(event);
    };
  }
};

StoreFixture& Fixture() {
  static StoreFixture fixture;
  return fixture;
}

/// One write at a time, waiting for each commit (a lone consumer thread's pattern).
void BM_SqliteWriteSingle(benchmark::State& state) {
  auto& f = Fixture();
  for (auto _ : state) {
    if (!WriteAndWait(*f.store, f.InsertWithOutbox())) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqliteWriteSingle)->UseRealTime();

/// Several threads writing and waiting at once: the writer thread groups them into one
/// physical transaction (group commit).
void BM_SqliteWriteConcurrent(benchmark::State& state) {
  auto& f = Fixture();
  for (auto _ : state) {
    if (!WriteAndWait(*f.store, f.InsertWithOutbox())) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqliteWriteConcurrent)->Threads(4)->Threads(16)->UseRealTime();

/// `range(0)` writes submitted without waiting, then all awaited (HTTP handlers' pattern).
void BM_SqliteWritePipelined(benchmark::State& state) {
  auto& f = Fixture();
  const auto batch = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    std::atomic<size_t> left{batch};
    std::promise<void> all_done;
    std::atomic<bool> failed{false};
    for (size_t i = 0; i < batch; ++i) {
      f.store->Write(f.InsertWithOutbox(), [&](Result<void> r) {
        if (!r) failed = true;
        if (--left == 0) all_done.set_value();
      });
    }
    all_done.get_future().wait();
    if (failed) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SqliteWritePipelined)->Arg(64)->Arg(256)->UseRealTime();

/// Inbox retention: one write removing `range(0)` expired marks of four consumers (what
/// StoreRetention does per batch; the saga's writes wait behind it). The marks are written
/// untimed first; the cutoff is a moment after them.
void BM_SqliteInboxPrune(benchmark::State& state) {
  auto& f = Fixture();
  const int64_t batch = state.range(0);
  static constexpr std::string_view kConsumers[] = {"inventory", "notifications", "orders",
                                                    "payments"};
  for (auto _ : state) {
    state.PauseTiming();
    auto marked = WriteAndWait(*f.store, [&](Transaction& txn) -> Result<void> {
      for (int64_t i = 0; i < batch; ++i) {
        if (auto r = txn.MarkApplied(kConsumers[i % 4], NewId()); !r) return r.error();
      }
      return Ok();
    });
    const TimePoint cutoff = std::chrono::system_clock::now() + std::chrono::milliseconds(1);
    state.ResumeTiming();
    int64_t removed = 0;
    auto pruned = WriteAndWait(*f.store, [&](Transaction& txn) -> Result<void> {
      auto r = txn.PruneInbox(cutoff, batch);
      if (!r) return r.error();
      removed = *r;
      return Ok();
    });
    if (!marked || !pruned || removed != batch) state.SkipWithError("mark or prune failed");
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_SqliteInboxPrune)->Arg(1000)->Arg(5000)->UseRealTime();

}  // namespace
}  // namespace shopflow

BENCHMARK_MAIN();
