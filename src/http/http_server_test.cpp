#include "http/http_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "http/socket_options.hpp"
#include "tests/support/http_client.hpp"

namespace shopflow {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::HttpClient;
using testing::HttpResult;
using ::testing::Not;
using testing::RawExchange;
using ::testing::StartsWith;

/// Holds handler coroutines suspended until the test opens it: lets tests create "a request in
/// flight" deterministically, without sleeping. Thread-safe.
class Gate {
 public:
  /// Suspends the calling coroutine until Open() (or a 30 s safety limit).
  asio::awaitable<void> Wait() {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, 30s);
    auto waiter = std::make_shared<Waiter>(Waiter{&timer, executor});
    {
      std::lock_guard lock(mutex_);
      if (open_) co_return;
      waiters_.push_back(waiter);
      ++entered_;
    }
    entered_changed_.notify_all();
    // Unregisters even if the frame is destroyed while suspended (server stopped past grace).
    struct Leave {
      Gate* gate;
      std::shared_ptr<Waiter> waiter;
      ~Leave() {
        std::lock_guard lock(gate->mutex_);
        waiter->timer = nullptr;
        gate->waiters_.remove(waiter);
      }
    } leave{this, waiter};
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  /// Releases every waiter, present and future.
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    for (const auto& waiter : waiters_) {
      // The timer lives on the waiter's strand: cancel it there.
      asio::post(waiter->executor, [this, waiter] {
        std::lock_guard inner(mutex_);
        if (waiter->timer != nullptr) waiter->timer->cancel();
      });
    }
  }

  /// Blocks until `count` coroutines have entered Wait() in total, or the deadline passes.
  bool WaitForEntered(int count, std::chrono::milliseconds within = 10s) {
    std::unique_lock lock(mutex_);
    return entered_changed_.wait_for(lock, within, [&] { return entered_ >= count; });
  }

 private:
  struct Waiter {
    asio::steady_timer* timer;
    asio::any_io_executor executor;
  };

  std::mutex mutex_;
  std::condition_variable entered_changed_;
  std::list<std::shared_ptr<Waiter>> waiters_;
  bool open_ = false;
  int entered_ = 0;
};

/// Opens the gate when a test leaves early, so that nothing waits on a closed gate.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.Open(); }
};

std::string ErrorCodeOf(const HttpResult& result) {
  auto json = result.Json();
  if (!json.is_object() || !json.as_object().contains("error")) return "<no error body>";
  return std::string(json.at("error").at("code").as_string());
}

std::string ErrorMessage(const HttpResult& result) {
  auto json = result.Json();
  if (!json.is_object() || !json.as_object().contains("error")) return "<no error body>";
  return std::string(json.at("error").at("message").as_string());
}

// A string member of a JSON object, or a marker that makes the comparison fail readably.
std::string Str(const json::value& object, std::string_view key) {
  if (!object.is_object()) return "<not an object>";
  const json::value* member = object.as_object().if_contains(key);
  if (member == nullptr || !member->is_string()) return "<no string " + std::string(key) + ">";
  return std::string(member->as_string());
}

