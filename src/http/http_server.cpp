#include "http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/thread_name.hpp"
#include "http/http_wire.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "http/socket_options.hpp"
#include "http/websocket_hub.hpp"
#include "http/websocket_hub_core.hpp"

namespace shopflow {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

// Errors on sockets are normal flow (peers vanish, timers fire): receive them as values.
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// After an error answer, unread request bytes are drained for at most this long before the
// socket is closed. Closing with unread data makes the kernel send RST, which can destroy the
// answer before the client reads it (the classic "lingering close" of HTTP servers).
constexpr std::chrono::milliseconds kMaxLinger{5000};
// Pause after a failed accept (e.g. EMFILE) so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr size_t kFirstReadBytes = 8192;

using WireRequest = bhttp::request<bhttp::string_body>;
using http_internal::WireResponse;
using RequestParser = bhttp::request_parser<bhttp::string_body>;

// Route labels of HttpRequestRecord for answers no route produced.
constexpr const char* kUnmatchedRoute = "unmatched";
constexpr const char* kFallbackRoute = "fallback";

double SecondsSince(SteadyTime started) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// What Beast's handshake would reject, checked first so that the refusal is an API.md JSON
// error rather than Beast's plain-text one (RFC 6455 4.2.1).
std::optional<Error> CheckWebSocketHandshake(const WireRequest& request) {
  if (request[bhttp::field::host].empty()) return ValidationError("missing Host header");
  // The key is 16 random bytes in base64: 24 characters.
  if (request[bhttp::field::sec_websocket_key].size() != 24) {
    return ValidationError("missing or malformed Sec-WebSocket-Key");
  }
  if (request[bhttp::field::sec_websocket_version] != "13") {
    return ValidationError("unsupported Sec-WebSocket-Version (13 is supported)");
  }
  return std::nullopt;
}

std::string Lower(std::string_view text);

// What the guard sees of an upgrade request: method, path, query (the WebSocket credential may
// come as ?access_token=), headers and the peer's address are filled in.
ApiRequest UpgradeAsApiRequest(const WireRequest& request, const std::string& correlation_id,
                               const std::string& client_address) {
  ApiRequest api;
  api.method = std::string(request.method_string());
  api.client_address = client_address;
  api.correlation_id = correlation_id;
  for (const auto& field : request) {
    api.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  if (auto parsed = ParseRequestTarget(request.target())) {
    api.path = std::move(parsed->path);
    api.query = std::move(parsed->query);
  }
  return api;
}

// The completion handler of every co_spawn: an escaped exception is logged, never dropped
// (ARCHITECTURE.md principle 4: no bare `detached`).
auto LogFailure(const char* what) {
  return [what](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("http: {} failed: {}", what, e.what());
    } catch (...) {
      spdlog::error("http: {} failed with a non-standard exception", what);
    }
  };
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

// Header names are tokens; values must not smuggle CR/LF (response splitting) or NUL.
bool IsSafeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7F || c == ':') return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// The one serialization of an ApiResponse onto the wire.
WireResponse ToWire(ApiResponse answer, unsigned version, const std::string& correlation_id,
                    bool head) {
  WireResponse wire;
  wire.version(version);
  int status = answer.status;
  if (status < 200 || status > 599) {
    // 1xx cannot be sent as a final answer and other values are not HTTP: a handler bug.
    spdlog::error("http: handler answered invalid status {}; sending 500", status);
    answer = ErrorResponse(InternalError("internal server error"));
    status = answer.status;
  }
  wire.result(static_cast<unsigned>(status));
  wire.set(bhttp::field::server, "shopflow");
  // 204 and 304 carry no body by definition (RFC 9110 15.3.5, 15.4.5).
  const bool bodyless = status == 204 || status == 304;
  if (!bodyless) {
    if (answer.raw_body) {
      wire.set(bhttp::field::content_type, answer.content_type);
      wire.body() = std::move(*answer.raw_body);
    } else {
      wire.set(bhttp::field::content_type, "application/json; charset=utf-8");
      wire.body() = ToJsonText(answer.body);
    }
  }
  for (const auto& [name, value] : answer.headers) {
    if (!IsSafeHeader(name, value)) {
      spdlog::warn("http: dropping a response header with an invalid name or value");
      continue;
    }
    const std::string lower = Lower(name);
    // Framing and connection management belong to the server.
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
      continue;
    }
    if (lower == "content-type" || lower == "server" || lower == "x-correlation-id") {
      wire.set(name, value);
    } else {
      wire.insert(name, value);  // repeatable headers (Set-Cookie, Vary) stay repeatable
    }
  }
  wire.set("X-Correlation-Id", correlation_id);
  if (!bodyless) wire.content_length(wire.body().size());
  if (head) wire.body().clear();  // Content-Length still announces the GET body's size
  return wire;
}

}  // namespace

