#include "http/websocket_hub.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/http_server.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ws_client.hpp"

namespace shopflow {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::HttpClient;
using testing::RawExchange;
using ::testing::StartsWith;
using testing::WsClient;
using testing::WsClientOptions;

using Frame = WebSocketHub::Frame;

Frame MakeFrame(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

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

/// What the server's on_request observer saw. Thread-safe.
class RequestLog {
 public:
  void Add(const HttpRequestRecord& record) {
    std::lock_guard lock(mutex_);
    records_.push_back(record);
  }
  std::vector<HttpRequestRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<HttpRequestRecord> records_;
};

class WebSocketHubTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->Stop();
  }

  void StartServer(WebSocketHubOptions hub_options = {}, HttpServerOptions options = {}) {
    hub_ = std::make_unique<WebSocketHub>(hub_options);
    options.on_request = [log = log_](const HttpRequestRecord& record) { log->Add(record); };
    std::vector<Route> routes;
    routes.push_back({"GET", "/api/ping", [](ApiRequest&) -> boost::asio::awaitable<ApiResponse> {
                        co_return JsonResponse(200, json::object{{"pong", true}});
                      }});
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(routes));
    server_->AddWebSocket(*hub_, "/ws");
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }

  WsClient Connect(WsClientOptions options = {}) { return WsClient("127.0.0.1", port_, options); }

  WsClient ConnectNonReading() {
    WsClientOptions options;
    options.receive_buffer_bytes = 4096;
    return Connect(options);
  }

  bool WaitForClients(size_t count) {
    return WaitUntil([&] { return hub_->client_count() == count; });
  }

  std::shared_ptr<RequestLog> log_ = std::make_shared<RequestLog>();
  std::unique_ptr<WebSocketHub> hub_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(WebSocketHubTest, BroadcastReachesEveryClientInOrder) {
  StartServer();
  std::vector<WsClient> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect());
  ASSERT_TRUE(WaitForClients(3));

  for (int i = 0; i < 50; ++i) hub_->Broadcast(MakeFrame("frame-" + std::to_string(i)));
  for (auto& client : clients) {
    for (int i = 0; i < 50; ++i) {
      auto message = client.Read();
      ASSERT_TRUE(message.has_value()) << "frame " << i;
      EXPECT_EQ(*message, "frame-" + std::to_string(i));
    }
  }
  const WebSocketHubStats stats = hub_->Stats();
  EXPECT_EQ(stats.clients, 3u);
  EXPECT_EQ(stats.accepted, 3u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.frames_broadcast, 50u);
}

TEST_F(WebSocketHubTest, EveryClientGetsTheBytesOfTheOneSharedFrame) {
  StartServer();
  std::vector<WsClient> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect());
  ASSERT_TRUE(WaitForClients(3));

  auto frame =
      MakeFrame(R"({"type":"message_flow","data":{"note":")" + std::string(5000, 'n') + R"("}})");
  hub_->Broadcast(frame);
  for (auto& client : clients) {
    auto message = client.Read();
    ASSERT_TRUE(message.has_value());
    EXPECT_EQ(*message, *frame);
  }
  // The hub held references to the caller's buffer (no per-client copy) and let go of them
  // once written.
  EXPECT_TRUE(WaitUntil([&] { return frame.use_count() == 1; })) << frame.use_count();
}

