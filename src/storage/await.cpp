#include "storage/await.hpp"

#include <memory>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shopflow {
namespace asio = boost::asio;

namespace {

template <class Start>
asio::awaitable<Result<void>> Suspend(Start start) {
  auto executor = co_await asio::this_coro::executor;
  // The completion handler is resumed through post() on the coroutine's executor, so the
  // store's thread never runs coroutine code and an inline `done` does not recurse.
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<void>)>(
      [start = std::move(start), executor](auto handler) mutable {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared, executor](Result<void> result) mutable {
          asio::post(executor, [shared, result = std::move(result)]() mutable {
            (*shared)(std::move(result));
          });
        });
      },
      asio::use_awaitable);
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