class HttpServer::Runtime {
 public:
  class Session;

  Runtime(HttpServerOptions options, Router router)
      : options_(std::move(options)), router_(std::move(router)) {
    options_.threads = std::max(1, options_.threads);
  }
  ~Runtime() {
    Stop();
    // A hub of a server that never started may serve another one.
    if (state_ == State::kCreated) {
      for (auto& endpoint : websockets_) endpoint.hub->Detach();
    }
  }

  void AddRoutes(std::vector<Route> routes) {
    if (state_ != State::kCreated) throw std::logic_error("HttpServer::AddRoutes after Start");
    router_.Add(std::move(routes));
  }

  void SetFallback(ApiHandler handler) {
    if (state_ != State::kCreated) throw std::logic_error("HttpServer::SetFallback after Start");
    fallback_ = std::move(handler);
  }

  void AddWebSocket(WebSocketHub& hub, std::string path);

  Result<int> Start();
  void Stop();
  int port() const { return port_.load(); }
  bool stopping() const { return stopping_.load(); }

 private:
  enum class State { kCreated, kRunning, kStopped };

  /// A path served by a WebSocketHub. Immutable once the server runs.
  struct WebSocketEndpoint {
    std::string path;  // as registered in the router, e.g. "/ws"
    std::shared_ptr<http_internal::HubCore> hub;
  };

  asio::awaitable<void> Accept();
  /// Where a connection (or the accept loop) runs, so that its coroutine and everything its
  /// handlers resume run one at a time while different connections run in parallel: a strand
  /// of its own with several I/O threads; with one, the io_context itself, which that thread
  /// already serializes (a strand there only adds a lock and a queue hop to every completion:
  /// ~6 % of a keep-alive GET's CPU).
  asio::any_io_executor SerialExecutor() {
    if (options_.threads == 1) return io_->get_executor();
    return asio::make_strand(*io_);
  }
  /// Sets `route` to the HttpRequestRecord label of whatever answers.
  asio::awaitable<ApiResponse> Dispatch(ApiRequest& request, std::string_view target,
                                        std::string& route);
  /// The endpoint a WebSocket upgrade request is for, or nullptr when it is not one.
  const WebSocketEndpoint* WebSocketFor(const WireRequest& request) const;
  /// Reports an answer to options_.on_request, shielding the server from it.
  void Record(const HttpRequestRecord& record) const;
  /// Runs options_.guard: nullopt to proceed, or the answer to send instead.
  std::optional<ApiResponse> Guard(ApiRequest& request, std::string_view route) const;
  std::optional<ApiResponse> Guard(ApiRequest&& request, std::string_view route) const {
    return Guard(request, route);
  }
  void RunIo();
  void Unregister(uint64_t id);
  // Strong references to the live sessions, taken under the lock but returned so that the
  // last reference of a session is never dropped while the lock is held (its destructor
  // unregisters and would deadlock).
  std::vector<std::shared_ptr<Session>> LiveSessions();

  HttpServerOptions options_;
  Router router_;
  ApiHandler fallback_;
  std::vector<WebSocketEndpoint> websockets_;
  State state_ = State::kCreated;
  std::atomic<bool> stopping_{false};
  std::atomic<int> port_{0};

  // The registry is declared before io_ so that it outlives the coroutine frames that io_
  // destroys (a session unregisters itself from its destructor).
  std::mutex mutex_;
  std::condition_variable sessions_done_;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions_;
  uint64_t next_session_id_ = 0;  // only touched by the accept loop

