#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shopflow::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One HTTP answer as received.
struct HttpResult {
  int status = 0;
  HeaderList headers;  // names in lower case, in wire order
  std::string body;

  /// The body parsed as JSON; null when it is empty or not JSON.
  boost::json::value Json() const;
  /// The first value of a header (name matched case-insensitively), "" when absent.
  std::string Header(std::string_view name) const;
  /// Whether the header is present at all.
  bool HasHeader(std::string_view name) const;
};

/// A small blocking HTTP/1.1 client for tests. It keeps one keep-alive connection, opens a new
/// one when the server closed it ("Connection: close", idle timeout), and retries a request
/// once on a fresh connection when a reused connection turns out to be dead before any answer
/// byte arrived (the usual keep-alive race).
///
/// Failures to connect, send or receive, and timeouts, throw std::runtime_error naming the
/// request. Not thread-safe: use one client per thread. Each operation is bounded by
/// timeout() (30 s by default), so a broken server fails a test instead of hanging it.
class HttpClient {
 public:
  HttpClient(std::string host, int port);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  /// Sends one request and reads its answer. `body`, when given, is sent with a
  /// Content-Length; no Content-Type is added (pass one in `headers`). Host is set unless
  /// given in `headers`.
  HttpResult Request(std::string method, std::string target, std::optional<std::string> body = {},
                     HeaderList headers = {});

  HttpResult Get(std::string target, HeaderList headers = {});
  HttpResult Delete(std::string target, HeaderList headers = {});
  /// Serializes `body` and sends it as "Content-Type: application/json".
  HttpResult Post(std::string target, const boost::json::value& body, HeaderList headers = {});
  HttpResult Put(std::string target, const boost::json::value& body, HeaderList headers = {});

  /// Closes the current connection (the next request opens a new one).
  void Close();
  /// How many TCP connections this client opened so far (to check keep-alive).
  int connections_opened() const;

  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const;

 private:
  class Connection;  // Beast lives in http_client.cpp only
  std::unique_ptr<Connection> connection_;
};

/// Connects, writes `raw_bytes` as they are, and returns every byte received until the server
/// closes the connection, resets it, or `timeout` passes (whichever comes first). For
/// malformed-request tests; throws std::runtime_error only when it cannot connect.
std::string RawExchange(const std::string& host, int port, std::string raw_bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace shopflow::testing