TEST_F(WebSocketHubTest, ATopicalFrameIsBuiltOnceAndOnlyWhenSomeClientWantsIt) {
  StartServer();
  hub_->SetInterestParser([](std::string_view target) -> Result<WebSocketHub::Interest> {
    if (!target.ends_with("?topic=a")) return WebSocketHub::Interest{};  // everything
    return WebSocketHub::Interest([](std::string_view topic) { return topic == "a"; });
  });
  WsClientOptions only_a;
  only_a.target = "/ws?topic=a";
  std::vector<WsClient> clients;
  clients.push_back(Connect(only_a));
  clients.push_back(Connect(only_a));
  ASSERT_TRUE(WaitForClients(2));
  int built = 0;
  auto maker = [&](std::string text) {
    return [&built, text] {
      ++built;
      return MakeFrame(text);
    };
  };

  hub_->Broadcast("b", maker("b-1"));  // nobody wants b
  EXPECT_EQ(built, 0);
  hub_->Broadcast("a", maker("a-1"));  // two clients, one frame
  EXPECT_EQ(built, 1);
  clients.push_back(Connect());  // wants everything
  ASSERT_TRUE(WaitForClients(3));
  hub_->Broadcast("b", maker("b-2"));
  EXPECT_EQ(built, 2);
  hub_->Broadcast("a", [] { return Frame{}; });  // a maker may decline: nothing sent
  hub_->Broadcast(MakeFrame("end"));

  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(clients[i].Read(), "a-1") << i;
    EXPECT_EQ(clients[i].Read(), "end") << i;
  }
  EXPECT_EQ(clients[2].Read(), "b-2");
  EXPECT_EQ(clients[2].Read(), "end");
  EXPECT_EQ(hub_->Stats().frames_broadcast, 3u);
}

TEST_F(WebSocketHubTest, UpgradeIsReportedToTheRequestObserver) {
  StartServer();
  auto client = Connect();
  ASSERT_TRUE(WaitForClients(1));
  ASSERT_TRUE(WaitUntil([&] { return !log_->records().empty(); }));
  const HttpRequestRecord record = log_->records().front();
  EXPECT_EQ(record.method, "GET");
  EXPECT_EQ(record.route, "/ws");
  EXPECT_EQ(record.status, 101);
  EXPECT_GT(record.duration_seconds, 0);
}

TEST_F(WebSocketHubTest, WelcomeFramesComeFirstAndSendReachesOneClient) {
  StartServer();
  std::mutex mutex;
  std::vector<WebSocketHub::ClientId> ids;
  hub_->SetOnConnect([&](WebSocketHub::ClientId id) {
    std::lock_guard lock(mutex);
    ids.push_back(id);
    return std::vector<Frame>{MakeFrame("welcome-" + std::to_string(id)), nullptr};
  });

  auto first = Connect();
  ASSERT_TRUE(WaitForClients(1));
  hub_->Broadcast(MakeFrame("b1"));
  auto second = Connect();
  ASSERT_TRUE(WaitForClients(2));
  std::vector<WebSocketHub::ClientId> known;
  {
    std::lock_guard lock(mutex);
    known = ids;
  }
  ASSERT_EQ(known.size(), 2u);
  EXPECT_TRUE(hub_->Send(known[1], MakeFrame("only-second")));
  EXPECT_FALSE(hub_->Send(987654, MakeFrame("nobody")));
  hub_->Broadcast(MakeFrame("b2"));

  EXPECT_EQ(first.Read(), "welcome-" + std::to_string(known[0]));
  EXPECT_EQ(first.Read(), "b1");
  EXPECT_EQ(first.Read(), "b2");
  EXPECT_EQ(second.Read(), "welcome-" + std::to_string(known[1]));
  EXPECT_EQ(second.Read(), "only-second");
  EXPECT_EQ(second.Read(), "b2");
}

TEST_F(WebSocketHubTest, SlowClientIsDroppedWhileOthersKeepReceiving) {
  WebSocketHubOptions options;
  options.max_queued_frames = 8;
  options.max_queued_bytes = 1 << 20;
  StartServer(options);
  auto slow = ConnectNonReading();  // never reads
  auto normal = Connect();
  ASSERT_TRUE(WaitForClients(2));

  // The normal client reads each frame before the next is sent, so only the slow one falls
  // behind: kernel buffers fill up, then its queue, then it is dropped.
  const std::string payload(64 << 10, 'x');
  int sent = 0;
  for (; sent < 2000 && hub_->dropped_count() == 0; ++sent) {
    auto frame = MakeFrame(std::to_string(sent) + payload);
    hub_->Broadcast(frame);
    auto message = normal.Read();
    ASSERT_TRUE(message.has_value()) << "frame " << sent;
    ASSERT_EQ(message->size(), frame->size());
    ASSERT_EQ(*message, *frame);
  }
  EXPECT_EQ(hub_->dropped_count(), 1u) << "after " << sent << " frames";
  EXPECT_TRUE(WaitForClients(1));

  hub_->Broadcast(MakeFrame("after the drop"));
  EXPECT_EQ(normal.Read(), "after the drop");
  EXPECT_TRUE(slow.WaitForClose()) << "the dropped client's connection was closed";
}