// Polls a condition that no event announces, with a deadline (and without sleeping).
template <class Predicate>
bool WaitUntil(Predicate predicate, std::chrono::milliseconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

constexpr const char* kJsonType = "application/json; charset=utf-8";

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    gate_.Open();
    server_.reset();
  }

  void StartServer(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(std::move(options), Routes());
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    ASSERT_GT(port_, 0);
    ASSERT_EQ(server_->port(), port_);
  }

  HttpClient Client() const { return HttpClient("127.0.0.1", port_); }

  std::vector<Route> Routes() {
    std::vector<Route> routes;
    routes.push_back({"GET", "/api/items/special", [](ApiRequest&) -> asio::awaitable<ApiResponse> {
                        co_return JsonResponse(200, json::object{{"route", "special"}});
                      }});
    routes.push_back(
        {"GET", "/api/items/:id", [](ApiRequest& request) -> asio::awaitable<ApiResponse> {
           json::array query;
           for (const auto& [name, value] : request.query) {
             query.push_back(json::array{json::string(name), json::string(value)});
           }
           co_return JsonResponse(200, json::object{
                                           {"route", "item"},
                                           {"id", request.Param("id")},
                                           {"method", request.method},
                                           {"path", request.path},
                                           {"query", std::move(query)},
                                           {"correlationId", request.correlation_id},
                                           {"clientAddress", request.client_address},
                                           {"userAgent", request.Header("user-agent").value_or("")},
                                       });
         }});
    routes.push_back(
        {"DELETE", "/api/items/:id", [](ApiRequest& request) -> asio::awaitable<ApiResponse> {
           co_return JsonResponse(200, json::object{{"deleted", request.Param("id")}});
         }});
    routes.push_back(
        {"POST", "/api/items", [](ApiRequest& request) -> asio::awaitable<ApiResponse> {
           auto body = JsonObjectBody(request);
           if (!body) co_return ErrorResponse(body.error());
           co_return JsonResponse(201, json::object{{"received", std::move(*body)}});
         }});
    routes.push_back({"GET", "/api/boom", [](ApiRequest&) -> asio::awaitable<ApiResponse> {
                        throw std::runtime_error("secret detail of a bug");
                        co_return ApiResponse{};
                      }});
    routes.push_back({"GET", "/api/slow", [this](ApiRequest&) -> asio::awaitable<ApiResponse> {
                        co_await gate_.Wait();
                        co_return JsonResponse(200, json::object{{"slow", "done"}});
                      }});
    routes.push_back({"GET", "/api/text", [](ApiRequest&) -> asio::awaitable<ApiResponse> {
                        ApiResponse response;
                        response.raw_body = "hello, text";
                        response.content_type = "text/plain; charset=utf-8";
                        response.headers = {{"Cache-Control", "no-store"},
                                            {"Vary", "Accept"},
                                            {"Vary", "Origin"},
                                            {"X-Evil", "a\r\nInjected: yes"},
                                            {"Content-Length", "999"}};
                        co_return response;
                      }});
    routes.push_back({"GET", "/api/empty", [](ApiRequest&) -> asio::awaitable<ApiResponse> {
                        co_return JsonResponse(204, nullptr);
                      }});
    return routes;
  }

  Gate gate_;  // outlives the server: handlers reference it
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST(AcceptedSocket, SendsSmallWritesAtOnce) {
  // A connected pair on loopback: the accepted side is what the server tunes.
  namespace asio = boost::asio;
  using asio::ip::tcp;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted = acceptor.accept();
  tcp::no_delay before;
  accepted.get_option(before);
  ASSERT_FALSE(before.value());  // the kernel's default, which the server must not keep
  http_internal::TuneAcceptedSocket(accepted);
  tcp::no_delay after;
  accepted.get_option(after);
  EXPECT_TRUE(after.value());
}

TEST_F(HttpServerTest, HandlerReceivesDecodedPathParamsAndQuery) {
  StartServer();
  auto client = Client();
  auto result = client.Get("/api/items/a%20b%2Fc?x=1&name=jane%20doe&x=2&q=a+b",
                           {{"User-Agent", "unit-test"}});
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(result.Header("content-type"), kJsonType);
  EXPECT_EQ(result.Header("server"), "shopflow");
  EXPECT_EQ(result.Header("content-length"), std::to_string(result.body.size()));
  auto body = result.Json();
  EXPECT_EQ(Str(body, "route"), "item");
  EXPECT_EQ(Str(body, "id"), "a b/c");
  EXPECT_EQ(Str(body, "method"), "GET");
  EXPECT_EQ(Str(body, "path"), "/api/items/a b/c");
  EXPECT_EQ(body.at("query"),
            json::parse(R"([["x","1"],["name","jane doe"],["x","2"],["q","a b"]])"));
  EXPECT_EQ(Str(body, "clientAddress"), "127.0.0.1");
  EXPECT_EQ(Str(body, "userAgent"), "unit-test");
}

