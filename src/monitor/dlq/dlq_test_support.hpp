#pragma once

// Shared fixtures of the dead-letter manager tests: a real SqliteStore in a unique temp file, a
// real InMemoryEventBus with the default topology and a small retry policy, a payments consumer
// that fails ("poison") until a test fixes it and then applies each message once through an
// inbox, the manager behind a bus wrapper whose SendToQueue a test can make fail, and a fake
// clock.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/api.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "monitor/dlq/dead_letter_manager.hpp"
#include "monitor/dlq/dead_letter_record.hpp"
#include "monitor/dlq/redrive_pacer.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "tests/support/fake_clock.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::monitor::testing {

using namespace std::chrono_literals;
using shopflow::testing::FakeClock;

inline constexpr std::string_view kPaymentsQueue = "payments.events.queue";
inline constexpr std::string_view kPaymentsDlq = "dlq.payments.process.failed";
inline constexpr std::string_view kInventoryQueue = "inventory.events.queue";
inline constexpr std::string_view kInventoryDlq = "dlq.inventory.reserve.failed";
/// The reason the poison consumer fails with (the order id varies per message).
inline constexpr std::string_view kGatewayTimeout = "payment gateway timeout for order ";

template <class T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << ErrorCodeName(result.error().code) << ": " << result.error().message;
}

/// Polls `condition` with short waits until it holds or `timeout` passes (no fixed sleeps).
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s);

/// Forwards to another bus; SendToQueue is counted and can be made to fail like a broker that
/// is down. Thread-safe.
class SwitchableBus final : public EventBus {
 public:
  explicit SwitchableBus(EventBus& inner) : inner_(inner) {}

  /// From now on SendToQueue fails with `error` (nullopt: forwards again).
  void FailSends(std::optional<Error> error);
  int sends() const { return sends_.load(); }

  Result<void> Start() override { return inner_.Start(); }
  void Stop() override { inner_.Stop(); }
  Result<void> Publish(std::span<const Envelope> batch) override { return inner_.Publish(batch); }
  Result<void> SendToQueue(std::string_view queue, const Envelope& envelope,
                           std::vector<std::pair<std::string, std::string>> headers) override;
  void Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) override {
    inner_.Subscribe(std::move(queue), std::move(handler), options);
  }
  BusStatus Status() const override { return inner_.Status(); }

 private:
  EventBus& inner_;
  mutable std::mutex mutex_;
  std::optional<Error> failure_;
  std::atomic<int> sends_{0};
};

/// A pacer on virtual time: SleepUntil returns at once, moving the virtual clock to `when` and
/// recording it. Thread-safe.
class VirtualPacer final : public RedrivePacer {
 public:
  std::chrono::steady_clock::time_point Now() override;
  boost::asio::awaitable<void> SleepUntil(std::chrono::steady_clock::time_point when) override;
  /// Every SleepUntil target, in call order.
  std::vector<std::chrono::steady_clock::time_point> waits() const;

 private:
  mutable std::mutex mutex_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::time_point{} + 1h;
  std::vector<std::chrono::steady_clock::time_point> waits_;
};

inline constexpr std::string_view kCorrelationId = "corr-api-0b1f7a52-9d2c-4e8b-a1f3-5c6d7e8f9a0b";
inline constexpr std::string_view kClientAddress = "[2001:db8::17]:54321";

/// One call of a DlqRoutes route.
struct ApiCall {
  std::string method;
  std::string pattern;     // a route pattern, e.g. "/api/dlq/:messageId/retry"
  std::string message_id;  // the ":messageId" parameter, if any
  std::optional<std::string> body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> query;
  // Longer than the small-string buffer, so sanitizers see any lifetime mistake on them.
  std::string correlation_id = std::string(kCorrelationId);
  std::string client_address = std::string(kClientAddress);
};

class DlqTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Constructs the manager with `options` (alerts recorded in alerts()), subscribes it to
  /// every dead-letter queue, starts the bus and the manager.
  void StartManager(DlqOptions options = {});
  /// A second manager on the same store and bus that subscribes to nothing: a restarted process
  /// whose Start() recovers interrupted re-drives.
  std::unique_ptr<DeadLetterManager> RestartedManager();

  /// Publishes an ORDER_CREATED for `order_id` (the payments consumer gets it).
  Envelope PublishOrder(const std::string& order_id);
  /// Publishes an order and waits, moving the fake clock so retries fall due, until its dead
  /// letter is stored and counted by the manager. Returns the message.
  Envelope PoisonOrder(const std::string& order_id);
  /// Puts `envelope` straight onto `dlq` with the headers a transport sets when dead-lettering
  /// after `attempts` attempts; the failure time is the fake clock's.
  void DeadLetterDirectly(const Envelope& envelope, std::string_view reason,
                          std::string_view dlq = kPaymentsDlq, int attempts = 3);
  /// A fresh ORDER_CREATED (not published).
  Envelope OrderEvent(const std::string& order_id);
  /// Waits until `count` dead letters are `dead`.
  bool WaitDead(int64_t count);
  /// The number of `dead` records in the store.
  int64_t StoredDeadCount();
  /// Messages waiting on `queue` (ready or scheduled for retry), through EventBus::QueueDepths.
  int64_t Depth(std::string_view queue);

  /// Every stored record, oldest first; those of one message.
  std::vector<DeadLetterRecord> Records();
  std::vector<DeadLetterRecord> RecordsOf(const std::string& message_id);
  /// Every audit row, oldest first; their actions.
  std::vector<json::object> AuditRows();
  std::vector<std::string> AuditActions();
  /// Times the fixed payments consumer applied `message_id` (inbox-deduplicated effects).
  int64_t Applied(const std::string& message_id);
  /// Sets a record's status directly, as a crash would have left it.
  void ForceStatus(const std::string& message_id, DeadLetterStatus status);
  std::vector<json::object> Alerts();

  ApiResponse Call(const ApiCall& call);
  ApiResponse GetDlq(std::vector<std::pair<std::string, std::string>> query = {});
  ApiResponse Retry(const std::string& message_id,
                    std::vector<std::pair<std::string, std::string>> query = {});
  ApiResponse RetryAll(const json::value& body);
  ApiResponse Discard(const std::string& message_id,
                      std::vector<std::pair<std::string, std::string>> query = {});

  FakeClock clock_;
  // Runs every API call (one thread: the executor serializes like a strand). It outlives the
  // store and the managers, whose threads post completions to it (see TearDown).
  boost::asio::io_context io_{1};
  std::filesystem::path db_path_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<InMemoryEventBus> bus_;
  std::unique_ptr<SwitchableBus> switch_;
  std::unique_ptr<DeadLetterManager> manager_;
  std::vector<Route> routes_;

  std::atomic<bool> broken_{true};        // the payments consumer fails while set
  std::atomic<int> fixed_deliveries_{0};  // deliveries the fixed consumer saw

 private:
  std::mutex alerts_mutex_;
  std::vector<json::object> alerts_;
};

/// The body of a response as an object; the error code and the fields an error names.
const json::object& Body(const ApiResponse& r);
std::string ErrorCodeOf(const ApiResponse& r);
std::vector<std::string> ErrorFields(const ApiResponse& r);
/// The queue entry of GET /api/dlq for `queue`.
const json::object* QueueEntry(const ApiResponse& r, std::string_view queue);

}  // namespace shopflow::monitor::testing