  std::optional<asio::io_context> io_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::any_io_executor> accept_executor_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

/// One TCP connection: a coroutine on its serial executor (SerialExecutor) reading requests one
/// after the other.
class HttpServer::Runtime::Session {
 public:
  Session(Runtime& runtime, tcp::socket socket, uint64_t id, bool over_capacity)
      : runtime_(runtime),
        options_(runtime.options_),
        stream_(std::move(socket)),
        executor_(stream_.get_executor()),
        id_(id),
        over_capacity_(over_capacity) {
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) client_address_ = remote.address().to_string();
  }
  ~Session() { runtime_.Unregister(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// The coroutine body; `self` keeps the session alive until the connection is done.
  static asio::awaitable<void> Run(std::shared_ptr<Session> self) { co_await self->Serve(); }

  /// The connection's strand (cached: the stream moves to a WebSocketHub on upgrade).
  const asio::any_io_executor& executor() const { return executor_; }

  /// On the session's strand: cancels the read if the connection is between requests (or
  /// draining after an error), which ends it. A busy connection notices `stopping_` itself
  /// once its answer is written. An upgraded connection belongs to its hub, which closes it.
  void CloseIfIdle() {
    if (idle_ && !upgraded_) stream_.cancel();
  }

  /// Only when no I/O thread runs (after Stop() joined them).
  void ForceClose() {
    if (!upgraded_) stream_.close();
  }

 private:
  asio::awaitable<void> Serve();
  asio::awaitable<bool> AwaitFirstByte(std::chrono::milliseconds timeout);
  asio::awaitable<beast::error_code> ReadRequest(RequestParser& parser);
  asio::awaitable<void> RejectAndClose(const beast::error_code& ec, RequestParser& parser,
                                       SteadyTime started);
  /// Answers `answer` with "Connection: close", records it, and closes (lingering).
  asio::awaitable<void> SendAndClose(ApiResponse answer, unsigned version,
                                     std::string correlation_id, std::string method,
                                     SteadyTime started);
  asio::awaitable<WireResponse> Answer(WireRequest& request, std::string& route);
  /// Hands the connection to the endpoint's hub, or answers why not and closes.
  asio::awaitable<void> Upgrade(const WebSocketEndpoint& endpoint, WireRequest& request,
                                SteadyTime started);
  asio::awaitable<void> LingeringClose();
  void ShutdownAndClose();
  /// Writes `response` as one buffer with one write: the bytes bhttp::async_write would send,
  /// without its serializer (http_wire.hpp). Returns the error and the bytes written.
  asio::awaitable<std::tuple<beast::error_code, size_t>> Write(const WireResponse& response);

  Runtime& runtime_;
  const HttpServerOptions& options_;
  beast::tcp_stream stream_;  // moved out on a WebSocket upgrade
  const asio::any_io_executor executor_;
  beast::flat_buffer buffer_;
  std::string client_address_;
  const uint64_t id_;
  // Accepted beyond HttpServerOptions::max_connections: answered 503 at once and closed.
  const bool over_capacity_;
  bool idle_ = false;  // only touched on the strand
  // Set on the strand before the stream is moved to a hub; read by ForceClose only once no
  // I/O thread runs.
  bool upgraded_ = false;
};

asio::awaitable<void> HttpServer::Runtime::Session::Serve() {
  if (over_capacity_) {
    // Cheap and immediate: nothing of the request is read, so a flood of connections cannot
    // make the server do more than write one short answer per connection.
    spdlog::warn("http: refusing a connection from {}: {} connections open", client_address_,
                 options_.max_connections);
    // Arguments are named first: GCC 12 mishandles temporaries in a co_await expression.
    ApiResponse answer = ErrorResponse(UnavailableError("too many connections; retry later"));
    std::string correlation_id = NewId();
    co_await SendAndClose(std::move(answer), 11, std::move(correlation_id), "",
                          std::chrono::steady_clock::now());
    co_return;
  }
  for (bool first = true;; first = false) {
    // Pipelined bytes may already hold the next request; otherwise wait for it, idle.
    if (buffer_.size() == 0) {
      if (runtime_.stopping_) {
        ShutdownAndClose();
        co_return;
      }
      if (!co_await AwaitFirstByte(first ? options_.read_timeout : options_.idle_timeout)) {
        co_return;
      }
    }

    const SteadyTime started = std::chrono::steady_clock::now();
    RequestParser parser;
    parser.body_limit(static_cast<std::uint64_t>(options_.max_body_bytes));
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    if (beast::error_code ec = co_await ReadRequest(parser)) {
      co_await RejectAndClose(ec, parser, started);
      co_return;
    }

    WireRequest& request = parser.get();
    if (options_.max_header_count > 0 &&
        static_cast<size_t>(std::distance(request.begin(), request.end())) >
            options_.max_header_count) {
      const std::string_view given = request["X-Correlation-Id"];
      std::string correlation_id = IsAcceptableCorrelationId(given) ? std::string(given) : NewId();
      std::string method(request.method_string());
      ApiResponse answer = ErrorResponse(Error{
          ErrorCode::kPayloadTooLarge,
          "request has more than " + std::to_string(options_.max_header_count) + " header fields",
          {}});
      co_await SendAndClose(std::move(answer), request.version(), std::move(correlation_id),
                            std::move(method), started);
      co_return;
    }
    if (const WebSocketEndpoint* endpoint = runtime_.WebSocketFor(request)) {
      co_await Upgrade(*endpoint, request, started);
      co_return;
    }

    const bool keep_alive = request.keep_alive();
    HttpRequestRecord record;
    record.method = std::string(request.method_string());
    record.request_body_bytes = request.body().size();
    WireResponse response = co_await Answer(request, record.route);
    response.keep_alive(keep_alive && !runtime_.stopping_);

    stream_.expires_after(options_.read_timeout);
    auto [write_ec, written] = co_await Write(response);
    record.status = static_cast<int>(response.result_int());
    record.response_bytes = written;
    record.duration_seconds = SecondsSince(started);
    runtime_.Record(record);
    if (write_ec) {
      spdlog::debug("http: write to {} failed: {}", client_address_, write_ec.message());
      stream_.close();
      co_return;
    }
    if (!response.keep_alive()) {
      ShutdownAndClose();
      co_return;
    }
  }
}

// Waits for the first byte of a request. This is the only state in which Stop() closes a
// connection outright, so the wait is marked idle for CloseIfIdle (both run on the strand;
// `stopping_` was checked just before, so a Stop() racing with us cancels this read).
asio::awaitable<bool> HttpServer::Runtime::Session::AwaitFirstByte(
    std::chrono::milliseconds timeout) {
  stream_.expires_after(timeout);
  idle_ = true;
  auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kFirstReadBytes), kAsTuple);
  idle_ = false;
  if (ec) {
    // End of stream, timeout, reset or Stop(): nothing was asked, nothing to answer.
    spdlog::trace("http: connection from {} ends: {}", client_address_, ec.message());
    stream_.close();
    co_return false;
  }
  buffer_.commit(n);
  co_return true;
}