TEST_F(WebSocketHubTest, BroadcastNeverBlocksOnClientsThatDoNotRead) {
  WebSocketHubOptions options;
  options.max_queued_frames = 64;
  options.max_queued_bytes = 1 << 20;
  StartServer(options);
  std::vector<WsClient> slow;
  for (int i = 0; i < 3; ++i) slow.push_back(ConnectNonReading());
  ASSERT_TRUE(WaitForClients(3));

  // 5000 x 16 KiB = 80 MiB per client: far more than the kernel buffers can hold, so a
  // Broadcast that waited for a socket would never finish.
  auto frame = MakeFrame(std::string(16 << 10, 'y'));
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) hub_->Broadcast(frame);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(WaitUntil([&] { return hub_->dropped_count() == 3; })) << hub_->dropped_count();
  EXPECT_TRUE(WaitForClients(0));
  EXPECT_TRUE(WaitUntil([&] { return frame.use_count() == 1; })) << "queues were released";
}

TEST_F(WebSocketHubTest, OversizedIncomingMessageClosesOnlyThatClient) {
  WebSocketHubOptions options;
  options.max_incoming_message_bytes = 1024;
  StartServer(options);
  std::mutex mutex;
  std::vector<std::string> received;
  hub_->SetOnMessage([&](WebSocketHub::ClientId, std::string_view text) {
    std::lock_guard lock(mutex);
    received.emplace_back(text);
  });
  auto big = Connect();
  auto polite = Connect();
  ASSERT_TRUE(WaitForClients(2));

  polite.Send(R"({"type":"subscribe","topics":["orders"]})");
  polite.Send(R"({"type":"ping"})");
  big.Send(std::string(4096, 'x'));
  EXPECT_TRUE(big.WaitForClose());
  EXPECT_EQ(big.close_code(), 1009);  // message too big
  EXPECT_TRUE(WaitForClients(1));

  hub_->Broadcast(MakeFrame("still here"));
  EXPECT_EQ(polite.Read(), "still here");
  // The server reads independently of what it writes: wait for the second message.
  EXPECT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mutex);
    return received.size() >= 2;
  }));
  std::lock_guard lock(mutex);
  EXPECT_THAT(received, ::testing::ElementsAre(R"({"type":"subscribe","topics":["orders"]})",
                                               R"({"type":"ping"})"));
}

TEST_F(WebSocketHubTest, ClientsThatLeaveAreForgotten) {
  StartServer();
  auto polite = Connect();
  {
    auto abrupt = Connect();
    ASSERT_TRUE(WaitForClients(2));
  }  // closed without a closing handshake
  EXPECT_TRUE(WaitForClients(1));
  polite.Close();
  EXPECT_TRUE(WaitForClients(0));
  hub_->Broadcast(MakeFrame("to nobody"));
  EXPECT_EQ(hub_->Stats().dropped, 0u);
}

