#include "storage/await.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace shopflow {
namespace asio = boost::asio;

namespace {

// The store calls back on its own thread. The coroutine waits on a timer of its own executor
// that the callback cancels through post(): the coroutine is always resumed on its executor,
// and no Asio handler object is ever touched or destroyed on the store's thread.
//
// A store that completes inside start() on the coroutine's own thread (SQLite reads run on the
// caller's thread) needs none of that: the result is taken as soon as start() returns, which
// saves a timer wait and a post per read (a GET's hot path).
struct Rendezvous {
  explicit Rendezvous(asio::any_io_executor executor) : executor(std::move(executor)) {}
  const asio::any_io_executor executor;  // the coroutine's (serial: a strand or one thread)
  // Made only when the store answers later: constructing a timer looks its service up under
  // the io_context's registry lock, a cost a GET's inline read has no use for.
  std::optional<asio::steady_timer> timer;
  std::mutex mutex;
  std::optional<Result<void>> result;
  const std::thread::id starter = std::this_thread::get_id();
  bool starting = true;      // start() has not returned yet
  bool done_inline = false;  // the callback ran inside start(), on the starter's thread
  bool woken = false;        // the callback's post has run
};

template <class Start>
asio::awaitable<Result<void>> Suspend(Start start) {
  auto state = std::make_shared<Rendezvous>(co_await asio::this_coro::executor);
  start([state](Result<void> result) mutable {
    {
      std::lock_guard lock(state->mutex);
      state->result = std::move(result);
      state->done_inline = state->starting && std::this_thread::get_id() == state->starter;
    }
    if (state->done_inline) {
      // Nothing to post: the coroutine is further up this very stack. Dropping this reference
      // leaves the coroutine's as the last one.
      state.reset();
      return;
    }
    // Runs on the coroutine's executor (serial: a strand or one thread, so the timer is never
    // touched concurrently). Moving the expiry into the past ends a pending wait and makes a
    // later one return at once; `woken` covers a timer not made yet. The state moves into the
    // posted function so the store's thread keeps no reference: the timer is always destroyed
    // on the coroutine's side, never after its io_context is gone.
    auto executor = state->executor;
    asio::post(executor, [state = std::move(state)] {
      std::lock_guard lock(state->mutex);
      state->woken = true;
      if (state->timer) state->timer->expires_at(asio::steady_timer::time_point::min());
    });
  });
  std::optional<Result<void>> inline_result;
  {
    std::lock_guard lock(state->mutex);
    state->starting = false;
    if (state->done_inline) {
      inline_result = std::move(state->result);
    } else {
      state->timer.emplace(state->executor, state->woken ? asio::steady_timer::time_point::min()
                                                         : asio::steady_timer::time_point::max());
    }
  }
  if (inline_result) co_return std::move(*inline_result);
  // Always wait, even when the result is already there: the store's post() is in flight and
  // must land before this coroutine (and possibly its io_context) is gone. The post moves the
  // expiry into the past (or has, and the timer was made expired), so this wait then completes
  // at once.
  co_await state->timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(state->mutex);
  co_return std::move(*state->result);
}

}  // namespace

asio::awaitable<Result<void>> AwaitWrite(Store& store, WriteFn fn) {
  return Suspend([&store, fn = std::move(fn)](DoneFn done) mutable {
    store.Write(std::move(fn), std::move(done));
  });
}

asio::awaitable<Result<void>> AwaitRead(Store& store, ReadFn fn) {
  return Suspend([&store, fn = std::move(fn)](DoneFn done) mutable {
    store.Read(std::move(fn), std::move(done));
  });
}

}  // namespace shopflow
