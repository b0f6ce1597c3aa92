#include "monitor/dlq/dlq_test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "events/topology.hpp"
#include "monitor/dlq/audit_log.hpp"
#include "monitor/dlq/dead_letter_records.hpp"
#include "monitor/dlq/dlq_routes.hpp"
#include "storage/inbox_handler.hpp"

namespace shopflow::monitor::testing {
namespace asio = boost::asio;

namespace {
constexpr std::string_view kEffects = "effects";
constexpr std::string_view kPaymentsConsumer = "payments-test";

RetryPolicy SmallRetry() {
  RetryPolicy retry;
  retry.max_attempts = 3;
  retry.initial_delay = 10ms;
  retry.multiplier = 2.0;
  retry.max_delay = 1s;
  retry.jitter = 0.0;
  return retry;
}
}  // namespace

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// --- SwitchableBus -------------------------------------------------------------------------

void SwitchableBus::FailSends(std::optional<Error> error) {
  std::lock_guard lock(mutex_);
  failure_ = std::move(error);
}

Result<void> SwitchableBus::SendToQueue(std::string_view queue, const Envelope& envelope,
                                        std::vector<std::pair<std::string, std::string>> headers) {
  {
    std::lock_guard lock(mutex_);
    if (failure_) return *failure_;
  }
  ++sends_;
  return inner_.SendToQueue(queue, envelope, std::move(headers));
}

// --- VirtualPacer --------------------------------------------------------------------------

std::chrono::steady_clock::time_point VirtualPacer::Now() {
  std::lock_guard lock(mutex_);
  return now_;
}

asio::awaitable<void> VirtualPacer::SleepUntil(std::chrono::steady_clock::time_point when) {
  {
    std::lock_guard lock(mutex_);
    waits_.push_back(when);
    now_ = std::max(now_, when);
  }
  co_return;
}

std::vector<std::chrono::steady_clock::time_point> VirtualPacer::waits() const {
  std::lock_guard lock(mutex_);
  return waits_;
}

// --- DlqTest -------------------------------------------------------------------------------

void DlqTest::SetUp() {
  db_path_ = std::filesystem::temp_directory_path() / ("shopflow-dlq-" + NewId() + ".db");
  SqliteStoreOptions options;
  options.path = db_path_.string();
  options.collections = DeadLetterManager::Collections();
  options.collections.push_back(CollectionSpec{std::string(kEffects), {"messageId"}, {}});
  auto store = SqliteStore::Open(std::move(options));
  ASSERT_TRUE(IsOk(store));
  store_ = std::move(*store);

  InMemoryBusOptions bus_options;
  bus_options.seed = 7;
  bus_ = std::make_unique<InMemoryEventBus>(DefaultTopology(SmallRetry()), clock_, bus_options);
  switch_ = std::make_unique<SwitchableBus>(*bus_);
  // The payments module as a test sees it: a poison consumer until fixed, then an exactly-once
  // consumer whose effect is one row per application.
  bus_->Subscribe(
      std::string(kPaymentsQueue),
      [this](const Delivery& d) {
        if (broken_) {
          return HandlerOutcome::Retry(std::string(kGatewayTimeout) +
                                       GetString(d.envelope.data, "orderId"));
        }
        ++fixed_deliveries_;
        return ApplyOnce(*store_, std::string(kPaymentsConsumer), d,
                         [](Transaction& txn, const Delivery& delivery) {
                           const std::string& id = delivery.envelope.metadata.message_id;
                           return txn.Insert(kEffects, NewId(), json::object{{"messageId", id}});
                         });
      },
      SubscribeOptions{});
}

void DlqTest::StartManager(DlqOptions options) {
  manager_ =
      std::make_unique<DeadLetterManager>(*store_, *switch_, DefaultTopology(SmallRetry()), clock_,
                                          std::move(options), [this](const json::object& alert) {
                                            std::lock_guard lock(alerts_mutex_);
                                            alerts_.push_back(alert);
                                          });
  manager_->SubscribeAll(*switch_);
  ASSERT_TRUE(IsOk(bus_->Start()));
  ASSERT_TRUE(IsOk(manager_->Start()));
  routes_ = DlqRoutes(*manager_);
}

std::unique_ptr<DeadLetterManager> DlqTest::RestartedManager() {
  return std::make_unique<DeadLetterManager>(*store_, *switch_, DefaultTopology(SmallRetry()),
                                             clock_);
}

void DlqTest::TearDown() {
  broken_ = false;
  if (bus_) bus_->Stop();
  if (manager_) manager_->Stop();
  routes_.clear();
  manager_.reset();
  switch_.reset();
  bus_.reset();
  store_.reset();
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(db_path_.string() + suffix, ec);
  }
}

