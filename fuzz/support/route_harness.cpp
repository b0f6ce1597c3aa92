#include "fuzz/support/route_harness.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "core/ids.hpp"
#include "fuzz/support/fuzz_input.hpp"
#include "http/request_target.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace shopflow::fuzz {
namespace asio = boost::asio;

namespace {

std::vector<std::filesystem::path>& DirsToRemove() {
  static auto* dirs = new std::vector<std::filesystem::path>();
  return *dirs;
}

void RemoveDirs() {
  std::error_code ec;
  for (const auto& d : DirsToRemove()) std::filesystem::remove_all(d, ec);
}

}  // namespace

RouteHarness::RouteHarness(std::vector<CollectionSpec> collections) {
  dir_ = std::filesystem::temp_directory_path() /
         ("shopflow-fuzz-" + std::to_string(::getpid()) + "-" + NewId());
  std::filesystem::create_directories(dir_);
  if (DirsToRemove().empty()) std::atexit(RemoveDirs);
  DirsToRemove().push_back(dir_);
  SqliteStoreOptions options;
  options.path = (dir_ / "fuzz.db").string();
  options.collections = std::move(collections);
  auto store = SqliteStore::Open(std::move(options));
  if (!store) throw std::runtime_error("cannot open the fuzz store: " + store.error().message);
  store_ = std::move(*store);
}

RouteHarness::~RouteHarness() = default;

Store& RouteHarness::store() { return *store_; }

void RouteHarness::Add(std::vector<Route> routes) { router_.Add(std::move(routes)); }

ApiResponse RouteHarness::Call(std::string_view method, std::string_view target, std::string body,
                               std::string_view content_type) {
  ApiRequest request;
  request.method = std::string(method);
  request.headers = {{"content-type", std::string(content_type)}};
  request.body = std::move(body);
  request.correlation_id = "fuzz";
  request.client_address = "127.0.0.1";

  auto parsed = ParseRequestTarget(target);
  if (!parsed) return ErrorResponse(parsed.error());
  request.path = std::move(parsed->path);
  request.query = std::move(parsed->query);
  RouteMatch match = router_.MatchSegments(request.method, parsed->segments);
  if (match.kind != RouteMatch::Kind::kFound) {
    return ErrorResponse(NotFoundError("no route for " + request.method + " " + request.path));
  }
  request.path_params = std::move(match.path_params);

  // An exception escaping a handler is a bug (ARCHITECTURE.md principle 5); it propagates out
  // of io.run() below and libFuzzer reports the input.
  std::optional<ApiResponse> answer;
  std::exception_ptr thrown;
  const ApiHandler& handler = *match.handler;
  auto run = [&]() -> asio::awaitable<void> { answer = co_await handler(request); };
  asio::co_spawn(io_, run, [&thrown](std::exception_ptr e) { thrown = e; });
  io_.restart();
  io_.run();
  if (thrown) std::rethrow_exception(thrown);
  Check(answer.has_value(), "the handler never finished", target);
  // SHOPFLOW_FUZZ_TRACE=1 prints every call: to see what the seeds reach (fuzz_x -runs=0 dir).
  static const bool trace = std::getenv("SHOPFLOW_FUZZ_TRACE") != nullptr;
  if (trace) {
    std::fprintf(stderr, "%s %.*s -> %d %s\n", request.method.c_str(),
                 static_cast<int>(target.size()), target.data(), answer->status,
                 ToJsonText(answer->body).substr(0, 300).c_str());
  }
  return std::move(*answer);
}

void RouteHarness::FuzzOne(std::span<const Endpoint> endpoints, const uint8_t* data, size_t size,
                           const std::function<std::string(std::string_view)>& prepare) {
  const auto [choice, payload] = Select(data, size, endpoints.size());
  const Endpoint& endpoint = endpoints[choice];
  std::string input = prepare ? prepare(payload) : std::string(payload);
  const ApiResponse answer = endpoint.in_query
                                 ? Call(endpoint.method, endpoint.target + input, "")
                                 : Call(endpoint.method, endpoint.target, std::move(input));
  CheckAnswer(answer, payload);
}

}  // namespace shopflow::fuzz
