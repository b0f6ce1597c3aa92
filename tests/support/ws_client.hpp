#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shopflow::testing {

/// Settings of a WsClient.
struct WsClientOptions {
  std::string target = "/ws";
  /// SO_RCVBUF of the socket, set before connecting; 0 keeps the system default. A small value
  /// makes a client that never reads (a "slow client") stall the server's writes quickly.
  int receive_buffer_bytes = 0;
  /// Limit for connecting and for the opening handshake.
  std::chrono::milliseconds connect_timeout{10000};
  /// Extra headers of the upgrade request.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// A small blocking WebSocket client for tests (Beast, one thread, no strand needed).
///
/// Reading is explicit: the client reads nothing unless Read() or WaitForClose() is called, so
/// never calling them simulates a client that does not keep up. A Read() that times out leaves
/// its read pending and the next Read() continues it, so no message is lost or cut.
/// Not thread-safe: use one client per thread. Beast lives in ws_client.cpp only.
class WsClient {
 public:
  /// Connects to host:port and performs the opening handshake. Throws std::runtime_error when
  /// it cannot connect or the server refuses the upgrade (the message then names the HTTP
  /// status, e.g. "... HTTP 503").
  WsClient(std::string host, int port, WsClientOptions options = {});
  /// Closes the socket without a closing handshake (see Close()).
  ~WsClient();
  WsClient(WsClient&&) noexcept;
  WsClient& operator=(WsClient&&) noexcept;

  /// The next message (text or binary), or nullopt when none arrives within `timeout` or the
  /// connection is closed (then closed() is true).
  std::optional<std::string> Read(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Sends a text message; throws std::runtime_error when that fails or takes over 10 s.
  void Send(std::string_view text);
  /// The closing handshake (close code 1000), bounded by `timeout`; idempotent.
  void Close(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Reads and discards messages until the server closes the connection. True if it did
  /// within `timeout`.
  bool WaitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// True once the connection ended (closing handshake, reset or error).
  bool closed() const;
  /// The close code the server sent (1000 normal, 1001 going away, 1009 too big), 0 if none.
  int close_code() const;

 private:
  class Connection;
  std::unique_ptr<Connection> connection_;
};

}  // namespace shopflow::testing
