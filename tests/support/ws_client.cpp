#include "tests/support/ws_client.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <stdexcept>

namespace shopflow::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

// Asynchronous operations driven by run_one_until, because Beast's synchronous ones honour no
// timeout: every call is bounded, and a read that times out simply stays pending.
class WsClient::Connection {
 public:
  Connection(const std::string& host, int port, const WsClientOptions& options) : ws_(io_) {
    const std::string where = host + ":" + std::to_string(port);
    beast::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec || endpoints.empty()) throw std::runtime_error("cannot resolve " + where);
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();

    auto& socket = beast::get_lowest_layer(ws_).socket();
    socket.open(endpoint.protocol());
    if (options.receive_buffer_bytes > 0) {
      socket.set_option(asio::socket_base::receive_buffer_size(options.receive_buffer_bytes));
    }
    bool connected = false;
    beast::error_code connect_ec;
    beast::get_lowest_layer(ws_).expires_after(options.connect_timeout);
    beast::get_lowest_layer(ws_).async_connect(endpoint, [&](beast::error_code result) {
      connect_ec = result;
      connected = true;
    });
    if (!RunUntil(connected, options.connect_timeout + Millis(1000)) || connect_ec) {
      throw std::runtime_error("cannot connect to " + where + ": " +
                               (connect_ec ? connect_ec.message() : "timeout"));
    }
    beast::get_lowest_layer(ws_).expires_never();

    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = options.connect_timeout;
    ws_.set_option(timeouts);
    auto headers = options.headers;
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "shopflow-test-ws-client");
      for (const auto& [name, value] : headers) request.set(name, value);
    }));
    ws_.read_message_max(0);  // no limit: tests may receive large frames

    websocket::response_type response;
    bool handshaken = false;
    beast::error_code handshake_ec;
    ws_.async_handshake(response, where, options.target, [&](beast::error_code result) {
      handshake_ec = result;
      handshaken = true;
    });
    if (!RunUntil(handshaken, options.connect_timeout + Millis(1000)) || handshake_ec) {
      std::string reason = handshake_ec ? handshake_ec.message() : "timeout";
      if (response.result_int() != 0) {
        reason += " (HTTP " + std::to_string(response.result_int()) + ")";
      }
      throw std::runtime_error("WebSocket handshake with " + where + options.target +
                               " failed: " + reason);
    }
  }

  ~Connection() { Abort(); }

  std::optional<std::string> Read(Millis timeout) {
    if (closed_) return std::nullopt;
    if (!read_pending_) {
      read_pending_ = true;
      read_done_ = false;
      ws_.async_read(buffer_, [this](beast::error_code ec, size_t) {
        read_ec_ = ec;
        read_done_ = true;
      });
    }
    if (!RunUntil(read_done_, timeout)) return std::nullopt;  // still pending
    read_pending_ = false;
    if (read_ec_) {
      closed_ = true;
      // Set whenever the server's close frame arrived, also when replying to it then failed
      // (Beast's server-side teardown may reset the connection right after its close frame).
      close_code_ = ws_.reason().code;
      return std::nullopt;
    }
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return message;
  }

  void Send(std::string_view text) {
    if (closed_) throw std::runtime_error("WebSocket send: the connection is closed");
    bool done = false;
    beast::error_code ec;
    ws_.text(true);
    ws_.async_write(asio::buffer(text.data(), text.size()), [&](beast::error_code result, size_t) {
      ec = result;
      done = true;
    });
    if (!RunUntil(done, Millis(10000))) {
      Abort();
      throw std::runtime_error("WebSocket send timed out");
    }
    if (ec) throw std::runtime_error("WebSocket send failed: " + ec.message());
  }

  void Close(Millis timeout) {
    if (closed_) return;
    bool done = false;
    ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
    // A pending read receives the server's close frame and completes too.
    RunUntil(done, timeout);
    Abort();
  }

  bool WaitForClose(Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
      const auto left =
          std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left <= Millis(0)) return false;
      Read(left);
    }
    return true;
  }

  bool closed() const { return closed_; }
  int close_code() const { return close_code_; }

 private:
  // Runs handlers until `done` or the deadline; false on timeout. Other operations (a pending
  // read) may complete meanwhile and record their results.
  bool RunUntil(const bool& done, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done) {
      io_.restart();
      if (io_.run_one_until(deadline) == 0) return done;  // deadline passed, or nothing to run
    }
    return true;
  }

  // Closes the socket and lets the cancelled operations finish, so that none outlives us.
  void Abort() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    closed_ = true;
    io_.restart();
    io_.poll();
  }

  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  beast::error_code read_ec_;
  bool closed_ = false;
  int close_code_ = 0;
};

WsClient::WsClient(std::string host, int port, WsClientOptions options)
    : connection_(std::make_unique<Connection>(host, port, options)) {}
WsClient::~WsClient() = default;
WsClient::WsClient(WsClient&&) noexcept = default;
WsClient& WsClient::operator=(WsClient&&) noexcept = default;

std::optional<std::string> WsClient::Read(std::chrono::milliseconds timeout) {
  return connection_->Read(timeout);
}
void WsClient::Send(std::string_view text) { connection_->Send(text); }
void WsClient::Close(std::chrono::milliseconds timeout) { connection_->Close(timeout); }
bool WsClient::WaitForClose(std::chrono::milliseconds timeout) {
  return connection_->WaitForClose(timeout);
}
bool WsClient::closed() const { return connection_->closed(); }
int WsClient::close_code() const { return connection_->close_code(); }

}  // namespace shopflow::testing
