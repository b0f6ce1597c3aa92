#include "monitor/dlq/blocking_worker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <future>
#include <memory>
#include <optional>

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {

// The rendezvous of storage/await.cpp: the coroutine waits on a timer of its own executor whose
// expiry the worker moves into the past through post(), so the coroutine always resumes on its
// executor and the timer is only ever touched there. Unlike await.cpp it never skips the wait
// (see Run).
struct Rendezvous {
  explicit Rendezvous(const asio::any_io_executor& executor)
      : timer(executor, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  std::mutex mutex;
  std::optional<Result<void>> result;
};

}  // namespace

BlockingWorker::BlockingWorker() : thread_([this] { Loop(); }) {}

BlockingWorker::~BlockingWorker() { Stop(); }

bool BlockingWorker::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

asio::awaitable<Result<void>> BlockingWorker::Run(std::function<Result<void>()> job) {
  auto state = std::make_shared<Rendezvous>(co_await asio::this_coro::executor);
  const bool queued = Post([state, job = std::move(job)]() mutable {
    Result<void> result = Ok();
    try {
      result = job();
    } catch (const std::exception& e) {
      result = InternalError(e.what());
    } catch (...) {
      result = InternalError("unknown exception");
    }
    {
      std::lock_guard lock(state->mutex);
      state->result = std::move(result);
    }
    // The state moves into the posted function: the worker keeps no reference, so the timer is
    // destroyed on the coroutine's side.
    auto executor = state->timer.get_executor();
    asio::post(executor, [state = std::move(state)] {
      state->timer.expires_at(asio::steady_timer::time_point::min());
    });
  });
  if (!queued) co_return UnavailableError("the dead-letter manager is stopped");
  // Always wait, even when the result is already there: returning early could let the caller's
  // io_context run out of work and be destroyed before the worker's post() reaches it. The
  // posted expiry ends the wait (or makes it complete at once), so this costs one dispatch.
  co_await state->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(state->mutex);
  co_return std::move(*state->result);
}

void BlockingWorker::Drain() {
  if (thread_.get_id() == std::this_thread::get_id()) return;  // would wait for itself
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  if (!Post([done] { done->set_value(); })) return;
  finished.wait();
}

void BlockingWorker::Stop() {
  std::lock_guard stop_lock(stop_mutex_);  // concurrent callers all return once joined
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void BlockingWorker::Loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything queued has run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("dlq worker: a job threw: {}", e.what());
    } catch (...) {
      spdlog::error("dlq worker: a job threw an unknown exception");
    }
    job = nullptr;  // destroyed here, outside the lock
    lock.lock();
  }
}

}  // namespace shopflow::monitor
