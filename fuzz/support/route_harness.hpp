#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "http/router.hpp"
#include "storage/store.hpp"

namespace shopflow {
class SqliteStore;
}

namespace shopflow::fuzz {

/// Drives route handlers the way the HTTP server does, without sockets: the target is parsed and
/// percent-decoded (ParseRequestTarget), matched by the Router, and the handler runs as a
/// coroutine on an io_context this thread runs. The store is a real SqliteStore in a fresh
/// temporary directory, removed at exit.
///
/// One harness lives for the whole fuzzing process (state accumulates, as in a server); it is
/// deliberately never destroyed: libFuzzer ends with exit(), and tearing down a store whose
/// writer thread may still run then is a shutdown-order problem of the harness, not of shopflow.
class RouteHarness {
 public:
  explicit RouteHarness(std::vector<CollectionSpec> collections);
  ~RouteHarness();
  RouteHarness(const RouteHarness&) = delete;
  RouteHarness& operator=(const RouteHarness&) = delete;

  Store& store();
  void Add(std::vector<Route> routes);

  /// method + origin-form target + body, with Content-Type application/json (or `content_type`).
  ApiResponse Call(std::string_view method, std::string_view target, std::string body,
                   std::string_view content_type = "application/json");

  /// An endpoint a fuzz input is sent to: as the body, or (in_query) as the query string.
  struct Endpoint {
    std::string method;
    std::string target;
    bool in_query = false;
  };
  /// One round of an API fuzz target: the input's first byte picks one of `endpoints` (Select),
  /// the rest, through `prepare` when given, is sent there, and the answer must be a well-formed
  /// API answer for that input (CheckAnswer).
  void FuzzOne(std::span<const Endpoint> endpoints, const uint8_t* data, size_t size,
               const std::function<std::string(std::string_view)>& prepare = {});

 private:
  std::filesystem::path dir_;
  // Declared before the store: the store's callbacks post to it, so it must outlive the store
  // (storage/await.cpp).
  boost::asio::io_context io_;
  std::unique_ptr<SqliteStore> store_;
  Router router_;
};

}  // namespace shopflow::fuzz
