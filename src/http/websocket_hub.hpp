#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace shopflow {

class WebSocketHub;

namespace http_internal {
class HubCore;  // defined in http/websocket_hub_core.hpp (Beast; src/http only)
std::shared_ptr<HubCore> CoreOf(WebSocketHub& hub);
}  // namespace http_internal

/// Settings of a WebSocketHub.
struct WebSocketHubOptions {
  /// Bounds of one client's outgoing queue: frames accepted by Broadcast/Send and not yet handed
  /// to its socket. A frame that would exceed either bound drops the client (its connection is
  /// closed at once and counted in dropped_count()). A single frame larger than
  /// max_queued_bytes is still accepted into an empty queue. The live stream sends about a
  /// dozen frames per order: at a few hundred orders/s a healthy client falls a few hundred
  /// frames behind whenever its I/O thread is busy for a moment, so the frame bound is set to
  /// absorb a second or so of that, and the byte bound keeps the memory per client small.
  size_t max_queued_frames = 4096;
  size_t max_queued_bytes = 4 << 20;
  /// Largest message a client may send; a larger one closes its connection (close code 1009).
  size_t max_incoming_message_bytes = 64 << 10;
  /// Clients connected at once; further upgrade requests are answered 503 unavailable.
  size_t max_clients = 1024;
  /// The opening and the closing handshake must each finish within this time.
  std::chrono::milliseconds handshake_timeout{10000};
  /// A client that sends nothing for half of this gets a ping; if nothing (not even the pong)
  /// arrives for the other half, its connection is closed. Detects vanished peers.
  std::chrono::milliseconds idle_timeout{60000};
};

/// Counters of a WebSocketHub (monotonic except `clients`).
struct WebSocketHubStats {
  size_t clients = 0;             // connected and receiving broadcasts now
  uint64_t accepted = 0;          // opening handshakes completed
  uint64_t dropped = 0;           // clients dropped because their outgoing queue overflowed
  uint64_t frames_broadcast = 0;  // frames broadcast (topical ones: those some client wanted)
};

/// The server side of the WebSocket endpoint(s) of an HttpServer (e.g. the dashboard's /ws):
/// keeps the connected clients and fans frames out to them.
///
/// Frames are `std::shared_ptr<const std::string>` serialized once by the caller: every client
/// writes the same bytes from the same buffer (text frames), nothing is copied or serialized
/// per client. Each client has a bounded outgoing queue (WebSocketHubOptions); a client that
/// cannot keep up is dropped rather than slowing the publisher or growing memory.
///
/// Clients' messages: text messages go to the on-message hook if one is set, everything else
/// is ignored; pings are answered and close frames honoured by the protocol layer; a message
/// over max_incoming_message_bytes closes the connection.
///
/// Wiring: HttpServer::AddWebSocket(hub, "/ws") before the server starts; the hub then lives on
/// the server's I/O threads and HttpServer::Stop() closes its clients (close frame "going
/// away", cut off after half the shutdown grace at the latest).
///
/// Thread-safety: every method may be called from any thread, concurrently, including from
/// the hooks. Broadcast and Send never block on a client's I/O (they take short internal locks
/// and post to the client's strand). Lifetime: the hub may be destroyed before or after the
/// server it is attached to (they share its state), but Broadcast/Send must not run
/// concurrently with the destruction of that server (stop the event sources first).
class WebSocketHub {
 public:
  using ClientId = uint64_t;
  using Frame = std::shared_ptr<const std::string>;
  /// Called once per client after its opening handshake, on the client's I/O thread, once the
  /// client is registered: the frames it returns (a welcome snapshot) are sent before anything
  /// else. Broadcasts are never missed around it: one racing with the hook may be delivered
  /// after the snapshot even if the snapshot already contains its state, never before it.
  /// The frames do not count against the queue bounds. Must be quick and non-blocking (read a
  /// cached snapshot); an exception is logged and ignored.
  using ConnectHook = std::function<std::vector<Frame>(ClientId)>;
  /// Called on the client's I/O thread with each text message the client sends. Must be quick
  /// and non-blocking; an exception is logged and ignored.
  using MessageHook = std::function<void(ClientId, std::string_view)>;
  /// Which topical broadcasts (Broadcast(frame, topic)) a client receives; empty: all of them.
  /// Called on the broadcasting thread for every topical frame: must be quick and must not
  /// throw.
  using Interest = std::function<bool(std::string_view topic)>;
  /// Reads a client's interest from the target of its upgrade request (path and query), before
  /// the handshake. An error refuses the upgrade with that error's answer (e.g. 400 for a filter
  /// it cannot read). Called on an I/O thread; must be quick.
  using InterestParser = std::function<Result<Interest>(std::string_view target)>;

  explicit WebSocketHub(WebSocketHubOptions options = {});
  ~WebSocketHub();
  WebSocketHub(const WebSocketHub&) = delete;
  WebSocketHub& operator=(const WebSocketHub&) = delete;

  /// Queues `frame` to every connected client (a null frame is ignored). Clients whose queue
  /// would overflow are dropped. Never blocks on I/O; O(clients) with a short lock per client.
  void Broadcast(Frame frame);
  /// Builds a topical frame; returning null sends nothing.
  using FrameMaker = std::function<Frame()>;
  /// Queues the frame `make` builds to the clients interested in `topic` (every client without
  /// an interest). `make` runs at most once, and only when some client wants the topic: a frame
  /// nobody wants is never built. Its exceptions propagate.
  void Broadcast(std::string_view topic, const FrameMaker& make);
  /// Queues `frame` to one client; false if that client is gone (or was dropped by this call).
  bool Send(ClientId client, Frame frame);

  /// Replaces the hooks (nullptr removes them); effective for the next connection/message.
  void SetOnConnect(ConnectHook hook);
  void SetOnMessage(MessageHook hook);
  /// Replaces the interest parser (nullptr: every client receives everything); effective for
  /// the next connection.
  void SetInterestParser(InterestParser parser);

  size_t client_count() const;
  uint64_t dropped_count() const;
  WebSocketHubStats Stats() const;

 private:
  friend std::shared_ptr<http_internal::HubCore> http_internal::CoreOf(WebSocketHub& hub);
  std::shared_ptr<http_internal::HubCore> core_;
};

}  // namespace shopflow