asio::awaitable<beast::error_code> HttpServer::Runtime::Session::ReadRequest(
    RequestParser& parser) {
  // One deadline for the whole request (header and body), so a slow sender cannot hold the
  // connection longer than read_timeout.
  stream_.expires_after(options_.read_timeout);
  auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, kAsTuple);
  if (ec || parser.is_done()) co_return ec;

  const WireRequest& head = parser.get();
  // Clients such as curl ask before sending a large body; answering saves them a pause.
  if (head.version() >= 11 && IEquals(head[bhttp::field::expect], "100-continue")) {
    bhttp::response<bhttp::empty_body> proceed{bhttp::status::continue_, head.version()};
    auto [write_ec, written] = co_await bhttp::async_write(stream_, proceed, kAsTuple);
    if (write_ec) co_return write_ec;
  }
  auto [body_ec, body_n] = co_await bhttp::async_read(stream_, buffer_, parser, kAsTuple);
  co_return body_ec;
}

asio::awaitable<void> HttpServer::Runtime::Session::RejectAndClose(const beast::error_code& ec,
                                                                   RequestParser& parser,
                                                                   SteadyTime started) {
  std::optional<Error> error;
  if (ec == bhttp::error::body_limit) {
    error = Error{ErrorCode::kPayloadTooLarge,
                  "request body exceeds " + std::to_string(options_.max_body_bytes) + " bytes",
                  {}};
  } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    // 431 is not part of API.md's code list: oversized headers are a payload too large.
    error = Error{ErrorCode::kPayloadTooLarge,
                  "request headers exceed " + std::to_string(options_.max_header_bytes) + " bytes",
                  {}};
  } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    error = ValidationError("malformed HTTP request: " + ec.message());
  }
  if (!error) {
    // The peer left or was too slow (timeout): there is nobody to answer.
    spdlog::debug("http: reading from {} failed: {}", client_address_, ec.message());
    stream_.close();
    co_return;
  }
  spdlog::info("http: rejecting request from {}: {}", client_address_, error->message);

  unsigned version = 11;
  std::string correlation_id;
  if (parser.is_header_done()) {
    version = parser.get().version();
    std::string_view given = parser.get()["X-Correlation-Id"];
    if (IsAcceptableCorrelationId(given)) correlation_id = std::string(given);
  }
  if (correlation_id.empty()) correlation_id = NewId();
  // The request line is stored as soon as it is parsed (before a limit on the headers or the
  // body can fail); it is empty when the request line itself was the problem.
  ApiResponse answer = ErrorResponse(*error);
  std::string method(parser.get().method_string());
  co_await SendAndClose(std::move(answer), version, std::move(correlation_id), std::move(method),
                        started);
}