Envelope DlqTest::OrderEvent(const std::string& order_id) {
  return MakeEvent(std::string(events::kOrderCreated),
                   json::object{{"orderId", order_id}, {"customerId", "cust-1"}}, "orders",
                   "corr-" + order_id, "", clock_.Now());
}

Envelope DlqTest::PublishOrder(const std::string& order_id) {
  Envelope event = OrderEvent(order_id);
  EXPECT_TRUE(IsOk(bus_->Publish(std::span<const Envelope>(&event, 1))));
  return event;
}

Envelope DlqTest::PoisonOrder(const std::string& order_id) {
  const Envelope event = PublishOrder(order_id);
  const std::string& id = event.metadata.message_id;
  EXPECT_TRUE(WaitUntil([&] {
    clock_.Advance(50ms);  // retries wait on the fake clock
    for (const auto& r : RecordsOf(id)) {
      if (r.status == DeadLetterStatus::kDead) return true;
    }
    return false;
  })) << "never dead-lettered: "
      << order_id;
  // The handler publishes its count just after the commit the loop above saw.
  EXPECT_TRUE(WaitUntil([&] { return manager_->DeadCount() == StoredDeadCount(); }));
  return event;
}

void DlqTest::DeadLetterDirectly(const Envelope& envelope, std::string_view reason,
                                 std::string_view dlq, int attempts) {
  namespace h = dead_letter_headers;
  const Topology topology = DefaultTopology();
  const ModuleQueues* module = topology.ModuleOfQueue(dlq);
  ASSERT_NE(module, nullptr);
  const std::string now = FormatRfc3339(clock_.Now());
  std::vector<std::pair<std::string, std::string>> headers{
      {std::string(h::kReason), std::string(reason)},
      {std::string(h::kAttempts), std::to_string(attempts)},
      {std::string(h::kOriginalQueue), module->queue},
      {std::string(h::kRoutingKey), std::string(*RoutingKeyFor(envelope.event_type))},
      {std::string(h::kFirstFailure), now},
      {std::string(h::kLastFailure), now}};
  ASSERT_TRUE(IsOk(bus_->SendToQueue(dlq, envelope, std::move(headers))));
}

bool DlqTest::WaitDead(int64_t count) {
  return WaitUntil([&] { return manager_->DeadCount() >= count; });
}

int64_t DlqTest::StoredDeadCount() {
  int64_t count = -1;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    auto dead = CountDead(txn);
    if (!dead) return std::move(dead).error();
    count = *dead;
    return Ok();
  })));
  return count;
}

int64_t DlqTest::Depth(std::string_view queue) {
  for (const auto& depth : bus_->QueueDepths()) {
    if (depth.queue == queue) return depth.messages;
  }
  ADD_FAILURE() << "no depth for " << queue;
  return -1;
}

std::vector<DeadLetterRecord> DlqTest::Records() {
  std::vector<DeadLetterRecord> out;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    auto matched = FindMatching(txn, DeadLetterFilter{}, -1, /*newest_first=*/false);
    if (!matched) return std::move(matched).error();
    out = std::move(matched->records);
    return Ok();
  })));
  return out;
}

std::vector<DeadLetterRecord> DlqTest::RecordsOf(const std::string& message_id) {
  std::vector<DeadLetterRecord> out;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = FindByMessageId(txn, message_id, std::nullopt);
    if (!found) return std::move(found).error();
    out = std::move(*found);
    return Ok();
  })));
  return out;
}

std::vector<json::object> DlqTest::AuditRows() {
  std::vector<json::object> out;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    FindQuery query;
    query.limit = -1;
    query.newest_first = false;
    auto page = txn.Find(kAuditLogCollection, query);
    if (!page) return std::move(page).error();
    out = std::move(page->docs);
    return Ok();
  })));
  return out;
}