TEST_F(HttpServerTest, LiteralRouteBeatsParamRoute) {
  StartServer();
  auto client = Client();
  EXPECT_EQ(Str(client.Get("/api/items/special").Json(), "route"), "special");
  EXPECT_EQ(Str(client.Get("/api/items/other").Json(), "route"), "item");
  // The literal route has no DELETE: the parameter route takes it.
  EXPECT_EQ(Str(client.Delete("/api/items/special").Json(), "deleted"), "special");
}

TEST_F(HttpServerTest, TrailingSlashRoutesLikeWithout) {
  StartServer();
  auto result = Client().Get("/api/items/7/");
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(Str(result.Json(), "id"), "7");
}

TEST_F(HttpServerTest, UnknownPathIs404Json) {
  StartServer();
  auto result = Client().Get("/api/nothing/here?x=1");
  EXPECT_EQ(result.status, 404);
  EXPECT_EQ(result.Header("content-type"), kJsonType);
  EXPECT_EQ(ErrorCodeOf(result), "not_found");
  EXPECT_THAT(ErrorMessage(result), HasSubstr("/api/nothing/here"));
  EXPECT_TRUE(result.Json().at("error").at("details").is_array());
  EXPECT_FALSE(result.Header("x-correlation-id").empty());
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllowHeader) {
  StartServer();
  auto result =
      Client().Request("PATCH", "/api/items/7", "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(result.status, 405);
  EXPECT_EQ(ErrorCodeOf(result), "method_not_allowed");
  EXPECT_EQ(result.Header("allow"), "DELETE, GET, HEAD");
}

TEST_F(HttpServerTest, MalformedTargetIs400ValidationFailed) {
  StartServer();
  auto result = Client().Get("/api/items/%zz");
  EXPECT_EQ(result.status, 400);
  EXPECT_EQ(ErrorCodeOf(result), "validation_failed");
}

TEST_F(HttpServerTest, JsonBodyReachesHandler) {
  StartServer();
  auto result = Client().Post("/api/items", json::object{{"name", "pen"}, {"stock", 3}});
  ASSERT_EQ(result.status, 201) << result.body;
  EXPECT_EQ(result.Json().at("received"), json::parse(R"({"name":"pen","stock":3})"));
}

TEST_F(HttpServerTest, MalformedJsonBodyIs400MalformedJson) {
  StartServer();
  auto result =
      Client().Request("POST", "/api/items", "{\"name\": ", {{"Content-Type", "application/json"}});
  EXPECT_EQ(result.status, 400);
  EXPECT_EQ(ErrorCodeOf(result), "malformed_json");
}

TEST_F(HttpServerTest, NonJsonContentTypeIs415) {
  StartServer();
  auto result =
      Client().Request("POST", "/api/items", "name=pen", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(result.status, 415);
  EXPECT_EQ(ErrorCodeOf(result), "unsupported_media_type");
}

TEST_F(HttpServerTest, OversizedBodyIs413AndTheServerKeepsServing) {
  StartServer();
  auto client = Client();
  auto result = client.Request("POST", "/api/items", std::string(10 << 20, 'x'),
                               {{"Content-Type", "application/json"}});
  EXPECT_EQ(result.status, 413);
  EXPECT_EQ(result.Header("content-type"), kJsonType);
  EXPECT_EQ(ErrorCodeOf(result), "payload_too_large");
  EXPECT_EQ(result.Header("connection"), "close");

  auto fresh = Client().Post("/api/items", json::object{{"ok", true}});
  EXPECT_EQ(fresh.status, 201);
  // The first client reconnects by itself.
  EXPECT_EQ(client.Get("/api/items/1").status, 200);
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  auto small =
      Client().Request("POST", "/api/items", R"({"a":1})",
                       {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(small.status, 201) << small.body;

  auto result =
      Client().Request("POST", "/api/items", std::string(2 << 20, 'x'),
                       {{"Content-Type", "application/json"}, {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(result.status, 413);
  EXPECT_EQ(ErrorCodeOf(result), "payload_too_large");
  EXPECT_EQ(Client().Get("/api/items/1").status, 200);
}

TEST_F(HttpServerTest, HugeHeaderIs413) {
  StartServer();
  auto result = Client().Get("/api/items/1", {{"X-Huge", std::string(32 << 10, 'h')}});
  EXPECT_EQ(result.status, 413);
  EXPECT_EQ(ErrorCodeOf(result), "payload_too_large");
  EXPECT_EQ(Client().Get("/api/items/1").status, 200);
}

TEST_F(HttpServerTest, GarbageBytesAreRejectedAndTheServerKeepsServing) {
  StartServer();
  std::string answer = RawExchange("127.0.0.1", port_, "NOT HTTP\r\n\r\n");
  if (!answer.empty()) {
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 400"));
    EXPECT_THAT(answer, HasSubstr("validation_failed"));
  }
  std::string binary("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);  // a TLS hello
  RawExchange("127.0.0.1", port_, binary);
  EXPECT_EQ(Client().Get("/api/items/1").status, 200);
}

TEST_F(HttpServerTest, CorrelationIdIsEchoedWhenGiven) {
  StartServer();
  auto result = Client().Get("/api/items/1", {{"X-Correlation-Id", "req-42.abc"}});
  EXPECT_EQ(result.Header("x-correlation-id"), "req-42.abc");
  EXPECT_EQ(Str(result.Json(), "correlationId"), "req-42.abc");
}

TEST_F(HttpServerTest, CorrelationIdIsGeneratedWhenAbsentOrInvalid) {
  StartServer();
  auto client = Client();
  auto absent = client.Get("/api/items/1");
  EXPECT_TRUE(IsWellFormedId(absent.Header("x-correlation-id")))
      << absent.Header("x-correlation-id");
  EXPECT_EQ(Str(absent.Json(), "correlationId"), absent.Header("x-correlation-id"));

  for (const std::string& bad : {std::string("has space"), std::string(129, 'a')}) {
    auto replaced = client.Get("/api/items/1", {{"X-Correlation-Id", bad}});
    EXPECT_TRUE(IsWellFormedId(replaced.Header("x-correlation-id")));
    EXPECT_NE(replaced.Header("x-correlation-id"), bad);
  }
  // Answers the server produces itself carry one too.
  EXPECT_EQ(client.Get("/nope", {{"X-Correlation-Id", "mine"}}).Header("x-correlation-id"), "mine");
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndTheServerStaysUp) {
  StartServer();
  auto client = Client();
  auto result = client.Get("/api/boom");
  EXPECT_EQ(result.status, 500);
  EXPECT_EQ(ErrorCodeOf(result), "internal");
  EXPECT_THAT(result.body, Not(HasSubstr("secret")));
  EXPECT_EQ(client.Get("/api/items/1").status, 200);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  auto client = Client();
  for (int i = 0; i < 5; ++i) {
    auto result = client.Get("/api/items/" + std::to_string(i));
    ASSERT_EQ(result.status, 200);
    EXPECT_EQ(Str(result.Json(), "id"), std::to_string(i));
    EXPECT_NE(result.Header("connection"), "close");
  }
  EXPECT_EQ(client.Post("/api/items", json::object{}).status, 201);
  EXPECT_EQ(client.Get("/api/nothing").status, 404);
  EXPECT_EQ(client.Get("/api/items/9").status, 200);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(HttpServerTest, Http10KeepsAliveOnlyWhenAsked) {
  StartServer();
  std::string pipelined =
      "GET /api/items/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
      "GET /api/items/2 HTTP/1.0\r\n\r\n";
  std::string answer = RawExchange("127.0.0.1", port_, pipelined);
  // Both answered, then the server closed (RawExchange returned on close, not by timeout:
  // otherwise the second answer would be missing or a third request pending).
  EXPECT_THAT(answer, StartsWith("HTTP/1.0 200"));
  size_t second = answer.find("HTTP/1.0 200", 1);
  ASSERT_NE(second, std::string::npos) << answer;
  EXPECT_THAT(answer.substr(0, second), HasSubstr("\"id\":\"1\""));
  EXPECT_THAT(answer.substr(second), HasSubstr("\"id\":\"2\""));
}

TEST_F(HttpServerTest, ExpectContinueIsAnswered) {
  StartServer();
  std::string answer = RawExchange(
      "127.0.0.1", port_,
      "POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 7\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{\"a\":1}");
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201"));
}

TEST_F(HttpServerTest, HeadAnswersHeadersWithoutBody) {
  StartServer();
  auto client = Client();
  auto get = client.Get("/api/items/special");
  auto head = client.Request("HEAD", "/api/items/special");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.Header("content-length"), std::to_string(get.body.size()));
  EXPECT_EQ(client.Get("/api/items/1").status, 200);  // the connection is still in sync
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(HttpServerTest, RawBodyWithItsContentTypeAndSafeExtraHeaders) {
  StartServer();
  auto client = Client();
  auto result = client.Get("/api/text");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "hello, text");
  EXPECT_EQ(result.Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(result.Header("cache-control"), "no-store");
  EXPECT_EQ(result.Header("content-length"), "11");
  EXPECT_FALSE(result.HasHeader("x-evil"));
  EXPECT_FALSE(result.HasHeader("injected"));
  int vary = 0;
  for (const auto& [name, value] : result.headers) vary += name == "vary";
  EXPECT_EQ(vary, 2);

  auto empty = client.Get("/api/empty");
  EXPECT_EQ(empty.status, 204);
  EXPECT_TRUE(empty.body.empty());
  EXPECT_EQ(client.Get("/api/items/1").status, 200);
}

TEST_F(HttpServerTest, FallbackServesUnmatchedPaths) {
  server_ = std::make_unique<HttpServer>(HttpServerOptions{}, Routes());
  server_->AddRoutes({{"GET", "/healthz", [](ApiRequest&) -> asio::awaitable<ApiResponse> {
                         ApiResponse response;
                         response.raw_body = "ok";
                         response.content_type = "text/plain";
                         co_return response;
                       }}});
  server_->SetFallback([](ApiRequest& request) -> asio::awaitable<ApiResponse> {
    ApiResponse response;
    response.raw_body = "static:" + request.path;
    response.content_type = "text/html";
    co_return response;
  });
  auto port = server_->Start();
  ASSERT_TRUE(port.ok());
  port_ = *port;
  auto client = Client();
  EXPECT_EQ(client.Get("/healthz").body, "ok");
  auto page = client.Get("/index.html");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "static:/index.html");
  EXPECT_EQ(page.Header("content-type"), "text/html");
  EXPECT_EQ(client.Request("PUT", "/api/items/1").status, 405);  // known path: no fallback

  EXPECT_THROW(server_->AddRoutes({}), std::logic_error);
  EXPECT_THROW(server_->SetFallback(nullptr), std::logic_error);
  EXPECT_THROW((void)server_->Start(), std::logic_error);
}

TEST_F(HttpServerTest, SuspendedHandlerDoesNotBlockOtherConnections) {
  HttpServerOptions options;
  options.threads = 1;
  StartServer(options);
  auto slow = std::async(std::launch::async,
                         [port = port_] { return HttpClient("127.0.0.1", port).Get("/api/slow"); });
  OpenOnExit open_on_exit{gate_};
  ASSERT_TRUE(gate_.WaitForEntered(1));

  auto other = Client();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(other.Get("/api/items/1").status, 200);
  EXPECT_EQ(Client().Post("/api/items", json::object{}).status, 201);
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout) << "the slow request is in flight";

  gate_.Open();
  auto result = slow.get();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(Str(result.Json(), "slow"), "done");
}

// With several I/O threads every connection runs on a strand of its own (with one, on the
// io_context itself): connections are served in parallel, each one's requests in order.
TEST_F(HttpServerTest, SeveralIoThreadsServeManyKeepAliveConnections) {
  HttpServerOptions options;
  options.threads = 4;
  StartServer(options);
  auto slow = std::async(std::launch::async,
                         [port = port_] { return HttpClient("127.0.0.1", port).Get("/api/slow"); });
  OpenOnExit open_on_exit{gate_};
  ASSERT_TRUE(gate_.WaitForEntered(1));

  std::vector<std::future<int>> clients;
  for (int c = 0; c < 6; ++c) {
    clients.push_back(std::async(std::launch::async, [port = port_, c] {
      HttpClient client("127.0.0.1", port);
      int answered = 0;
      for (int i = 0; i < 40; ++i) {
        const std::string id = std::to_string(c) + "-" + std::to_string(i);
        auto result = client.Get("/api/items/" + id);
        if (result.status == 200 && Str(result.Json(), "id") == id) ++answered;
      }
      return client.connections_opened() == 1 ? answered : -1;
    }));
  }
  for (auto& client : clients) EXPECT_EQ(client.get(), 40);
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout) << "the slow request is in flight";
  gate_.Open();
  EXPECT_EQ(slow.get().status, 200);
}

TEST_F(HttpServerTest, StopLetsAnInFlightRequestFinishAndIsIdempotent) {
  HttpServerOptions options;
  options.shutdown_grace = 30s;
  StartServer(options);
  auto slow = std::async(std::launch::async,
                         [port = port_] { return HttpClient("127.0.0.1", port).Get("/api/slow"); });
  OpenOnExit open_on_exit{gate_};
  ASSERT_TRUE(gate_.WaitForEntered(1));

  auto stopping = std::async(std::launch::async, [this] { server_->Stop(); });
  ASSERT_TRUE(WaitUntil([&] { return server_->stopping(); }));
  // Stop() waits for the handler, which cannot finish before the gate opens.
  EXPECT_EQ(stopping.wait_for(0s), std::future_status::timeout);
  gate_.Open();
  auto result = slow.get();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(Str(result.Json(), "slow"), "done");
  EXPECT_EQ(result.Header("connection"), "close");
  stopping.get();

  server_->Stop();
  server_->Stop();
  EXPECT_THROW(Client().Get("/api/items/1"), std::runtime_error);  // nothing listens
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnectionsAtOnce) {
  HttpServerOptions options;
  options.shutdown_grace = 60s;
  StartServer(options);
  auto client = Client();
  ASSERT_EQ(client.Get("/api/items/1").status, 200);  // the connection stays open, idle

  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s) << "Stop() waited for an idle "
                                                                "connection";
  EXPECT_THROW(client.Get("/api/items/1"), std::runtime_error);
}

TEST_F(HttpServerTest, StopCutsOffHandlersStillRunningAfterTheGrace) {
  HttpServerOptions options;
  options.shutdown_grace = 100ms;
  StartServer(options);
  auto slow = std::async(std::launch::async,
                         [port = port_] { return HttpClient("127.0.0.1", port).Get("/api/slow"); });
  OpenOnExit open_on_exit{gate_};
  ASSERT_TRUE(gate_.WaitForEntered(1));

  server_->Stop();  // returns after the grace although the handler is suspended
  EXPECT_THROW(slow.get(), std::runtime_error);
}

/// What the on_request observer saw. Thread-safe; shared with the observer so that it
/// outlives the server.
class RequestLog {
 public:
  void Add(const HttpRequestRecord& record) {
    {
      std::lock_guard lock(mutex_);
      records_.push_back(record);
    }
    added_.notify_all();
  }
  /// Waits until `count` records arrived (they are reported after the answer is written, so
  /// possibly after the client read it); returns them.
  std::vector<HttpRequestRecord> WaitFor(size_t count, std::chrono::milliseconds within = 10s) {
    std::unique_lock lock(mutex_);
    added_.wait_for(lock, within, [&] { return records_.size() >= count; });
    return records_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable added_;
  std::vector<HttpRequestRecord> records_;
};

TEST_F(HttpServerTest, RequestObserverSeesMethodRouteStatusAndSize) {
  auto log = std::make_shared<RequestLog>();
  HttpServerOptions options;
  options.on_request = [log](const HttpRequestRecord& record) { log->Add(record); };
  StartServer(options);
  auto client = Client();
  ASSERT_EQ(client.Get("/api/items/7?x=1").status, 200);
  ASSERT_EQ(client.Get("/api/nothing/here").status, 404);
  ASSERT_EQ(
      client.Request("PATCH", "/api/items/7", "{}", {{"Content-Type", "application/json"}}).status,
      405);
  ASSERT_EQ(client.Post("/api/items", json::object{{"a", 1}}).status, 201);
  ASSERT_EQ(client.Get("/api/items/%zz").status, 400);

  // One connection, so the records come in request order.
  auto records = log->WaitFor(5);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].route, "/api/items/:id");
  EXPECT_EQ(records[0].status, 200);
  EXPECT_GT(records[0].duration_seconds, 0);
  EXPECT_LT(records[0].duration_seconds, 30);
  EXPECT_GT(records[0].response_bytes, 100u);
  EXPECT_EQ(records[1].method, "GET");
  EXPECT_EQ(records[1].route, "unmatched");
  EXPECT_EQ(records[1].status, 404);
  EXPECT_EQ(records[2].method, "PATCH");
  EXPECT_EQ(records[2].route, "unmatched");
  EXPECT_EQ(records[2].status, 405);
  EXPECT_EQ(records[2].request_body_bytes, 2u);
  EXPECT_EQ(records[3].method, "POST");
  EXPECT_EQ(records[3].route, "/api/items");
  EXPECT_EQ(records[3].status, 201);
  EXPECT_EQ(records[3].request_body_bytes, 7u);  // {"a":1}
  EXPECT_EQ(records[4].route, "unmatched");
  EXPECT_EQ(records[4].status, 400);
}

TEST_F(HttpServerTest, RequestObserverSeesRejectedAndFallbackRequests) {
  auto log = std::make_shared<RequestLog>();
  HttpServerOptions options;
  options.max_body_bytes = 100;
  options.on_request = [log](const HttpRequestRecord& record) { log->Add(record); };
  server_ = std::make_unique<HttpServer>(options, Routes());
  server_->SetFallback([](ApiRequest&) -> asio::awaitable<ApiResponse> {
    co_return JsonResponse(200, json::object{{"static", true}});
  });
  auto port = server_->Start();
  ASSERT_TRUE(port.ok());
  port_ = *port;

  EXPECT_EQ(Client().Get("/index.html").status, 200);
  auto records = log->WaitFor(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].route, "fallback");

  EXPECT_EQ(Client()
                .Request("POST", "/api/items", std::string(1000, 'x'),
                         {{"Content-Type", "application/json"}})
                .status,
            413);
  records = log->WaitFor(2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].method, "POST");
  EXPECT_EQ(records[1].route, "unmatched");
  EXPECT_EQ(records[1].status, 413);
}

TEST_F(HttpServerTest, RequestObserverThatThrowsDoesNotHurtTheServer) {
  std::atomic<int> calls{0};
  HttpServerOptions options;
  options.on_request = [&calls](const HttpRequestRecord&) {
    ++calls;
    throw std::runtime_error("observer bug");
  };
  StartServer(options);
  auto client = Client();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Get("/api/items/1").status, 200);
  EXPECT_EQ(client.connections_opened(), 1);
  EXPECT_TRUE(WaitUntil([&] { return calls.load() == 3; }));
  server_->Stop();  // before `calls` goes out of scope
}

TEST_F(HttpServerTest, BindingAPortInUseIsAnErrorValue) {
  StartServer();
  HttpServerOptions options;
  options.port = port_;
  HttpServer second(options, {});
  auto result = second.Start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(result.error().message,
              StartsWith("cannot listen on 127.0.0.1:" + std::to_string(port_) + ": "));
  second.Stop();  // a no-op, as is the destructor
  EXPECT_EQ(Client().Get("/api/items/1").status, 200);
}

TEST_F(HttpServerTest, AddressNotOnThisMachineIsAnErrorValue) {
  HttpServerOptions options;
  options.host = "192.0.2.1";  // TEST-NET-1 (RFC 5737): never a local address
  HttpServer server(options, {});
  auto result = server.Start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(result.error().message, StartsWith("cannot listen on 192.0.2.1:0: "));
}

TEST_F(HttpServerTest, DuplicateRoutesAreRejectedAtConstruction) {
  std::vector<Route> routes = Routes();
  routes.push_back(routes.front());
  EXPECT_THROW(HttpServer(HttpServerOptions{}, routes), std::invalid_argument);
}

}  // namespace
}  // namespace shopflow
