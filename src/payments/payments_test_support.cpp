#include "payments/payments_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>
#include <thread>

#include "core/ids.hpp"
#include "events/topology.hpp"
#include "payments/payment_records.hpp"
#include "payments/run_blocking.hpp"

namespace shopflow::payments::testing {
namespace asio = boost::asio;

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// --- FakeOrderDirectory ------------------------------------------------------------------------

void FakeOrderDirectory::Put(OrderSnapshot order) {
  std::lock_guard lock(mutex_);
  orders_[order.order_id] = std::move(order);
}

void FakeOrderDirectory::SetStatus(const std::string& order_id, std::string status) {
  std::lock_guard lock(mutex_);
  orders_.at(order_id).status = std::move(status);
}

asio::awaitable<Result<std::optional<OrderSnapshot>>> FakeOrderDirectory::Find(
    std::string order_id) {
  std::lock_guard lock(mutex_);
  auto it = orders_.find(order_id);
  if (it == orders_.end()) co_return std::optional<OrderSnapshot>();
  co_return std::optional<OrderSnapshot>(it->second);
}

// --- ScriptedGateway ---------------------------------------------------------------------------

void ScriptedGateway::set_instant(bool instant) {
  std::lock_guard lock(mutex_);
  instant_ = instant;
}

void ScriptedGateway::set_mode(Mode mode) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
  released_ = false;
}

bool ScriptedGateway::WaitHeld(int count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return static_cast<int>(held_.size()) >= count; });
}

void ScriptedGateway::Release() {
  std::lock_guard lock(mutex_);
  released_ = true;
  for (auto& timer : held_) {
    // On the timer's own executor: the held coroutine is the only other user of the timer.
    // Moved into the handler, not copied: the coroutine may finish and its io_context (with
    // the timer service) be destroyed before this thread gets on, and the last reference must
    // then not be dropped here (ASan saw this thread destroy a timer whose service was gone).
    auto executor = timer->get_executor();
    asio::post(executor, [timer = std::move(timer)] {
      timer->expires_at(asio::steady_timer::time_point::min());
    });
  }
  held_.clear();
}

int ScriptedGateway::charges() const {
  std::lock_guard lock(mutex_);
  return charges_;
}

GatewayResult ScriptedGateway::Down() {
  return GatewayResult{GatewayResult::Outcome::kUnavailable, "", std::string(kDownReason)};
}

std::optional<GatewayResult> ScriptedGateway::TryChargeNow(const ChargeRequest& request) {
  {
    std::lock_guard lock(mutex_);
    if (!instant_) return std::nullopt;
    ++charges_;
    if (mode_ == Mode::kDown) return Down();
  }
  return inner_.TryChargeNow(request);
}

asio::awaitable<GatewayResult> ScriptedGateway::Charge(ChargeRequest request) {
  Mode mode;
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lock(mutex_);
    mode = mode_;
    ++charges_;
  }
  if (mode == Mode::kCrashBeforeCharge) {
    throw std::runtime_error("simulated crash before the gateway was asked");
  }
  if (mode == Mode::kDown) co_return Down();
  if (mode == Mode::kHold) {
    timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                 asio::steady_timer::time_point::max());
    bool wait = false;
    {
      std::lock_guard lock(mutex_);
      if (!released_) {
        held_.push_back(timer);
        wait = true;
      }
    }
    cv_.notify_all();
    if (wait) co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  GatewayResult result = co_await inner_.Charge(request);
  if (mode == Mode::kCrashAfterCharge) {
    throw std::runtime_error("simulated crash after the gateway answered");
  }
  co_return result;
}

std::optional<GatewayResult> ScriptedGateway::Lookup(std::string_view payment_id) const {
  return inner_.Lookup(payment_id);
}

// --- events ------------------------------------------------------------------------------------

