#include "monitor/dlq/redrive_pacer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <optional>
#include <thread>

#include "monitor/dlq/blocking_worker.hpp"

namespace shopflow::monitor {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using SteadyTime = std::chrono::steady_clock::time_point;

TEST(RedriveRateLimiterTest, SpacesReservationsByTheInterval) {
  RedriveRateLimiter limiter(10);  // 100 ms apart
  const SteadyTime t0 = SteadyTime{} + 1h;
  EXPECT_EQ(limiter.Reserve(t0), t0);  // the first is immediate
  EXPECT_EQ(limiter.Reserve(t0), t0 + 100ms);
  EXPECT_EQ(limiter.Reserve(t0 + 10ms), t0 + 200ms);
  // After a pause longer than the interval there is no burst credit beyond one token.
  EXPECT_EQ(limiter.Reserve(t0 + 10s), t0 + 10s);
  EXPECT_EQ(limiter.Reserve(t0 + 10s), t0 + 10s + 100ms);
}

TEST(RedriveRateLimiterTest, ANonPositiveRateIsUnpaced) {
  RedriveRateLimiter limiter(0);
  const SteadyTime t0 = SteadyTime{} + 1h;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Reserve(t0), t0);
}

TEST(RedriveRateLimiterTest, ConcurrentCallersGetDistinctSlots) {
  RedriveRateLimiter limiter(1000);  // 1 ms apart
  const SteadyTime t0 = SteadyTime{} + 1h;
  std::vector<SteadyTime> slots(400);
  std::thread a([&] {
    for (int i = 0; i < 200; ++i) slots[i] = limiter.Reserve(t0);
  });
  std::thread b([&] {
    for (int i = 200; i < 400; ++i) slots[i] = limiter.Reserve(t0);
  });
  a.join();
  b.join();
  std::sort(slots.begin(), slots.end());
  for (size_t i = 1; i < slots.size(); ++i) EXPECT_EQ(slots[i] - slots[i - 1], 1ms);
}

TEST(SteadyTimerPacerTest, SleepsUntilTheSlotWithoutBlockingTheExecutor) {
  SteadyTimerPacer pacer;
  asio::io_context io(1);
  bool other_ran = false;
  const SteadyTime until = pacer.Now() + 30ms;
  auto slept = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<SteadyTime> {
        co_await pacer.SleepUntil(until);
        co_return std::chrono::steady_clock::now();
      },
      asio::use_future);
  asio::post(io, [&] { other_ran = true; });
  io.run();
  EXPECT_GE(slept.get(), until);
  EXPECT_TRUE(other_ran);
}

TEST(BlockingWorkerTest, RunsOffTheCallerAndResumesOnItsExecutor) {
  asio::io_context io(1);  // declared first: outlives the worker, which posts to it
  BlockingWorker worker;
  std::thread::id job_thread;
  auto done = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::optional<std::pair<Result<void>, std::thread::id>>> {
        auto result = co_await worker.Run([&]() -> Result<void> {
          job_thread = std::this_thread::get_id();
          return UnavailableError("broker down");
        });
        co_return std::make_pair(std::move(result), std::this_thread::get_id());
      },
      asio::use_future);
  io.run();
  auto [result, resumed_on] = *done.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(job_thread, std::this_thread::get_id());
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(BlockingWorkerTest, AThrowingJobIsInternalAndStopRefusesNewWork) {
  asio::io_context io(1);  // declared first: outlives the worker, which posts to it
  BlockingWorker worker;
  auto run = [&](std::function<Result<void>()> job) {
    io.restart();
    auto done = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<std::optional<Result<void>>> {
          co_return co_await worker.Run(job);
        },
        asio::use_future);
    io.run();
    return *done.get();
  };
  auto thrown = run([]() -> Result<void> { throw std::runtime_error("bug"); });
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);

  int ran = 0;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(worker.Post([&] { ++ran; }));
  worker.Stop();  // runs what was queued
  EXPECT_EQ(ran, 10);
  EXPECT_FALSE(worker.Post([&] { ++ran; }));
  auto refused = run([]() -> Result<void> { return Ok(); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  worker.Drain();  // returns at once once stopped
}

}  // namespace
}  // namespace shopflow::monitor
