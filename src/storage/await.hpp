#pragma once

#include <boost/asio/awaitable.hpp>

#include "storage/store.hpp"

namespace shopflow {

/// Both must be awaited from a coroutine whose executor serializes its handlers (a strand, or an
/// io_context run by one thread), as every HTTP connection's is.
///
/// Store::Write from a coroutine: suspends until the transaction committed or rolled back and
/// resumes on the coroutine's own executor (never on the store's writer thread).
boost::asio::awaitable<Result<void>> AwaitWrite(Store& store, WriteFn fn);
/// Store::Read from a coroutine, resuming on the coroutine's executor.
boost::asio::awaitable<Result<void>> AwaitRead(Store& store, ReadFn fn);

}  // namespace shopflow