Envelope OrderEvent(std::string_view type, const OrderSpec& spec, TimePoint now) {
  json::object data{
      {"orderId", spec.order_id},
      {"customerId", spec.customer_id},
      {"status", "pending"},
      {"items", json::array{json::object{{"productId", "p1"},
                                         {"quantity", 1},
                                         {"price", Money::FromCents(spec.total_cents).ToJson()},
                                         {"total", Money::FromCents(spec.total_cents).ToJson()}}}},
      {"totalAmount", Money::FromCents(spec.total_cents).ToJson()},
      {"paymentMethod", spec.method},
      {"createdAt", FormatRfc3339(now)},
      {"updatedAt", FormatRfc3339(now)},
      {"metadata", json::object{{"source", "api"}, {"correlationId", spec.correlation_id}}},
      {"history", json::array{}}};
  if (!spec.card_number.empty()) {
    data["paymentDetails"] = json::object{{"cardNumber", spec.card_number}, {"cvv", "123"}};
  }
  return MakeEvent(std::string(type), std::move(data), "orders", spec.correlation_id, "", now);
}

// --- PaymentsTest ------------------------------------------------------------------------------

void PaymentsTest::SetUp() {
  db_path_ = std::filesystem::temp_directory_path() / ("shopflow-payments-" + NewId() + ".db");
  SqliteStoreOptions options;
  options.path = db_path_.string();
  options.collections = PaymentService::Collections();
  auto store = SqliteStore::Open(std::move(options));
  ASSERT_TRUE(IsOk(store));
  store_ = std::move(*store);

  InMemoryBusOptions bus_options;
  bus_options.seed = 42;
  bus_ = std::make_unique<InMemoryEventBus>(DefaultTopology(), clock_, bus_options);
  handler_ = std::make_unique<PaymentEventHandler>(*store_, gateway_, clock_);
  // As the application consumes it: in batches (a batch of one when deliveries trickle in).
  SubscribeOptions batches;
  batches.max_batch = 16;
  bus_->SubscribeBatch(
      std::string(PaymentEventHandler::kQueue),
      [this](std::span<const Delivery> deliveries) {
        std::vector<HandlerOutcome> outcomes = handler_->HandleBatch(deliveries);
        {
          std::lock_guard lock(handled_mutex_);
          outcomes_.insert(outcomes_.end(), outcomes.begin(), outcomes.end());
        }
        handled_cv_.notify_all();
        return outcomes;
      },
      batches);
  ASSERT_TRUE(IsOk(bus_->Start()));

  service_ = std::make_unique<PaymentService>(*store_, orders_, gateway_, clock_);
  routes_ = PaymentRoutes(*service_);
}

void PaymentsTest::TearDown() {
  gateway_.Release();  // a failed test must not leave the bus thread waiting at the gateway
  if (bus_) bus_->Stop();
  routes_.clear();
  service_.reset();
  handler_.reset();
  bus_.reset();
  store_.reset();
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(db_path_.string() + suffix, ec);
  }
}

void PaymentsTest::Publish(const Envelope& event) {
  ASSERT_TRUE(IsOk(bus_->Publish(std::span<const Envelope>(&event, 1))));
}

void PaymentsTest::Deliver(const Envelope& event) {
  size_t before;
  {
    std::lock_guard lock(handled_mutex_);
    before = outcomes_.size();
  }
  Publish(event);
  ASSERT_TRUE(WaitHandled(static_cast<int>(before) + 1)) << "not handled: " << event.event_type;
}

bool PaymentsTest::WaitHandled(int count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(handled_mutex_);
  return handled_cv_.wait_for(lock, timeout,
                              [&] { return static_cast<int>(outcomes_.size()) >= count; });
}

std::vector<HandlerOutcome> PaymentsTest::Outcomes() {
  std::lock_guard lock(handled_mutex_);
  return outcomes_;
}

