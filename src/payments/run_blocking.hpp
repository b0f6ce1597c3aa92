#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <optional>
#include <utility>

namespace shopflow::payments {

/// Runs the coroutine `make()` to completion on a private io_context driven by the calling
/// thread and returns its value; an exception escaping the coroutine is rethrown here. For
/// threads that may block (bus handlers, the worker, start-up, tests), never for an I/O thread.
template <class Make>
auto RunBlocking(Make make) -> typename decltype(make())::value_type {
  using T = typename decltype(make())::value_type;
  boost::asio::io_context context(1);
  // co_spawn default-constructs the value when the coroutine throws; std::optional makes that
  // possible for value types without a default constructor (Result<T>).
  auto future = boost::asio::co_spawn(
      context, [&make]() -> boost::asio::awaitable<std::optional<T>> { co_return co_await make(); },
      boost::asio::use_future);
  context.run();
  return std::move(*future.get());
}

}  // namespace shopflow::payments
