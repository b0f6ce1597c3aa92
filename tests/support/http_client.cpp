#include "tests/support/http_client.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <functional>
#include <stdexcept>

namespace shopflow::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HasHeader(const HeaderList& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return IEquals(h.first, name); });
}

// Runs one asynchronous operation to completion on `io`. Asynchronous operations are used
// (instead of Beast's synchronous ones) because only they honour tcp_stream's timeouts.
template <class Start>
beast::error_code RunOne(asio::io_context& io, Start&& start) {
  beast::error_code result;
  std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

tcp::resolver::results_type Resolve(asio::io_context& io, const std::string& host, int port) {
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) {
    throw std::runtime_error("cannot resolve " + host + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  return results;
}

}  // namespace

boost::json::value HttpResult::Json() const {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(body, ec);
  if (ec) return nullptr;
  return value;
}

std::string HttpResult::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (IEquals(key, name)) return value;
  }
  return "";
}

bool HttpResult::HasHeader(std::string_view name) const {
  return testing::HasHeader(headers, name);
}

class HttpClient::Connection {
 public:
  Connection(std::string host, int port) : host_(std::move(host)), port_(port), stream_(io_) {}

  HttpResult Request(const std::string& method, const std::string& target,
                     const std::optional<std::string>& body, const HeaderList& headers) {
    const bool reused = stream_.socket().is_open();
    std::string failure;
    if (auto result = Attempt(method, target, body, headers, failure)) return std::move(*result);
    if (reused && failure.empty()) {
      // The kept-alive connection was dead before answering: the server never saw the
      // request, so sending it again on a new connection is safe.
      if (auto result = Attempt(method, target, body, headers, failure)) {
        return std::move(*result);
      }
    }
    if (failure.empty()) failure = "connection closed before an answer";
    throw std::runtime_error(method + " " + target + ": " + failure);
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    buffer_.clear();
  }

  int connections_opened() const { return connections_opened_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  // One try. Returns the answer, or nullopt with `failure` empty when the connection ended
  // before any answer byte (retryable on a reused connection) or set otherwise.
  std::optional<HttpResult> Attempt(const std::string& method, const std::string& target,
                                    const std::optional<std::string>& body,
                                    const HeaderList& headers, std::string& failure) {
    failure.clear();
    if (!stream_.socket().is_open()) Connect();

    bhttp::request<bhttp::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    if (!HasHeader(headers, "host"))
      request.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
    if (!HasHeader(headers, "user-agent")) {
      request.set(bhttp::field::user_agent, "shopflow-test-client");
    }
    for (const auto& [name, value] : headers) request.insert(name, value);
    if (body) {
      request.body() = *body;
      // A caller choosing the framing (e.g. "Transfer-Encoding: chunked") keeps it; Beast then
      // chunk-encodes the body itself.
      if (!HasHeader(headers, "content-length") && !HasHeader(headers, "transfer-encoding")) {
        request.prepare_payload();
      }
    }

    stream_.expires_after(timeout_);
    const beast::error_code write_ec = RunOne(
        io_, [&](auto handler) { bhttp::async_write(stream_, request, std::move(handler)); });
    // Even when sending failed, the server may have answered first (e.g. 413 to a body it
    // refused to read), so try to read the answer before giving up.

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(1 << 20);
    if (IEquals(method, "HEAD")) parser.skip(true);
    stream_.expires_after(timeout_);
    const beast::error_code read_ec = RunOne(io_, [&](auto handler) {
      bhttp::async_read(stream_, buffer_, parser, std::move(handler));
    });
    if (read_ec) {
      const bool nothing_received = !parser.got_some();
      Close();
      if (read_ec == beast::error::timeout) {
        failure = "timed out after " + std::to_string(timeout_.count()) + " ms";
      } else if (!nothing_received) {
        failure = "reading the answer failed: " + read_ec.message();
      } else if (write_ec && write_ec != asio::error::broken_pipe &&
                 write_ec != asio::error::connection_reset) {
        failure = "sending failed: " + write_ec.message();
      }
      return std::nullopt;
    }

    auto& response = parser.get();
    HttpResult result;
    result.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
      result.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
    }
    result.body = std::move(response.body());
    if (!response.keep_alive() || write_ec) Close();
    return result;
  }

  void Connect() {
    buffer_.clear();
    auto endpoints = Resolve(io_, host_, port_);
    stream_.expires_after(timeout_);
    const beast::error_code ec =
        RunOne(io_, [&](auto handler) { stream_.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      Close();
      throw std::runtime_error("cannot connect to " + host_ + ":" + std::to_string(port_) + ": " +
                               ec.message());
    }
    ++connections_opened_;
  }

  std::string host_;
  int port_;
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_{30000};
  int connections_opened_ = 0;
};

HttpClient::HttpClient(std::string host, int port)
    : connection_(std::make_unique<Connection>(std::move(host), port)) {}
HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

HttpResult HttpClient::Request(std::string method, std::string target,
                               std::optional<std::string> body, HeaderList headers) {
  return connection_->Request(method, target, body, headers);
}

HttpResult HttpClient::Get(std::string target, HeaderList headers) {
  return Request("GET", std::move(target), std::nullopt, std::move(headers));
}

HttpResult HttpClient::Delete(std::string target, HeaderList headers) {
  return Request("DELETE", std::move(target), std::nullopt, std::move(headers));
}

HttpResult HttpClient::Post(std::string target, const boost::json::value& body,
                            HeaderList headers) {
  headers.emplace_back("Content-Type", "application/json");
  return Request("POST", std::move(target), boost::json::serialize(body), std::move(headers));
}

HttpResult HttpClient::Put(std::string target, const boost::json::value& body, HeaderList headers) {
  headers.emplace_back("Content-Type", "application/json");
  return Request("PUT", std::move(target), boost::json::serialize(body), std::move(headers));
}

void HttpClient::Close() { connection_->Close(); }
int HttpClient::connections_opened() const { return connection_->connections_opened(); }
void HttpClient::set_timeout(std::chrono::milliseconds timeout) {
  connection_->set_timeout(timeout);
}
std::chrono::milliseconds HttpClient::timeout() const { return connection_->timeout(); }

std::string RawExchange(const std::string& host, int port, std::string raw_bytes,
                        std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  auto endpoints = Resolve(io, host, port);
  stream.expires_after(timeout);
  const beast::error_code connect_ec =
      RunOne(io, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
  if (connect_ec) {
    throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                             connect_ec.message());
  }

  // One deadline for everything. Writing and reading run at the same time, so an answer the
  // server sends before reading everything (413) is received even if the write then fails.
  stream.expires_after(timeout);
  std::string received;
  std::array<char, 16384> chunk;
  std::function<void(beast::error_code, size_t)> on_read = [&](beast::error_code ec, size_t n) {
    received.append(chunk.data(), n);
    if (!ec) {
      stream.async_read_some(asio::buffer(chunk), on_read);
    } else {
      stream.close();  // the server is done (or the deadline passed): abort a pending write
    }
  };
  asio::async_write(stream, asio::buffer(raw_bytes), [](beast::error_code, size_t) {});
  stream.async_read_some(asio::buffer(chunk), on_read);
  io.restart();  // RunOne left it stopped
  io.run();
  return received;
}

}  // namespace shopflow::testing
