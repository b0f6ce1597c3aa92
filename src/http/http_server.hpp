#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/result.hpp"

namespace shopflow {

class WebSocketHub;

/// One request as the server answered it, for metrics and access logs (HttpServerOptions::
/// on_request).
struct HttpRequestRecord {
  /// As received ("GET", "POST", ...; any token a client sends). Empty when the request was
  /// rejected before its request line could be parsed. Normalize before using it as a metric
  /// label.
  std::string method;
  /// The matched route's pattern ("/api/orders/:id"), "fallback" when the fallback handler
  /// answered, or "unmatched" for everything no route handled: 404, 405, a malformed target,
  /// a request rejected while being read (413, 400). A WebSocket path counts as a route (its
  /// upgrades are recorded with status 101). The set of values is bounded by the route table.
  std::string route;
  int status = 0;
  /// From the start of reading the request to the end of writing the answer (for an upgrade:
  /// to the end of the opening handshake).
  double duration_seconds = 0;
  uint64_t request_body_bytes = 0;
  /// Bytes of the answer written (status line, headers and body; less if the write failed).
  uint64_t response_bytes = 0;
};

/// Settings of an HttpServer (app/ fills them from Settings).
struct HttpServerOptions {
  std::string host = "127.0.0.1";      // an address or a name resolved at Start()
  int port = 0;                        // 0: an ephemeral port, reported by Start()
  int threads = 1;                     // I/O threads running the server's own io_context
  size_t max_body_bytes = 1 << 20;     // larger bodies → 413 payload_too_large
  size_t max_header_bytes = 16 << 10;  // request line + headers; larger → 413 as well
  /// Limit for receiving one request (from its first byte) and for sending one response; also
  /// how long a new connection may stay silent. On expiry the connection is closed silently.
  std::chrono::milliseconds read_timeout{30000};
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60000};
  /// How long Stop() lets in-flight requests finish before it cuts them off. WebSocket clients
  /// get a close frame at once and are cut off after half of it.
  std::chrono::milliseconds shutdown_grace{5000};
  /// Observes every answered request (metrics): called once per answer, after it was written
  /// (also when writing it failed), on the connection's I/O thread and outside any lock of the
  /// server. Must be quick, non-blocking and thread-safe (connections run in parallel); an
  /// exception it throws is logged and ignored. Requests whose peer left or timed out before
  /// an answer was due are not reported. May be empty.
  std::function<void(const HttpRequestRecord&)> on_request;
  /// Runs after routing and before the handler, for every request a route or the fallback will
  /// answer and for every WebSocket upgrade (`route`: the matched pattern, "fallback", or the
  /// WebSocket path): authentication, authorization and rate limiting (src/security). It may
  /// set request.principal; returning an answer sends that instead of calling the handler (or
  /// instead of upgrading). Called on the connection's strand; must be quick, non-blocking and
  /// thread-safe. An exception it throws becomes a 500. May be empty (everything allowed).
  std::function<std::optional<ApiResponse>(ApiRequest& request, std::string_view route)> guard;
  /// Connections open at once (WebSocket clients included). Beyond it a new connection gets an
  /// immediate 503 unavailable and is closed. 0: no limit.
  size_t max_connections = 10000;
  /// Request header fields at most; more → 413 payload_too_large.
  size_t max_header_count = 100;
};

/// The HTTP/1.1 server of shopflow: serves an explicit route table of transport-neutral
/// handlers (core/api.hpp) over Boost.Beast, one coroutine and one strand per connection, with
/// keep-alive, request limits, X-Correlation-Id handling and the API.md error shape for every
/// failure it answers itself (404, 405, 400, 413, 500).
///
/// Handlers run on the connection's strand: they may co_await anything that resumes on the
/// coroutine's executor, and must never block the thread (ARCHITECTURE.md principle 3). An
/// exception escaping a handler becomes a 500 "internal" answer and is logged; the server stays
/// up. Handler objects (and whatever they reference) must outlive Stop().
///
/// Lifecycle and thread-safety: configure (AddRoutes, SetFallback), then Start() once, then
/// Stop() (or destroy). Configuration calls and Start/Stop come from one controlling thread
/// and are not thread-safe with each other; Stop() must not be called from a handler (it joins
/// the I/O threads; it throws std::logic_error if it is).
///
/// Extension points for the composition root: AddRoutes() for routes that exist only in the
/// assembled process (health, metrics, OpenAPI), SetFallback() for requests no route matches
/// (static files of the dashboard), AddWebSocket() for the dashboard's live stream (/ws), and
/// HttpServerOptions::on_request to observe every answer (metrics). No Beast type appears
/// here: the upgrade hand-over lives in http/websocket_hub_core.hpp, internal to src/http.
class HttpServer {
 public:
  /// Builds the route table; throws std::invalid_argument on a malformed or duplicate route.
  /// Does not touch the network.
  HttpServer(HttpServerOptions options, std::vector<Route> routes);
  /// Stops the server if it is running (see Stop()).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Adds routes, with the same checks as the constructor. Only before Start(); afterwards it
  /// throws std::logic_error.
  void AddRoutes(std::vector<Route> routes);
  /// Serves requests whose path matches no route (instead of the 404 answer), e.g. static
  /// files. It is not consulted for 405 (the path exists with other methods). Only before
  /// Start(); afterwards it throws std::logic_error.
  void SetFallback(ApiHandler handler);
  /// Serves WebSocket clients of `hub` at `path` (a literal path such as "/ws"): an upgrade
  /// request there is handed to the hub (before routing); a GET without upgrade answers 400
  /// validation_failed, other methods 405. Upgrades are refused with 503 while stopping or when
  /// the hub is full. The hub's state is shared with the server, so the hub object itself may
  /// be destroyed first. Only before Start(); throws std::logic_error afterwards or when the
  /// hub is already attached to a server, std::invalid_argument for a malformed path or one a
  /// route already uses.
  void AddWebSocket(WebSocketHub& hub, std::string path = "/ws");

  /// Binds, listens and starts the I/O threads; returns the bound port. A failure to resolve,
  /// bind or listen is a value: kUnavailable "cannot listen on host:port: reason" (the server
  /// may then be started again). Calling it while running or after Stop() throws
  /// std::logic_error.
  Result<int> Start();

  /// Graceful stop: stops accepting, closes idle keep-alive connections, sends WebSocket
  /// clients a close frame ("going away", cut off after shutdown_grace / 2 if they do not
  /// answer), lets requests in flight finish (their answers carry "Connection: close") for up
  /// to shutdown_grace, then closes whatever is left, abandons handlers still suspended, and
  /// joins the I/O threads. Blocks until done. Idempotent; a no-op before Start().
  void Stop();

  /// The bound port while running (and after Stop()), 0 before Start().
  int port() const;
  /// True from the moment Stop() begins: a readiness probe can report "draining". Thread-safe.
  bool stopping() const;

 private:
  class Runtime;  // everything that needs Asio/Beast, defined in http_server.cpp
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace shopflow
