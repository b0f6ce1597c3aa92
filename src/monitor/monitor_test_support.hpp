#pragma once

// Shared pieces of the monitor tests: a real SqliteStore in a unique temp directory, a store
// that can be switched off, a bus whose status a test controls, a coroutine runner and a route
// caller. Test-only: included by *_test.cpp files of this directory.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/api.hpp"
#include "core/ids.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "monitor/message_log.hpp"
#include "monitor/message_log_ring.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor::testing {

using namespace std::chrono_literals;

/// Polls `condition` with short waits until it holds or `timeout` passes: waiting on a condition
/// with a deadline, never a fixed sleep for an event.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return condition();
}

/// The collections the monitor reads: the event log plus the business ones it counts.
inline std::vector<CollectionSpec> MonitorCollections() {
  std::vector<CollectionSpec> out = MessageLogCollections();
  out.push_back(CollectionSpec{"orders", {"status", "customerId"}, {}});
  out.push_back(CollectionSpec{"payments", {"orderId", "status"}, {}});
  out.push_back(CollectionSpec{"products", {"category"}, {"sku"}});
  out.push_back(CollectionSpec{"notifications", {"type", "status", "recipient"}, {}});
  return out;
}

/// A SqliteStore in a fresh temp directory, removed afterwards.
class TempStore {
 public:
  explicit TempStore(std::vector<CollectionSpec> collections = MonitorCollections())
      : dir_(std::filesystem::path(::testing::TempDir()) / ("shopflow-monitor-" + NewId())) {
    auto store = SqliteStore::Open(
        {.path = (dir_ / "store.db").string(), .collections = std::move(collections)});
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return;
    }
    store_ = std::move(*store);
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  SqliteStore& operator*() { return *store_; }
  SqliteStore* operator->() { return store_.get(); }
  SqliteStore* get() { return store_.get(); }

  /// Inserts documents, failing the test on error.
  void Insert(std::string_view collection,
              const std::vector<std::pair<std::string, json::object>>& docs) {
    auto done = WriteAndWait(*store_, [&](Transaction& txn) -> Result<void> {
      for (const auto& [id, doc] : docs) {
        if (auto r = txn.Insert(collection, id, doc); !r) return r;
      }
      return Ok();
    });
    ASSERT_TRUE(done.ok()) << done.error().message;
  }

  /// Every row of the message log (all its partitions) matching `filters`, oldest first.
  std::vector<json::object> Log(std::vector<FieldFilter> filters = {}) {
    return FindAll(std::move(filters),
                   [](ReadTransaction& txn, const FindQuery& q) { return FindInLog(txn, q); });
  }

  /// Every document of `collection` matching `filters`, oldest id first.
  std::vector<json::object> All(std::string_view collection,
                                std::vector<FieldFilter> filters = {}) {
    return FindAll(std::move(filters), [&](ReadTransaction& txn, const FindQuery& q) {
      return txn.Find(collection, q);
    });
  }

 private:
  template <typename Finder>
  std::vector<json::object> FindAll(std::vector<FieldFilter> filters, Finder find) {
    std::vector<json::object> out;
    auto done = ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
      FindQuery q;
      q.filters = std::move(filters);
      q.limit = -1;
      q.newest_first = false;
      auto page = find(txn, q);
      if (!page) return std::move(page).error();
      out = std::move(page->docs);
      return Ok();
    });
    EXPECT_TRUE(done.ok()) << (done.ok() ? "" : done.error().message);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

/// A store that forwards to another until switched off; then reads and writes fail with
/// kUnavailable and Status says disconnected (a stopped database). Thread-safe.
class SwitchableStore final : public Store {
 public:
  explicit SwitchableStore(Store& inner) : inner_(inner) {}
  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  bool down() const {
    std::lock_guard lock(mutex_);
    return down_;
  }

