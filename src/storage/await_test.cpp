#include "storage/await.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace shopflow {
namespace {
namespace asio = boost::asio;

/// How a stub store calls `done`.
enum class Completion {
  kInline,             // inside Read/Write, on the caller's thread (SQLite reads)
  kOtherThreadDuring,  // on another thread, before Read/Write returns
  kOtherThreadAfter,   // on another thread, after Read/Write returned (the writer thread)
};

/// A store whose reads and writes only answer `answer`, completing as `completion` says.
class StubStore final : public Store {
 public:
  StubStore(Completion completion, Result<void> answer)
      : completion_(completion), answer_(std::move(answer)) {}
  ~StubStore() override {
    for (auto& t : threads_) t.join();
  }

  void Write(WriteFn, DoneFn done) override { Complete(std::move(done)); }
  void Read(ReadFn, DoneFn done) override { Complete(std::move(done)); }
  Result<std::vector<OutboxRecord>> PendingOutbox(size_t) override {
    return std::vector<OutboxRecord>{};
  }
  Result<void> MarkOutboxSent(std::span<const int64_t>) override { return Ok(); }
  void SetOutboxListener(OutboxListener) override {}
  StoreStatus Status() const override { return {"stub", true, ""}; }

 private:
  void Complete(DoneFn done) {
    switch (completion_) {
      case Completion::kInline:
        done(answer_);
        return;
      case Completion::kOtherThreadDuring:
        std::thread([&] { done(answer_); }).join();
        return;
      case Completion::kOtherThreadAfter:
        threads_.emplace_back([done = std::move(done), answer = answer_] { done(answer); });
        return;
    }
  }

  const Completion completion_;
  const Result<void> answer_;
  std::vector<std::thread> threads_;
};

struct Observed {
  std::optional<Result<void>> read;
  std::optional<Result<void>> write;
  bool resumed_on_io_thread = true;
};

Observed RunBoth(Completion completion, Result<void> answer) {
  // The io_context outlives the store: a store thread may still be leaving its callback (after
  // posting to the io_context) when the coroutine has finished, so the store must join its
  // threads before the io_context goes (ASan caught the reverse order).
  asio::io_context io;
  StubStore store(completion, std::move(answer));
  Observed seen;
  const auto io_thread = std::this_thread::get_id();
  auto body = [&]() -> asio::awaitable<void> {
    seen.read = co_await AwaitRead(store, [](ReadTransaction&) { return Ok(); });
    seen.resumed_on_io_thread &= std::this_thread::get_id() == io_thread;
    seen.write = co_await AwaitWrite(store, [](Transaction&) { return Ok(); });
    seen.resumed_on_io_thread &= std::this_thread::get_id() == io_thread;
  };
  asio::co_spawn(asio::make_strand(io), body, asio::detached);
  io.run();
  return seen;
}

class AwaitTest : public ::testing::TestWithParam<Completion> {};

TEST_P(AwaitTest, ResultReachesTheCoroutineOnItsOwnThread) {
  Observed seen = RunBoth(GetParam(), Ok());
  ASSERT_TRUE(seen.read.has_value());
  ASSERT_TRUE(seen.write.has_value());
  EXPECT_TRUE(seen.read->ok());
  EXPECT_TRUE(seen.write->ok());
  EXPECT_TRUE(seen.resumed_on_io_thread);
}

TEST_P(AwaitTest, ErrorReachesTheCoroutine) {
  Observed seen = RunBoth(GetParam(), UnavailableError("store down"));
  ASSERT_TRUE(seen.read.has_value());
  ASSERT_FALSE(seen.read->ok());
  EXPECT_EQ(seen.read->error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(seen.read->error().message, "store down");
  ASSERT_TRUE(seen.write.has_value());
  EXPECT_FALSE(seen.write->ok());
}

INSTANTIATE_TEST_SUITE_P(EveryCompletion, AwaitTest,
                         ::testing::Values(Completion::kInline, Completion::kOtherThreadDuring,
                                           Completion::kOtherThreadAfter));

}  // namespace
}  // namespace shopflow