std::vector<std::string> DlqTest::AuditActions() {
  std::vector<std::string> actions;
  for (const auto& row : AuditRows()) actions.push_back(GetString(row, "action"));
  return actions;
}

int64_t DlqTest::Applied(const std::string& message_id) {
  int64_t count = 0;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    const FieldFilter filter{"messageId", FieldFilter::Op::kEq, message_id};
    auto n = txn.Count(kEffects, std::span<const FieldFilter>(&filter, 1));
    if (!n) return std::move(n).error();
    count = *n;
    return Ok();
  })));
  return count;
}

void DlqTest::ForceStatus(const std::string& message_id, DeadLetterStatus status) {
  ASSERT_TRUE(IsOk(WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
    auto records = FindByMessageId(txn, message_id, std::nullopt);
    if (!records) return std::move(records).error();
    if (records->empty()) return NotFoundError("no record of " + message_id);
    DeadLetterRecord r = records->back();
    r.status = status;
    return txn.Replace(kDeadLettersCollection, r.record_id, r.ToJson());
  })));
}

std::vector<json::object> DlqTest::Alerts() {
  std::lock_guard lock(alerts_mutex_);
  return alerts_;
}

ApiResponse DlqTest::Call(const ApiCall& call) {
  ApiRequest request;
  request.method = call.method;
  request.path = call.pattern;
  if (!call.message_id.empty()) {
    request.path_params.emplace_back("messageId", call.message_id);
    request.path.replace(request.path.find(":messageId"), 10, call.message_id);
  }
  request.query = call.query;
  if (call.body) {
    request.body = *call.body;
    if (!call.content_type.empty()) request.headers.emplace_back("content-type", call.content_type);
  }
  request.correlation_id = call.correlation_id;
  request.client_address = call.client_address;
  for (const auto& route : routes_) {
    if (route.method != call.method || route.pattern != call.pattern) continue;
    auto future = asio::co_spawn(io_, route.handler(request), asio::use_future);
    io_.restart();
    io_.run();
    return future.get();
  }
  ADD_FAILURE() << "no route " << call.method << " " << call.pattern;
  return ApiResponse{};
}

ApiResponse DlqTest::GetDlq(std::vector<std::pair<std::string, std::string>> query) {
  return Call(ApiCall{"GET", "/api/dlq", "", std::nullopt, "", std::move(query)});
}

ApiResponse DlqTest::Retry(const std::string& message_id,
                           std::vector<std::pair<std::string, std::string>> query) {
  return Call(
      ApiCall{"POST", "/api/dlq/:messageId/retry", message_id, std::nullopt, "", std::move(query)});
}

ApiResponse DlqTest::RetryAll(const json::value& body) {
  return Call(ApiCall{"POST", "/api/dlq/retry-all", "", ToJsonText(body)});
}

ApiResponse DlqTest::Discard(const std::string& message_id,
                             std::vector<std::pair<std::string, std::string>> query) {
  return Call(
      ApiCall{"DELETE", "/api/dlq/:messageId", message_id, std::nullopt, "", std::move(query)});
}

const json::object& Body(const ApiResponse& r) {
  static const json::object kEmpty;
  return r.body.is_object() ? r.body.get_object() : kEmpty;
}

std::string ErrorCodeOf(const ApiResponse& r) {
  const auto* error = GetObject(Body(r), "error");
  return error ? GetString(*error, "code") : "";
}

std::vector<std::string> ErrorFields(const ApiResponse& r) {
  std::vector<std::string> fields;
  if (const auto* error = GetObject(Body(r), "error")) {
    if (const auto* details = GetArray(*error, "details")) {
      for (const auto& d : *details) fields.push_back(GetString(d.as_object(), "field"));
    }
  }
  return fields;
}

const json::object* QueueEntry(const ApiResponse& r, std::string_view queue) {
  const json::array* queues = GetArray(Body(r), "queues");
  if (!queues) return nullptr;
  for (const auto& q : *queues) {
    if (q.is_object() && GetString(q.get_object(), "queue") == queue) return &q.get_object();
  }
  return nullptr;
}

}  // namespace shopflow::monitor::testing