asio::awaitable<void> HttpServer::Runtime::Session::SendAndClose(ApiResponse answer,
                                                                 unsigned version,
                                                                 std::string correlation_id,
                                                                 std::string method,
                                                                 SteadyTime started) {
  WireResponse response = ToWire(std::move(answer), version, correlation_id, false);
  response.keep_alive(false);
  stream_.expires_after(options_.read_timeout);
  auto [write_ec, written] = co_await Write(response);
  HttpRequestRecord record;
  record.method = std::move(method);
  record.route = kUnmatchedRoute;
  record.status = static_cast<int>(response.result_int());
  record.response_bytes = written;
  record.duration_seconds = SecondsSince(started);
  runtime_.Record(record);
  if (write_ec) {
    stream_.close();
    co_return;
  }
  co_await LingeringClose();
}

asio::awaitable<void> HttpServer::Runtime::Session::Upgrade(const WebSocketEndpoint& endpoint,
                                                            WireRequest& request,
                                                            SteadyTime started) {
  HttpRequestRecord record;
  record.method = std::string(request.method_string());
  record.route = endpoint.path;

  const std::string_view given_id = request["X-Correlation-Id"];
  const std::string correlation_id =
      IsAcceptableCorrelationId(given_id) ? std::string(given_id) : NewId();
  std::optional<ApiResponse> refusal;
  WebSocketHub::Interest interest;  // from the target, once admitted
  if (runtime_.stopping_) {
    refusal = ErrorResponse(UnavailableError("the server is shutting down"));
  } else if (auto problem = CheckWebSocketHandshake(request)) {
    refusal = ErrorResponse(*problem);
    refusal->headers.emplace_back("Sec-WebSocket-Version", "13");
  } else if (auto denied = runtime_.Guard(
                 UpgradeAsApiRequest(request, correlation_id, client_address_), endpoint.path)) {
    refusal = std::move(denied);  // before Admit: an anonymous client learns nothing more
  } else if (auto admitted = endpoint.hub->Admit(std::string_view(request.target()))) {
    interest = std::move(*admitted);
  } else {
    refusal = ErrorResponse(admitted.error());
  }

  if (refusal) {
    spdlog::info("http: refusing a WebSocket upgrade from {}: {}", client_address_,
                 refusal->status);
    ApiResponse answer = std::move(*refusal);
    WireResponse response = ToWire(std::move(answer), request.version(), correlation_id, false);
    response.keep_alive(false);
    stream_.expires_after(options_.read_timeout);
    auto [write_ec, written] = co_await Write(response);
    record.status = static_cast<int>(response.result_int());
    record.response_bytes = written;
    record.duration_seconds = SecondsSince(started);
    runtime_.Record(record);
    // A client must not send anything before the handshake's answer (RFC 6455 4.1), so there
    // is no unread data that would turn the close into a reset.
    ShutdownAndClose();
    co_return;
  }

  // From here the connection belongs to the hub: it closes it, and Stop() asks the hub (not
  // this session) to. Bytes the client sent after its request are not carried over, since a
  // client must wait for the handshake's answer first.
  upgraded_ = true;
  auto on_handshake = [this, &record, started](int status) {
    record.status = status;
    record.duration_seconds = SecondsSince(started);
    runtime_.Record(record);
  };
  co_await endpoint.hub->Serve(std::move(stream_), std::move(request), std::move(interest),
                               std::move(on_handshake));
}