std::vector<Envelope> PaymentsTest::Outbox() {
  auto pending = store_->PendingOutbox(100'000);
  EXPECT_TRUE(IsOk(pending));
  std::vector<Envelope> events;
  if (pending) {
    for (auto& record : *pending) events.push_back(std::move(record.event));
  }
  return events;
}

std::vector<std::string> PaymentsTest::OutboxTypes() {
  std::vector<std::string> types;
  for (const auto& e : Outbox()) types.push_back(e.event_type);
  return types;
}

std::vector<Envelope> PaymentsTest::OutboxFor(const std::string& order_id) {
  std::vector<Envelope> events;
  for (auto& e : Outbox()) {
    if (GetString(e.data, "orderId") == order_id) events.push_back(std::move(e));
  }
  return events;
}

std::optional<Payment> PaymentsTest::PaymentOf(const std::string& order_id) {
  std::optional<Payment> out;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = FindPaymentForOrder(txn, order_id);
    if (!found) return std::move(found).error();
    out = std::move(*found);
    return Ok();
  })));
  return out;
}

std::optional<Payment> PaymentsTest::PaymentById(const std::string& payment_id) {
  std::optional<Payment> out;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = FindPayment(txn, payment_id);
    if (!found) return std::move(found).error();
    out = std::move(*found);
    return Ok();
  })));
  return out;
}

std::vector<json::object> PaymentsTest::Docs(std::string_view collection) {
  std::vector<json::object> docs;
  EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
    FindQuery all;
    all.limit = 1'000'000;
    auto found = txn.Find(collection, all);
    if (!found) return std::move(found).error();
    docs = std::move(found->docs);
    return Ok();
  })));
  return docs;
}

StoredCounts PaymentsTest::Counts() {
  StoredCounts counts;
  counts.payments = static_cast<int64_t>(Docs(kPaymentsCollection).size());
  counts.idempotency_keys = static_cast<int64_t>(Docs("idempotency_keys").size());
  counts.outbox = Outbox().size();
  return counts;
}

ApiResponse PaymentsTest::Invoke(const ApiCall& call) {
  ApiRequest request;
  request.method = call.method;
  request.path = call.pattern;
  if (!call.id.empty()) {
    request.path_params.emplace_back("id", call.id);
    request.path.replace(request.path.find(":id"), 3, call.id);
  }
  request.query = call.query;
  request.headers = call.headers;
  if (call.body) {
    request.body = *call.body;
    if (!call.content_type.empty()) request.headers.emplace_back("content-type", call.content_type);
  }
  request.correlation_id = call.correlation_id;
  for (const auto& route : routes_) {
    if (route.method == call.method && route.pattern == call.pattern) {
      return RunBlocking([&] { return route.handler(request); });
    }
  }
  ADD_FAILURE() << "no route " << call.method << " " << call.pattern;
  return ApiResponse{};
}

ApiResponse PaymentsTest::Post(std::string pattern, std::string id, const json::value& body,
                               std::vector<std::pair<std::string, std::string>> headers) {
  ApiCall call;
  call.method = "POST";
  call.pattern = std::move(pattern);
  call.id = std::move(id);
  call.body = ToJsonText(body);
  call.headers = std::move(headers);
  return Invoke(call);
}

ApiResponse PaymentsTest::Put(std::string pattern, std::string id, const json::value& body) {
  ApiCall call;
  call.method = "PUT";
  call.pattern = std::move(pattern);
  call.id = std::move(id);
  call.body = ToJsonText(body);
  return Invoke(call);
}

ApiResponse PaymentsTest::Get(std::string pattern, std::string id,
                              std::vector<std::pair<std::string, std::string>> query) {
  ApiCall call;
  call.method = "GET";
  call.pattern = std::move(pattern);
  call.id = std::move(id);
  call.query = std::move(query);
  return Invoke(call);
}

OrderSnapshot PaymentsTest::PendingOrder(std::string order_id, int64_t total_cents,
                                         std::string method) {
  OrderSnapshot order{std::move(order_id), "cust-9", "pending", std::move(method),
                      Money::FromCents(total_cents)};
  orders_.Put(order);
  return order;
}

}  // namespace shopflow::payments::testing
