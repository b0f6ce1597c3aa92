#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/ids.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow::testing {

/// A SqliteStore file in a directory of its own under the test's temp directory; the directory
/// goes with this object, so declare it before anything holding the store.
class TempSqliteStore {
 public:
  explicit TempSqliteStore(std::string_view name)
      : dir_(std::filesystem::path(::testing::TempDir()) / (std::string(name) + "_" + NewId())) {}
  ~TempSqliteStore() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempSqliteStore(const TempSqliteStore&) = delete;
  TempSqliteStore& operator=(const TempSqliteStore&) = delete;

  /// The store with `collections`; null (and a test failure) when it cannot open.
  std::unique_ptr<SqliteStore> Open(std::vector<CollectionSpec> collections) {
    auto store = SqliteStore::Open(
        {.path = (dir_ / "store.db").string(), .collections = std::move(collections)});
    if (!store) {
      ADD_FAILURE() << store.error().message;
      return nullptr;
    }
    return std::move(*store);
  }

 private:
  const std::filesystem::path dir_;
};

}  // namespace shopflow::testing