asio::awaitable<WireResponse> HttpServer::Runtime::Session::Answer(WireRequest& request,
                                                                   std::string& route) {
  const auto started = std::chrono::steady_clock::now();
  ApiRequest api;
  api.method = std::string(request.method_string());
  api.client_address = client_address_;
  api.headers.reserve(static_cast<size_t>(std::distance(request.begin(), request.end())));
  for (const auto& field : request) {
    api.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  const std::string_view given_id = request["X-Correlation-Id"];
  api.correlation_id = IsAcceptableCorrelationId(given_id) ? std::string(given_id) : NewId();
  api.body = std::move(request.body());

  ApiResponse answer = co_await runtime_.Dispatch(api, request.target(), route);

  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  // The path only: a query string may carry a credential (access_token), never logged.
  spdlog::debug("http: {} {} -> {} in {} us [correlationId={}]", api.method, api.path,
                answer.status, elapsed.count(), api.correlation_id);
  co_return ToWire(std::move(answer), request.version(), api.correlation_id, api.method == "HEAD");
}

asio::awaitable<void> HttpServer::Runtime::Session::LingeringClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec && !runtime_.stopping_) {
    // Nothing of value is left on this connection: Stop() may cut the drain short.
    idle_ = true;
    stream_.expires_after(std::min(options_.read_timeout, kMaxLinger));
    std::array<char, 16384> sink;
    while (true) {
      auto [read_ec, n] = co_await stream_.async_read_some(asio::buffer(sink), kAsTuple);
      if (read_ec) break;
    }
    idle_ = false;
  }
  stream_.close();
}

asio::awaitable<std::tuple<beast::error_code, size_t>> HttpServer::Runtime::Session::Write(
    const WireResponse& response) {
  const std::string wire = http_internal::SerializeResponse(response);
  co_return co_await asio::async_write(stream_, asio::buffer(wire), kAsTuple);
}

void HttpServer::Runtime::Session::ShutdownAndClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

asio::awaitable<ApiResponse> HttpServer::Runtime::Dispatch(ApiRequest& request,
                                                           std::string_view target,
                                                           std::string& route) {
  route = kUnmatchedRoute;
  auto parsed = ParseRequestTarget(target);
  if (!parsed) co_return ErrorResponse(parsed.error());
  request.path = std::move(parsed->path);
  request.query = std::move(parsed->query);

  RouteMatch match = router_.MatchSegments(request.method, parsed->segments);
  const ApiHandler* handler = nullptr;
  switch (match.kind) {
    case RouteMatch::Kind::kFound:
      request.path_params = std::move(match.path_params);
      handler = match.handler;
      route = *match.pattern;
      break;
    case RouteMatch::Kind::kMethodNotAllowed: {
      ApiResponse answer =
          ErrorResponse(Error{ErrorCode::kMethodNotAllowed,
                              "method " + request.method + " is not allowed on " + request.path,
                              {}});
      answer.headers.emplace_back("Allow", Join(match.allowed_methods, ", "));
      co_return answer;
    }
    case RouteMatch::Kind::kNotFound:
      if (!fallback_) co_return ErrorResponse(NotFoundError("no resource at " + request.path));
      handler = &fallback_;
      route = kFallbackRoute;
      break;
  }

  if (auto refusal = Guard(request, route)) co_return std::move(*refusal);

  // Exceptions are bugs (principle 5): log them with the context needed to find the bug, and
  // answer a generic 500 that leaks nothing of the exception's text.
  std::optional<ApiResponse> answer;
  try {
    answer = co_await (*handler)(request);
  } catch (const std::exception& e) {
    spdlog::error("http: handler of {} {} threw: {} [correlationId={}]", request.method,
                  request.path, e.what(), request.correlation_id);
  } catch (...) {
    spdlog::error("http: handler of {} {} threw a non-standard exception [correlationId={}]",
                  request.method, request.path, request.correlation_id);
  }
  if (!answer) co_return ErrorResponse(InternalError("internal server error"));
  co_return std::move(*answer);
}

