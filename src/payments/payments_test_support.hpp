#pragma once

// Shared fixtures of the payments tests: a real SqliteStore in a unique temp file, a real
// InMemoryEventBus with the default topology delivering payments.events.queue to the module's
// handler, a fake OrderDirectory, a scriptable gateway and a fake clock.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/api.hpp"
#include "events/envelope.hpp"
#include "payments/gateway.hpp"
#include "payments/order_directory.hpp"
#include "payments/payment.hpp"
#include "payments/payment_events.hpp"
#include "payments/payment_routes.hpp"
#include "payments/payment_service.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::payments::testing {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;

template <class T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << ErrorCodeName(result.error().code) << ": " << result.error().message;
}

/// Polls `condition` with short waits until it holds or `timeout` passes (no fixed sleeps).
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s);

/// Orders as the API would see them. Thread-safe.
class FakeOrderDirectory final : public OrderDirectory {
 public:
  void Put(OrderSnapshot order);
  void SetStatus(const std::string& order_id, std::string status);
  boost::asio::awaitable<Result<std::optional<OrderSnapshot>>> Find(std::string order_id) override;

 private:
  std::mutex mutex_;
  std::map<std::string, OrderSnapshot> orders_;
};

/// A gateway around SimulatedGateway (its answers and Lookup) that a test steers:
/// - instant (default): TryChargeNow answers, so charges complete in one write; otherwise
///   every charge takes the two-phase path through Charge;
/// - kHold: Charge waits until Release() (to observe the state between the phases);
/// - kCrashBeforeCharge / kCrashAfterCharge: Charge throws before / after the simulator
///   decided, as if the process died between the phases;
/// - kDown: every charge (instant or not) answers kUnavailable "gateway down (scripted)".
class ScriptedGateway final : public PaymentGateway {
 public:
  enum class Mode { kPass, kHold, kCrashBeforeCharge, kCrashAfterCharge, kDown };
  static constexpr std::string_view kDownReason = "gateway down (scripted)";

  explicit ScriptedGateway(SimulatedGateway& inner) : inner_(inner) {}

  void set_instant(bool instant);
  void set_mode(Mode mode);
  /// Waits until `count` charges are being held.
  bool WaitHeld(int count, std::chrono::milliseconds timeout = 10s);
  /// Lets held charges (and later ones) continue.
  void Release();
  int charges() const;

  std::optional<GatewayResult> TryChargeNow(const ChargeRequest& request) override;
  boost::asio::awaitable<GatewayResult> Charge(ChargeRequest request) override;
  std::optional<GatewayResult> Lookup(std::string_view payment_id) const override;

 private:
  static GatewayResult Down();

  SimulatedGateway& inner_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool instant_ = true;
  Mode mode_ = Mode::kPass;
  bool released_ = false;
  int charges_ = 0;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> held_;
};

/// What an order event of the orders module would carry.
struct OrderSpec {
  std::string order_id;
  int64_t total_cents = 5990;
  std::string method = "credit_card";
  std::string card_number;  // "" → no paymentDetails
  std::string customer_id = "cust-1";
  std::string correlation_id = "corr-1";
};
Envelope OrderEvent(std::string_view type, const OrderSpec& spec, TimePoint now);

/// Counts of what is stored, to prove that bad input writes nothing.
struct StoredCounts {
  int64_t payments = 0;
  int64_t idempotency_keys = 0;
  size_t outbox = 0;
  bool operator==(const StoredCounts&) const = default;
};

/// One API call to PaymentRoutes.
struct ApiCall {
  std::string method;
  std::string pattern;  // a route pattern, e.g. "/api/payments/:id/refund"
  std::string id;       // the ":id" parameter, if any
  std::optional<std::string> body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string correlation_id = "corr-api";
};

class PaymentsTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Publishes `event` on the bus and waits until the payments handler returned for it.
  void Deliver(const Envelope& event);
  /// Publishes without waiting.
  void Publish(const Envelope& event);
  /// Waits until the handler returned `count` times in total.
  bool WaitHandled(int count, std::chrono::milliseconds timeout = 10s);
  std::vector<HandlerOutcome> Outcomes();

  /// Unsent outbox events, in commit order (no relay runs in these tests).
  std::vector<Envelope> Outbox();
  std::vector<std::string> OutboxTypes();
  /// Outbox events about one order.
  std::vector<Envelope> OutboxFor(const std::string& order_id);
  std::optional<Payment> PaymentOf(const std::string& order_id);
  std::optional<Payment> PaymentById(const std::string& payment_id);
  std::vector<json::object> Docs(std::string_view collection);
  StoredCounts Counts();

  ApiResponse Invoke(const ApiCall& call);
  ApiResponse Post(std::string pattern, std::string id, const json::value& body,
                   std::vector<std::pair<std::string, std::string>> headers = {});
  ApiResponse Put(std::string pattern, std::string id, const json::value& body);
  ApiResponse Get(std::string pattern, std::string id = "",
                  std::vector<std::pair<std::string, std::string>> query = {});

  /// A pending order known to the directory.
  OrderSnapshot PendingOrder(std::string order_id, int64_t total_cents = 2550,
                             std::string method = "credit_card");

  FakeClock clock_;
  std::filesystem::path db_path_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<InMemoryEventBus> bus_;
  SimulatedGateway simulated_;
  ScriptedGateway gateway_{simulated_};
  FakeOrderDirectory orders_;
  std::unique_ptr<PaymentEventHandler> handler_;
  std::unique_ptr<PaymentService> service_;
  std::vector<Route> routes_;

 private:
  std::mutex handled_mutex_;
  std::condition_variable handled_cv_;
  std::vector<HandlerOutcome> outcomes_;
};

}  // namespace shopflow::payments::testing
