#pragma once

// Internal to src/http: the WebSocketHub as the HTTP server sees it. It names Beast types, so
// only http_server.cpp and websocket_hub.cpp include it (ARCHITECTURE.md principle 12); other
// modules use http/websocket_hub.hpp.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/websocket_hub.hpp"

namespace shopflow::http_internal {

class WsConnection;  // one client, defined in websocket_hub.cpp

using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

/// The shared state behind a WebSocketHub. Thread-safety: as WebSocketHub; the "server side"
/// methods are called by HttpServer as documented on each.
class HubCore : public std::enable_shared_from_this<HubCore> {
 public:
  using ClientId = WebSocketHub::ClientId;
  using Frame = WebSocketHub::Frame;

  explicit HubCore(WebSocketHubOptions options);
  ~HubCore();
  HubCore(const HubCore&) = delete;
  HubCore& operator=(const HubCore&) = delete;

  // --- WebSocketHub (any thread) ---
  void Broadcast(Frame frame);
  void Broadcast(std::string_view topic, const WebSocketHub::FrameMaker& make);
  bool Send(ClientId client, Frame frame);
  void SetOnConnect(WebSocketHub::ConnectHook hook);
  void SetOnMessage(WebSocketHub::MessageHook hook);
  void SetInterestParser(WebSocketHub::InterestParser parser);
  WebSocketHubStats Stats() const;

  // --- HttpServer ---
  /// Marks the hub as served by one server; throws std::logic_error if it already is.
  void Attach();
  /// Undoes Attach() (the server failed to register the endpoint).
  void Detach();
  /// Why a new client with this request target would be refused now (closing, full, a target
  /// the interest parser refuses), or its interest. Any thread.
  Result<WebSocketHub::Interest> Admit(std::string_view target) const;
  /// Performs the opening handshake on `stream` (already read `request`) and serves the client
  /// until its connection ends. Runs on the connection's strand (the stream's executor);
  /// `on_handshake` receives 101, or the status Beast answered a failed handshake with.
  boost::asio::awaitable<void> Serve(boost::beast::tcp_stream stream, UpgradeRequest request,
                                     WebSocketHub::Interest interest,
                                     std::function<void(int status)> on_handshake);
  /// Refuses new clients and starts the closing handshake ("going away") with every client,
  /// cutting each connection off after `cut_off_after` at the latest. Any thread; returns at
  /// once.
  void CloseAll(std::chrono::milliseconds cut_off_after);
  /// Closes every socket and forgets every client. Only once no I/O thread runs any more
  /// (after HttpServer::Stop joined them); Broadcast/Send may still run concurrently.
  void AbandonAll();

  // --- WsConnection ---
  const WebSocketHubOptions& options() const { return options_; }
  /// The connect hook's frames (exceptions logged). Called on the client's strand.
  std::vector<Frame> WelcomeFrames(ClientId client);
  void OnMessage(ClientId client, std::string_view text);
  /// Makes a client receive broadcasts; false when the hub is closing (the caller closes).
  bool Register(const std::shared_ptr<WsConnection>& connection);
  void Unregister(ClientId client);
  void CountDrop() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  /// How long a closing handshake started now may last before the socket is cut.
  std::chrono::milliseconds cut_off_after() const;

 private:
  using ClientList = std::vector<std::shared_ptr<WsConnection>>;

  void PublishSnapshotLocked();

  const WebSocketHubOptions options_;
  std::atomic<ClientId> next_id_{1};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> frames_broadcast_{0};

  mutable std::mutex mutex_;
  bool attached_ = false;                       // guarded by mutex_
  bool closing_ = false;                        // guarded by mutex_
  std::chrono::milliseconds cut_off_after_{0};  // guarded by mutex_
  // Every connection from hand-over to its end (handshaking ones included), by id.
  std::map<ClientId, std::shared_ptr<WsConnection>> connections_;  // guarded by mutex_
  // The clients receiving broadcasts, copied on change so that Broadcast iterates without the
  // lock (registrations are rare, broadcasts frequent).
  std::shared_ptr<const ClientList> receivers_;                          // guarded by mutex_
  std::shared_ptr<const WebSocketHub::ConnectHook> on_connect_;          // guarded by mutex_
  std::shared_ptr<const WebSocketHub::MessageHook> on_message_;          // guarded by mutex_
  std::shared_ptr<const WebSocketHub::InterestParser> interest_parser_;  // guarded by mutex_
};

}  // namespace shopflow::http_internal