TEST_F(WebSocketHubTest, PlainRequestsOnTheWebSocketPathAreJsonErrors) {
  StartServer();
  HttpClient client("127.0.0.1", port_);
  auto get = client.Get("/ws");
  EXPECT_EQ(get.status, 400);
  EXPECT_EQ(get.Header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(get.Json().at("error").at("code").as_string(), "validation_failed");
  EXPECT_EQ(get.Header("upgrade"), "websocket");
  auto post = client.Post("/ws", json::object{});
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.Header("allow"), "GET, HEAD");
  EXPECT_EQ(client.Get("/api/ping").status, 200);  // ordinary routes still work

  // An upgrade the server cannot accept is a JSON error too, not Beast's plain text.
  std::string answer = RawExchange("127.0.0.1", port_,
                                   "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                   "Upgrade: websocket\r\nSec-WebSocket-Version: 8\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(answer, HasSubstr("validation_failed"));
  EXPECT_THAT(answer, HasSubstr("Sec-WebSocket-Version: 13"));
  EXPECT_EQ(hub_->client_count(), 0u);
}

TEST_F(WebSocketHubTest, UpgradesBeyondMaxClientsAreRefusedWith503) {
  WebSocketHubOptions options;
  options.max_clients = 1;
  StartServer(options);
  auto first = Connect();
  ASSERT_TRUE(WaitForClients(1));
  try {
    Connect();
    ADD_FAILURE() << "a second client was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("HTTP 503"));
  }
  first.Close();
  ASSERT_TRUE(WaitUntil([&] { return hub_->client_count() == 0; }));
  // The slot is free again once the first connection is completely gone.
  EXPECT_TRUE(WaitUntil([&] {
    try {
      Connect();
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }));
}

TEST_F(WebSocketHubTest, StopSendsGoingAwayToEveryClient) {
  HttpServerOptions options;
  options.shutdown_grace = 20s;
  StartServer({}, options);
  std::vector<std::future<std::pair<bool, int>>> closes;
  for (int i = 0; i < 2; ++i) {
    closes.push_back(std::async(std::launch::async, [client = Connect()]() mutable {
      const bool closed = client.WaitForClose(30s);
      return std::make_pair(closed, client.close_code());
    }));
  }
  ASSERT_TRUE(WaitForClients(2));

  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "clients answer the close at once";
  for (auto& close : closes) {
    auto [closed, code] = close.get();
    EXPECT_TRUE(closed);
    EXPECT_EQ(code, 1001);  // going away
  }
  EXPECT_EQ(hub_->client_count(), 0u);
}

TEST_F(WebSocketHubTest, StopCutsOffAClientThatDoesNotAnswerWithinTheGrace) {
  WebSocketHubOptions hub_options;
  hub_options.max_queued_frames = 100000;
  hub_options.max_queued_bytes = size_t{1} << 30;
  HttpServerOptions options;
  options.shutdown_grace = 1s;
  StartServer(hub_options, options);
  auto stuck = ConnectNonReading();
  ASSERT_TRUE(WaitForClients(1));
  // Enough to block the server's writes, so the close frame cannot even be sent.
  auto frame = MakeFrame(std::string(64 << 10, 'z'));
  for (int i = 0; i < 300; ++i) hub_->Broadcast(frame);

  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  EXPECT_EQ(hub_->client_count(), 0u);
  EXPECT_EQ(hub_->dropped_count(), 0u);
  EXPECT_TRUE(stuck.WaitForClose());
  // A hub whose server stopped ignores broadcasts; a write that was cut off may hold the frame
  // until the server (its io_context) is destroyed, not longer.
  hub_->Broadcast(frame);
  server_.reset();
  EXPECT_EQ(frame.use_count(), 1);
}

TEST_F(WebSocketHubTest, AddWebSocketRejectsMisuse) {
  WebSocketHub hub;
  HttpServer server(HttpServerOptions{}, {});
  EXPECT_THROW(server.AddWebSocket(hub, "ws"), std::invalid_argument);
  EXPECT_THROW(server.AddWebSocket(hub, "/ws/:id"), std::invalid_argument);
  server.AddWebSocket(hub, "/ws");
  HttpServer other(HttpServerOptions{}, {});
  EXPECT_THROW(other.AddWebSocket(hub, "/ws"), std::logic_error);  // one server per hub

  WebSocketHub second;
  EXPECT_THROW(server.AddWebSocket(second, "/ws"), std::invalid_argument);  // path taken
  server.AddWebSocket(second, "/ws2");  // the failed attempt left `second` free
  ASSERT_TRUE(server.Start().ok());
  WebSocketHub third;
  EXPECT_THROW(server.AddWebSocket(third, "/ws3"), std::logic_error);
  server.Stop();

  WebSocketHub reusable;
  {
    HttpServer never_started(HttpServerOptions{}, {});
    never_started.AddWebSocket(reusable);
  }
  HttpServer next(HttpServerOptions{}, {});
  EXPECT_NO_THROW(next.AddWebSocket(reusable));
}

}  // namespace
}  // namespace shopflow
