#include "storage/store.hpp"

#include <future>

namespace shopflow {

Result<void> WriteAndWait(Store& store, WriteFn fn) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  store.Write(std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<void> ReadAndWait(Store& store, ReadFn fn) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  store.Read(std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace shopflow