  void Write(WriteFn fn, DoneFn done) override {
    if (down()) return done(UnavailableError("store stopped"));
    inner_.Write(std::move(fn), std::move(done));
  }
  void Read(ReadFn fn, DoneFn done) override {
    if (down()) return done(UnavailableError("store stopped"));
    inner_.Read(std::move(fn), std::move(done));
  }
  Result<std::vector<OutboxRecord>> PendingOutbox(size_t limit) override {
    if (down()) return UnavailableError("store stopped");
    return inner_.PendingOutbox(limit);
  }
  Result<void> MarkOutboxSent(std::span<const int64_t> sequences) override {
    if (down()) return UnavailableError("store stopped");
    return inner_.MarkOutboxSent(sequences);
  }
  void SetOutboxListener(OutboxListener listener) override {
    inner_.SetOutboxListener(std::move(listener));
  }
  StoreStatus Status() const override {
    StoreStatus s = inner_.Status();
    if (down()) {
      s.connected = false;
      s.detail = "stopped";
    }
    return s;
  }

 private:
  Store& inner_;
  mutable std::mutex mutex_;
  bool down_ = false;
};

/// A bus whose status and queue depths the test sets; publishing is accepted and counted,
/// nothing is delivered. Thread-safe.
class FakeEventBus final : public EventBus {
 public:
  void set_connected(bool connected, std::string detail = "") {
    std::lock_guard lock(mutex_);
    status_.connected = connected;
    status_.detail = std::move(detail);
  }
  void set_depths(std::vector<QueueDepth> depths) {
    std::lock_guard lock(mutex_);
    depths_ = std::move(depths);
  }

  Result<void> Start() override { return Ok(); }
  void Stop() override {}
  Result<void> Publish(std::span<const Envelope>) override { return Ok(); }
  Result<void> SendToQueue(std::string_view, const Envelope&,
                           std::vector<std::pair<std::string, std::string>>) override {
    return Ok();
  }
  void Subscribe(std::string, EventHandler, SubscribeOptions) override {}
  BusStatus Status() const override {
    std::lock_guard lock(mutex_);
    return status_;
  }
  std::vector<QueueDepth> QueueDepths() override {
    std::lock_guard lock(mutex_);
    return depths_;
  }

 private:
  mutable std::mutex mutex_;
  BusStatus status_{"amqp", true, ""};
  std::vector<QueueDepth> depths_;
};

/// Runs the coroutine `make()` to completion on a private single-threaded io_context.
template <class Make>
auto RunAwait(Make make) -> typename decltype(make())::value_type {
  using T = typename decltype(make())::value_type;
  boost::asio::io_context context(1);
  auto future = boost::asio::co_spawn(
      context, [&make]() -> boost::asio::awaitable<std::optional<T>> { co_return co_await make(); },
      boost::asio::use_future);
  context.run();
  return std::move(*future.get());
}

/// Calls the route of `routes` with `method` and `pattern` on `request` (path params and
/// query set by the caller). Fails the test when there is no such route.
inline ApiResponse CallRoute(const std::vector<Route>& routes, std::string_view method,
                             std::string_view pattern, ApiRequest request = {}) {
  for (const auto& r : routes) {
    if (r.method == method && r.pattern == pattern) {
      request.method = std::string(method);
      return RunAwait([&]() { return r.handler(request); });
    }
  }
  ADD_FAILURE() << "no route " << method << " " << pattern;
  return ApiResponse{};
}

/// The body of a JSON response as an object (empty when it is not one).
inline json::object BodyOf(const ApiResponse& response) {
  return response.body.is_object() ? response.body.as_object() : json::object{};
}

/// An event of `type` at `at` with the given ids (fresh messageId when empty).
inline Envelope TestEvent(std::string_view type, json::object data, std::string source,
                          std::string correlation_id, std::string causation_id, TimePoint at,
                          std::string message_id = "") {
  Envelope e = MakeEvent(std::string(type), std::move(data), std::move(source),
                         std::move(correlation_id), std::move(causation_id), at);
  if (!message_id.empty()) e.metadata.message_id = std::move(message_id);
  return e;
}

}  // namespace shopflow::monitor::testing