asio::awaitable<void> HttpServer::Runtime::Accept() {
  while (true) {
    tcp::socket socket(SerialExecutor());
    auto [ec] = co_await acceptor_->async_accept(socket, kAsTuple);
    if (ec == asio::error::operation_aborted || stopping_) co_return;
    if (ec) {
      // Typically EMFILE: refusing one connection must not end the server.
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(co_await asio::this_coro::executor, kAcceptRetryDelay);
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    http_internal::TuneAcceptedSocket(socket);
    const uint64_t id = next_session_id_++;
    bool over_capacity = false;
    {
      std::lock_guard lock(mutex_);
      over_capacity = options_.max_connections > 0 && sessions_.size() >= options_.max_connections;
    }
    auto session = std::make_shared<Session>(*this, std::move(socket), id, over_capacity);
    {
      std::lock_guard lock(mutex_);
      sessions_.emplace(id, session);
    }
    auto executor = session->executor();
    asio::co_spawn(executor, Session::Run(std::move(session)), LogFailure("connection"));
  }
}

void HttpServer::Runtime::AddWebSocket(WebSocketHub& hub, std::string path) {
  if (state_ != State::kCreated) throw std::logic_error("HttpServer::AddWebSocket after Start");
  if (path.empty() || path.front() != '/' || path.find(':') != std::string::npos) {
    throw std::invalid_argument("WebSocket path must be a literal path starting with '/': " + path);
  }
  auto core = http_internal::CoreOf(hub);
  core->Attach();  // throws if another server serves it
  try {
    // A plain GET (no upgrade) gets a JSON error through the router; other methods get 405.
    router_.Add({Route{"GET", path, [path](ApiRequest&) -> asio::awaitable<ApiResponse> {
                         ApiResponse answer =
                             ErrorResponse(ValidationError(
                                 path + " is a WebSocket endpoint: send an upgrade request "
                                        "(Connection: Upgrade, Upgrade: websocket)"));
                         answer.headers.emplace_back("Upgrade", "websocket");
                         co_return answer;
                       }}});
  } catch (...) {
    core->Detach();
    throw;
  }
  websockets_.push_back(WebSocketEndpoint{std::move(path), std::move(core)});
}

const HttpServer::Runtime::WebSocketEndpoint* HttpServer::Runtime::WebSocketFor(
    const WireRequest& request) const {
  if (websockets_.empty() || !websocket::is_upgrade(request)) return nullptr;
  auto parsed = ParseRequestTarget(request.target());
  if (!parsed) return nullptr;
  // Through the router, so that the path matches exactly as the plain GET route does
  // (trailing slash, percent-decoding).
  RouteMatch match = router_.MatchSegments("GET", parsed->segments);
  if (match.kind != RouteMatch::Kind::kFound) return nullptr;
  for (const auto& endpoint : websockets_) {
    if (endpoint.path == *match.pattern) return &endpoint;
  }
  return nullptr;
}

std::optional<ApiResponse> HttpServer::Runtime::Guard(ApiRequest& request,
                                                      std::string_view route) const {
  if (!options_.guard) return std::nullopt;
  try {
    return options_.guard(request, route);
  } catch (const std::exception& e) {
    spdlog::error("http: the guard threw on {} {}: {} [correlationId={}]", request.method, route,
                  e.what(), request.correlation_id);
  } catch (...) {
    spdlog::error("http: the guard threw a non-standard exception [correlationId={}]",
                  request.correlation_id);
  }
  return ErrorResponse(InternalError("internal server error"));
}

void HttpServer::Runtime::Record(const HttpRequestRecord& record) const {
  if (!options_.on_request) return;
  try {
    options_.on_request(record);
  } catch (const std::exception& e) {
    spdlog::error("http: the on_request observer threw: {}", e.what());
  } catch (...) {
    spdlog::error("http: the on_request observer threw a non-standard exception");
  }
}

void HttpServer::Runtime::Unregister(uint64_t id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
  if (sessions_.empty()) sessions_done_.notify_all();
}

std::vector<std::shared_ptr<HttpServer::Runtime::Session>> HttpServer::Runtime::LiveSessions() {
  std::vector<std::shared_ptr<Session>> live;
  std::lock_guard lock(mutex_);
  for (const auto& [id, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

void HttpServer::Runtime::RunIo() {
  while (true) {
    try {
      io_->run();
      return;
    } catch (const std::exception& e) {
      // Handlers' exceptions are caught per request; anything reaching here is a bug in a
      // completion handler. Keep the thread serving rather than losing it silently.
      spdlog::error("http: I/O thread caught: {}", e.what());
    }
  }
}

Result<int> HttpServer::Runtime::Start() {
  if (state_ == State::kRunning) throw std::logic_error("HttpServer::Start: already running");
  if (state_ == State::kStopped) throw std::logic_error("HttpServer::Start: already stopped");

  const std::string where = options_.host + ":" + std::to_string(options_.port);
  auto fail = [&](const std::string& reason) -> Result<int> {
    acceptor_.reset();
    io_.reset();
    spdlog::error("http: cannot listen on {}: {}", where, reason);
    return UnavailableError("cannot listen on " + where + ": " + reason);
  };
  if (options_.port < 0 || options_.port > 65535) return fail("port out of range");

  io_.emplace(options_.threads);
  beast::error_code ec;
  tcp::endpoint endpoint;
  const auto port = static_cast<unsigned short>(options_.port);
  if (auto address = asio::ip::make_address(options_.host, ec); !ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    // A host name: resolve it once, at start-up, where blocking is fine.
    tcp::resolver resolver(*io_);
    auto results =
        resolver.resolve(options_.host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec) return fail(ec.message());
    if (results.empty()) return fail("host not found");
    endpoint = results.begin()->endpoint();
  }

  acceptor_.emplace(*io_);
  if (acceptor_->open(endpoint.protocol(), ec); ec) return fail(ec.message());
  // Lets a restarted process bind while old connections sit in TIME_WAIT; on Linux it does not
  // allow two listeners on one port, so a port in use still fails below.
  if (acceptor_->set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return fail(ec.message());
  }
  if (acceptor_->bind(endpoint, ec); ec) return fail(ec.message());
  if (acceptor_->listen(asio::socket_base::max_listen_connections, ec); ec) {
    return fail(ec.message());
  }
  const auto local = acceptor_->local_endpoint(ec);
  if (ec) return fail(ec.message());
  port_ = local.port();

  accept_executor_.emplace(SerialExecutor());
  work_.emplace(io_->get_executor());
  asio::co_spawn(*accept_executor_, Accept(), LogFailure("accept loop"));
  threads_.reserve(static_cast<size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this] {
      SetThreadName("http-io");
      RunIo();
    });
  state_ = State::kRunning;
  spdlog::info("http: listening on {}:{} ({} thread(s))", local.address().to_string(), local.port(),
               options_.threads);
  return port_.load();
}

void HttpServer::Runtime::Stop() {
  if (state_ != State::kRunning) return;
  if (io_->get_executor().running_in_this_thread()) {
    throw std::logic_error("HttpServer::Stop called from one of its own I/O threads");
  }
  stopping_ = true;

  // 1. No new connections.
  asio::post(*accept_executor_, [this] {
    beast::error_code ec;
    acceptor_->close(ec);
  });
  // 2. Idle connections go now; busy ones finish their request and then close. WebSocket
  // clients get a close frame and are cut off after half the grace if they do not answer
  // (e.g. a client that stopped reading, whose socket is stuck behind a write).
  for (auto& session : LiveSessions()) {
    asio::post(session->executor(), [session] { session->CloseIfIdle(); });
  }
  for (auto& endpoint : websockets_) endpoint.hub->CloseAll(options_.shutdown_grace / 2);
  // 3. Wait for them, within the grace period.
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    drained = sessions_done_.wait_for(lock, options_.shutdown_grace,
                                      [this] { return sessions_.empty(); });
  }

  // 4. Stop the I/O threads. Nothing runs on the io_context afterwards, so what is left can be
  // touched from here without strands.
  work_.reset();
  io_->stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  beast::error_code ec;
  acceptor_->close(ec);
  // Whatever WebSocket client is left (still handshaking, or past the grace) is closed and
  // forgotten, so that a late Broadcast posts nothing to the stopped io_context.
  for (auto& endpoint : websockets_) endpoint.hub->AbandonAll();
  if (!drained) {
    auto left = LiveSessions();
    spdlog::warn("http: {} connection(s) still busy after the {} ms grace period; closing them",
                 left.size(), options_.shutdown_grace.count());
    // Their sockets close now so clients do not hang; their suspended handlers are destroyed
    // with the io_context (in the destructor), after the composition root stopped whatever
    // could still complete them.
    for (auto& session : left) session->ForceClose();
  }
  state_ = State::kStopped;
  spdlog::info("http: stopped");
}

HttpServer::HttpServer(HttpServerOptions options, std::vector<Route> routes)
    : runtime_(std::make_unique<Runtime>(std::move(options), Router(std::move(routes)))) {}

HttpServer::~HttpServer() = default;

void HttpServer::AddRoutes(std::vector<Route> routes) { runtime_->AddRoutes(std::move(routes)); }
void HttpServer::SetFallback(ApiHandler handler) { runtime_->SetFallback(std::move(handler)); }
void HttpServer::AddWebSocket(WebSocketHub& hub, std::string path) {
  runtime_->AddWebSocket(hub, std::move(path));
}
Result<int> HttpServer::Start() { return runtime_->Start(); }
void HttpServer::Stop() { runtime_->Stop(); }
int HttpServer::port() const { return runtime_->port(); }
bool HttpServer::stopping() const { return runtime_->stopping(); }

}  // namespace shopflow
