#pragma once

// Test-only helpers shared by the notifications tests (not part of the library).

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "notifications/channel.hpp"
#include "notifications/notification.hpp"
#include "notifications/notification_service.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow::notifications::testing {

template <class T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << result.error().message;
}

/// Polls `condition` with short waits until it holds or the deadline passes (a condition with a
/// deadline, never a fixed sleep standing in for an event).
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// Runs a coroutine to completion on `io` (run by this thread alone, so it serializes its
/// handlers as AwaitWrite requires) and returns its result.
///
/// `io` must outlive the store the coroutine used: storage/await.cpp leaves a steady_timer of
/// `io` in the store's write callback, which the store's writer thread may destroy after the
/// coroutine finished (a fresh io_context per call made that a use-after-free under ASan).
template <class T>
T RunCoroutine(boost::asio::io_context& io, boost::asio::awaitable<T> coroutine) {
  std::optional<T> out;
  // The result goes through an optional: co_spawn's completion needs a default-constructible
  // value type, which Result<T> is not.
  auto done = boost::asio::co_spawn(
      io,
      [&out, c = std::move(coroutine)]() mutable -> boost::asio::awaitable<void> {
        out.emplace(co_await std::move(c));
      },
      boost::asio::use_future);
  io.restart();
  io.run();
  done.get();
  return std::move(*out);
}

/// What a NOTIFICATION_* event carries for the notification document `doc`.
inline json::object EventDataOf(json::object doc) {
  const size_t length = GetString(doc, "content").size();
  doc.erase("content");
  doc["contentLength"] = length;
  return doc;
}

/// A channel that records what it is asked to send and fails on demand. Thread-safe.
class FakeChannel final : public NotificationChannel {
 public:
  Result<void> Send(const OutgoingMessage& message) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(message);
    if (throw_) throw std::runtime_error("channel exploded");
    if (fail_) return UnavailableError("gateway refused (fake)");
    return Ok();
  }
  void Fail(bool fail) {
    std::lock_guard lock(mutex_);
    fail_ = fail;
  }
  void Throw(bool do_throw) {
    std::lock_guard lock(mutex_);
    throw_ = do_throw;
  }
  std::vector<OutgoingMessage> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  /// Reports itself as a channel with nothing to send (like one without a gateway URL).
  void SetRecordsOnly(bool records_only) { records_only_ = records_only; }
  bool RecordsOnly() const override { return records_only_; }

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> records_only_ = false;
  bool fail_ = false;
  bool throw_ = false;
  std::vector<OutgoingMessage> sent_;
};

/// A real SqliteStore in a unique temporary directory and a service over fake channels.
class ServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(
        {.path = (dir_ / "store.db").string(), .collections = NotificationService::Collections()});
    ASSERT_TRUE(IsOk(store));
    store_ = std::move(*store);
  }

  void TearDown() override {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// (Re)creates the service with fake channels (email_, sms_, push_ point at them).
  virtual void MakeService(NotificationsOptions options, const Clock& clock) {
    service_.reset();
    NotificationChannels channels;
    auto email = std::make_unique<FakeChannel>();
    auto sms = std::make_unique<FakeChannel>();
    auto push = std::make_unique<FakeChannel>();
    email_ = email.get();
    sms_ = sms.get();
    push_ = push.get();
    channels.email = std::move(email);
    channels.sms = std::move(sms);
    channels.push = std::move(push);
    service_ = std::make_unique<NotificationService>(*store_, clock, std::move(options),
                                                     std::move(channels));
  }

  std::vector<Notification> AllNotifications() {
    std::vector<Notification> out;
    EXPECT_TRUE(IsOk(ReadAndWait(*store_, [&](ReadTransaction& txn) -> Result<void> {
      FindQuery query;
      query.limit = 1000;
      query.newest_first = false;
      auto found = txn.Find(kNotificationsCollection, query);
      if (!found) return std::move(found).error();
      for (const auto& doc : found->docs) {
        auto n = Notification::FromJson(doc);
        if (!n) return std::move(n).error();
        out.push_back(std::move(*n));
      }
      return Ok();
    })));
    return out;
  }

  /// Events written to the outbox and not yet relayed (no relay runs in these tests).
  std::vector<Envelope> OutboxEvents() {
    std::vector<Envelope> out;
    auto pending = store_->PendingOutbox(10'000);
    EXPECT_TRUE(IsOk(pending));
    if (pending) {
      for (auto& record : *pending) out.push_back(std::move(record.event));
    }
    return out;
  }

  template <class T>
  T Run(boost::asio::awaitable<T> coroutine) {
    return RunCoroutine(io_, std::move(coroutine));
  }

  boost::asio::io_context io_;  // first: outlives the store (see RunCoroutine)
  const std::filesystem::path dir_ =
      std::filesystem::path(::testing::TempDir()) / ("shopflow_notifications_" + NewId());
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<NotificationService> service_;
  FakeChannel* email_ = nullptr;
  FakeChannel* sms_ = nullptr;
  FakeChannel* push_ = nullptr;
};

}  // namespace shopflow::notifications::testing
