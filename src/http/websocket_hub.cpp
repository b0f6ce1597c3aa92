#include "http/websocket_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

#include "http/websocket_hub_core.hpp"

namespace shopflow {
namespace http_internal {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// The completion handler of every co_spawn: an escaped exception is logged, never dropped.
auto LogFailure(const char* what) {
  return [what](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("websocket: {} failed: {}", what, e.what());
    } catch (...) {
      spdlog::error("websocket: {} failed with a non-standard exception", what);
    }
  };
}

// Whether a comma-separated Sec-WebSocket-Protocol list names `protocol`.
bool OffersSubprotocol(std::string_view list, std::string_view protocol) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == protocol) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

/// One WebSocket client. Its stream and the `open_`/timer state are touched only on the
/// connection's strand (the executor of the socket the server accepted); the outgoing queue is
/// guarded by `mutex_` so that any thread can offer frames without a round trip to the strand.
class WsConnection : public std::enable_shared_from_this<WsConnection> {
 public:
  using ClientId = HubCore::ClientId;
  using Frame = HubCore::Frame;

  WsConnection(std::shared_ptr<HubCore> hub, beast::tcp_stream stream, ClientId id,
               WebSocketHub::Interest interest)
      : hub_(std::move(hub)),
        id_(id),
        interest_(std::move(interest)),
        ws_(std::move(stream)),
        executor_(ws_.get_executor()) {}
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  ClientId id() const { return id_; }
  /// Whether this client receives a broadcast with `topic`.
  bool Wants(std::string_view topic) const { return !interest_ || interest_(topic); }

  /// Handshake, then the read loop until the connection ends. On the strand.
  static asio::awaitable<void> Run(std::shared_ptr<WsConnection> self, UpgradeRequest request,
                                   std::function<void(int)> on_handshake);

  /// Queues a frame (any thread), dropping the client when the queue bounds would be exceeded.
  /// False when the client no longer accepts frames (or was dropped by this call).
  bool Offer(const Frame& frame);
  /// Starts the closing handshake (any thread); the socket is cut after `cut_off_after`.
  void CloseGracefully(std::chrono::milliseconds cut_off_after);
  /// Closes the socket from a thread that is not an I/O thread, once none runs any more.
  void Abandon();

 private:
  static asio::awaitable<void> WriteLoop(std::shared_ptr<WsConnection> self);
  static asio::awaitable<void> SendClose(std::shared_ptr<WsConnection> self);
  void StartClose(std::chrono::milliseconds cut_off_after);  // on the strand
  void Cut();                                                // on the strand
  void StopAccepting();                                      // any thread
  /// Ends the hold of a new client: `welcome` goes before whatever was queued meanwhile.
  void Release(std::vector<Frame> welcome);
  void StartWriterLocked();  // requires mutex_

  const std::shared_ptr<HubCore> hub_;
  const ClientId id_;
  const WebSocketHub::Interest interest_;
  websocket::stream<beast::tcp_stream> ws_;
  const asio::any_io_executor executor_;  // the connection's strand

  // Strand only.
  bool open_ = false;  // handshake done, read loop running
  std::optional<asio::steady_timer> cut_off_timer_;

  std::mutex mutex_;
  std::deque<Frame> queue_;     // guarded by mutex_
  size_t queued_bytes_ = 0;     // guarded by mutex_
  bool writer_active_ = false;  // guarded by mutex_: a WriteLoop is posted or running
  bool held_ = false;           // guarded by mutex_: queue but do not write yet
  bool closed_ = false;         // guarded by mutex_: accepts no more frames
};

asio::awaitable<void> WsConnection::Run(std::shared_ptr<WsConnection> self, UpgradeRequest request,
                                        std::function<void(int)> on_handshake) {
  // Unregisters also when the frame is destroyed while suspended (the server stopped past its
  // grace and destroys its io_context).
  struct Leave {
    WsConnection& connection;
    ~Leave() { connection.hub_->Unregister(connection.id_); }
  } leave{*self};

  const WebSocketHubOptions& options = self->hub_->options();
  auto& ws = self->ws_;
  // The WebSocket layer times the handshakes and idleness out; the TCP layer's timer (used
  // for HTTP requests) must be off, or it would cut an idle but healthy client.
  beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.handshake_timeout;
  timeouts.idle_timeout = options.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  // A browser cannot set Authorization on a WebSocket, so the dashboard may send its credential
  // as `Sec-WebSocket-Protocol: bearer, <credential>` (the HTTP server's guard checked it).
  // Browsers fail a handshake whose answer selects none of the offered subprotocols, so the
  // answer selects "bearer" (never echoing the credential).
  const bool bearer_offered =
      OffersSubprotocol(request[beast::http::field::sec_websocket_protocol], "bearer");
  ws.set_option(
      websocket::stream_base::decorator([bearer_offered](websocket::response_type& response) {
        response.set(beast::http::field::server, "shopflow");
        if (bearer_offered) response.set(beast::http::field::sec_websocket_protocol, "bearer");
      }));
  ws.read_message_max(options.max_incoming_message_bytes);
  ws.auto_fragment(false);  // one frame per message: the frame is written from the shared buffer
  ws.text(true);

  auto [accept_ec] = co_await ws.async_accept(request, kAsTuple);
  if (accept_ec) {
    // Beast answered an invalid handshake itself (400/426); other failures answered nothing.
    if (accept_ec == websocket::condition::handshake_failed && on_handshake) on_handshake(400);
    spdlog::debug("websocket: handshake with client {} failed: {}", self->id_, accept_ec.message());
    self->StopAccepting();
    self->Cut();
    co_return;
  }
  if (on_handshake) on_handshake(101);
  self->open_ = true;

  // Registered first (broadcasts queue up but are held), welcome frames second, put in front:
  // nothing broadcast after the hook read its snapshot can be missed, and the snapshot cannot
  // arrive after a newer broadcast. A broadcast racing with the hook may arrive as well.
  {
    std::lock_guard lock(self->mutex_);
    self->held_ = true;
  }
  if (self->hub_->Register(self)) {
    self->Release(self->hub_->WelcomeFrames(self->id_));
  } else {
    self->Release({});
    self->CloseGracefully(self->hub_->cut_off_after());
  }

  beast::flat_buffer buffer;
  while (true) {
    auto [read_ec, n] = co_await ws.async_read(buffer, kAsTuple);
    if (read_ec) {
      // closed: the peer's close handshake; message_too_big: Beast sent 1009 and closed;
      // timeout: an idle peer that answered no ping; anything else: the connection broke.
      spdlog::debug("websocket: client {} ends: {}", self->id_, read_ec.message());
      break;
    }
    if (ws.got_text()) {
      const auto data = buffer.cdata();
      self->hub_->OnMessage(self->id_,
                            std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer.consume(buffer.size());
  }
  self->open_ = false;
  self->StopAccepting();
  if (self->cut_off_timer_) self->cut_off_timer_->cancel();
  self->Cut();
}

bool WsConnection::Offer(const Frame& frame) {
  const WebSocketHubOptions& options = hub_->options();
  bool dropped = false;
  size_t queued_frames = 0;
  size_t queued_bytes = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    const bool full = !queue_.empty() && (queue_.size() >= options.max_queued_frames ||
                                          queued_bytes_ + frame->size() > options.max_queued_bytes);
    if (full) {
      queued_frames = queue_.size();
      queued_bytes = queued_bytes_;
      closed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      // Posting under the lock orders it before AbandonAll (which takes this lock), so nothing
      // is ever posted to an io_context that is going away. post() never runs the handler
      // inline, so this cannot re-enter the lock.
      asio::post(executor_, [self = shared_from_this()] { self->Cut(); });
      dropped = true;
    } else {
      queue_.push_back(frame);
      queued_bytes_ += frame->size();
      StartWriterLocked();
    }
  }
  if (dropped) {
    hub_->CountDrop();
    spdlog::warn("websocket: dropping slow client {} ({} frames, {} bytes waiting)", id_,
                 queued_frames, queued_bytes);
  }
  return !dropped;
}

void WsConnection::StartWriterLocked() {
  if (writer_active_ || held_ || closed_ || queue_.empty()) return;
  writer_active_ = true;
  // Posting under the lock orders it before AbandonAll (see Offer); never runs inline.
  asio::post(executor_, [self = shared_from_this()] {
    asio::co_spawn(self->executor_, WriteLoop(self), LogFailure("writer"));
  });
}

void WsConnection::Release(std::vector<Frame> welcome) {
  std::lock_guard lock(mutex_);
  held_ = false;
  if (closed_) return;
  for (auto it = welcome.rbegin(); it != welcome.rend(); ++it) {
    if (!*it) continue;
    queued_bytes_ += (*it)->size();
    queue_.push_front(std::move(*it));
  }
  StartWriterLocked();
}

asio::awaitable<void> WsConnection::WriteLoop(std::shared_ptr<WsConnection> self) {
  while (true) {
    Frame frame;
    {
      std::lock_guard lock(self->mutex_);
      if (self->closed_ || self->queue_.empty()) {
        self->writer_active_ = false;
        co_return;
      }
      frame = std::move(self->queue_.front());
      self->queue_.pop_front();
      self->queued_bytes_ -= frame->size();
    }
    // `frame` keeps the shared bytes alive until the write completes.
    auto [ec, n] = co_await self->ws_.async_write(asio::buffer(*frame), kAsTuple);
    if (ec) {
      spdlog::debug("websocket: writing to client {} failed: {}", self->id_, ec.message());
      {
        std::lock_guard lock(self->mutex_);
        self->writer_active_ = false;
      }
      self->StopAccepting();
      self->Cut();
      co_return;
    }
  }
}

void WsConnection::CloseGracefully(std::chrono::milliseconds cut_off_after) {
  std::lock_guard lock(mutex_);
  if (closed_) return;  // already dropped, closing or ended
  closed_ = true;
  queue_.clear();  // shutting down: pending frames are not worth waiting for
  queued_bytes_ = 0;
  asio::post(executor_,
             [self = shared_from_this(), cut_off_after] { self->StartClose(cut_off_after); });
}

void WsConnection::StartClose(std::chrono::milliseconds cut_off_after) {
  if (!open_) {
    // Still handshaking (or already over): there is no session to close politely.
    Cut();
    return;
  }
  // A client that does not answer the close frame (or whose socket is stuck behind a write it
  // never reads) is cut off; the close frame waits for a write in progress.
  cut_off_timer_.emplace(executor_, cut_off_after);
  cut_off_timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->Cut();
  });
  // Not open: the peer started the closing handshake and the read loop is finishing it.
  if (ws_.is_open()) asio::co_spawn(executor_, SendClose(shared_from_this()), LogFailure("close"));
}

asio::awaitable<void> WsConnection::SendClose(std::shared_ptr<WsConnection> self) {
  auto [ec] = co_await self->ws_.async_close(websocket::close_code::going_away, kAsTuple);
  // The read loop sees the end of the connection either way; nothing else to do here.
  if (ec) spdlog::debug("websocket: closing client {}: {}", self->id_, ec.message());
}

void WsConnection::Cut() {
  // Cancels whatever is pending (read, write, close) and closes the socket.
  beast::get_lowest_layer(ws_).close();
}

void WsConnection::StopAccepting() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
}

void WsConnection::Abandon() {
  StopAccepting();
  Cut();  // no I/O thread runs any more, so the strand is not needed
}

// --- HubCore ---

HubCore::HubCore(WebSocketHubOptions options)
    : options_(std::move(options)), receivers_(std::make_shared<const ClientList>()) {}

HubCore::~HubCore() = default;

void HubCore::Broadcast(Frame frame) {
  if (!frame) return;
  frames_broadcast_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const ClientList> receivers;
  {
    std::lock_guard lock(mutex_);
    receivers = receivers_;
  }
  for (const auto& connection : *receivers) connection->Offer(frame);
}

void HubCore::Broadcast(std::string_view topic, const WebSocketHub::FrameMaker& make) {
  std::shared_ptr<const ClientList> receivers;
  {
    std::lock_guard lock(mutex_);
    receivers = receivers_;
  }
  Frame frame;  // built for the first client that wants it
  for (const auto& connection : *receivers) {
    if (!connection->Wants(topic)) continue;
    if (!frame) {
      frame = make();
      if (!frame) return;
      frames_broadcast_.fetch_add(1, std::memory_order_relaxed);
    }
    connection->Offer(frame);
  }
}

bool HubCore::Send(ClientId client, Frame frame) {
  if (!frame) return false;
  std::shared_ptr<WsConnection> target;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(receivers_->begin(), receivers_->end(),
                           [client](const auto& connection) { return connection->id() == client; });
    if (it == receivers_->end()) return false;
    target = *it;
  }
  return target->Offer(frame);
}

void HubCore::SetOnConnect(WebSocketHub::ConnectHook hook) {
  auto shared = hook ? std::make_shared<const WebSocketHub::ConnectHook>(std::move(hook)) : nullptr;
  std::lock_guard lock(mutex_);
  on_connect_ = std::move(shared);
}

void HubCore::SetInterestParser(WebSocketHub::InterestParser parser) {
  auto shared =
      parser ? std::make_shared<const WebSocketHub::InterestParser>(std::move(parser)) : nullptr;
  std::lock_guard lock(mutex_);
  interest_parser_ = std::move(shared);
}

void HubCore::SetOnMessage(WebSocketHub::MessageHook hook) {
  auto shared = hook ? std::make_shared<const WebSocketHub::MessageHook>(std::move(hook)) : nullptr;
  std::lock_guard lock(mutex_);
  on_message_ = std::move(shared);
}

WebSocketHubStats HubCore::Stats() const {
  WebSocketHubStats stats;
  {
    std::lock_guard lock(mutex_);
    stats.clients = receivers_->size();
  }
  stats.accepted = accepted_.load(std::memory_order_relaxed);
  stats.dropped = dropped_.load(std::memory_order_relaxed);
  stats.frames_broadcast = frames_broadcast_.load(std::memory_order_relaxed);
  return stats;
}

void HubCore::Attach() {
  std::lock_guard lock(mutex_);
  if (attached_) throw std::logic_error("WebSocketHub is already attached to an HTTP server");
  attached_ = true;
}

void HubCore::Detach() {
  std::lock_guard lock(mutex_);
  attached_ = false;
}

Result<WebSocketHub::Interest> HubCore::Admit(std::string_view target) const {
  std::shared_ptr<const WebSocketHub::InterestParser> parser;
  {
    std::lock_guard lock(mutex_);
    if (closing_) return UnavailableError("the server is shutting down");
    if (connections_.size() >= options_.max_clients) {
      return UnavailableError("too many WebSocket clients (at most " +
                              std::to_string(options_.max_clients) + ")");
    }
    parser = interest_parser_;
  }
  if (!parser) return WebSocketHub::Interest{};
  try {
    return (*parser)(target);
  } catch (const std::exception& e) {
    return InternalError(std::string("cannot read the stream's filter: ") + e.what());
  }
}

asio::awaitable<void> HubCore::Serve(beast::tcp_stream stream, UpgradeRequest request,
                                     WebSocketHub::Interest interest,
                                     std::function<void(int status)> on_handshake) {
  const ClientId id = next_id_.fetch_add(1, std::memory_order_relaxed);
  auto connection = std::make_shared<WsConnection>(shared_from_this(), std::move(stream), id,
                                                   std::move(interest));
  {
    std::lock_guard lock(mutex_);
    connections_.emplace(id, connection);
  }
  co_await WsConnection::Run(std::move(connection), std::move(request), std::move(on_handshake));
}

void HubCore::CloseAll(std::chrono::milliseconds cut_off_after) {
  std::vector<std::shared_ptr<WsConnection>> all;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    cut_off_after_ = cut_off_after;
    all.reserve(connections_.size());
    for (const auto& [id, connection] : connections_) all.push_back(connection);
  }
  if (!all.empty()) spdlog::info("websocket: closing {} client(s)", all.size());
  for (const auto& connection : all) connection->CloseGracefully(cut_off_after);
}

void HubCore::AbandonAll() {
  std::map<ClientId, std::shared_ptr<WsConnection>> all;
  std::shared_ptr<const ClientList> receivers = std::make_shared<const ClientList>();
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    all.swap(connections_);
    receivers_.swap(receivers);
  }
  for (const auto& [id, connection] : all) connection->Abandon();
}

std::vector<HubCore::Frame> HubCore::WelcomeFrames(ClientId client) {
  std::shared_ptr<const WebSocketHub::ConnectHook> hook;
  {
    std::lock_guard lock(mutex_);
    hook = on_connect_;
  }
  if (!hook) return {};
  try {
    return (*hook)(client);
  } catch (const std::exception& e) {
    spdlog::error("websocket: connect hook failed for client {}: {}", client, e.what());
  } catch (...) {
    spdlog::error("websocket: connect hook failed for client {}", client);
  }
  return {};
}

void HubCore::OnMessage(ClientId client, std::string_view text) {
  std::shared_ptr<const WebSocketHub::MessageHook> hook;
  {
    std::lock_guard lock(mutex_);
    hook = on_message_;
  }
  if (!hook) return;  // no consumer of client messages: ignored
  try {
    (*hook)(client, text);
  } catch (const std::exception& e) {
    spdlog::error("websocket: message hook failed for client {}: {}", client, e.what());
  } catch (...) {
    spdlog::error("websocket: message hook failed for client {}", client);
  }
}

bool HubCore::Register(const std::shared_ptr<WsConnection>& connection) {
  std::shared_ptr<const ClientList> previous;  // released after the lock
  std::lock_guard lock(mutex_);
  accepted_.fetch_add(1, std::memory_order_relaxed);
  if (closing_) return false;
  auto receivers = std::make_shared<ClientList>(*receivers_);
  receivers->push_back(connection);
  previous = std::exchange(receivers_, std::move(receivers));
  return true;
}

void HubCore::Unregister(ClientId client) {
  // The last references may go here: release them after the lock.
  std::shared_ptr<WsConnection> removed;
  std::shared_ptr<const ClientList> previous;
  std::lock_guard lock(mutex_);
  if (auto it = connections_.find(client); it != connections_.end()) {
    removed = std::move(it->second);
    connections_.erase(it);
  }
  auto it = std::find_if(receivers_->begin(), receivers_->end(),
                         [client](const auto& connection) { return connection->id() == client; });
  if (it != receivers_->end()) {
    auto receivers = std::make_shared<ClientList>();
    receivers->reserve(receivers_->size() - 1);
    for (const auto& connection : *receivers_) {
      if (connection->id() != client) receivers->push_back(connection);
    }
    previous = std::exchange(receivers_, std::move(receivers));
  }
}

std::chrono::milliseconds HubCore::cut_off_after() const {
  std::lock_guard lock(mutex_);
  return cut_off_after_;
}

std::shared_ptr<HubCore> CoreOf(WebSocketHub& hub) { return hub.core_; }

}  // namespace http_internal

// --- WebSocketHub ---

WebSocketHub::WebSocketHub(WebSocketHubOptions options)
    : core_(std::make_shared<http_internal::HubCore>(std::move(options))) {}

WebSocketHub::~WebSocketHub() {
  // The server may still serve clients through the shared core: forget the owner's hooks so
  // that they are not called after the owner is gone.
  core_->SetOnConnect(nullptr);
  core_->SetOnMessage(nullptr);
  core_->SetInterestParser(nullptr);
}

void WebSocketHub::Broadcast(Frame frame) { core_->Broadcast(std::move(frame)); }
void WebSocketHub::Broadcast(std::string_view topic, const FrameMaker& make) {
  core_->Broadcast(topic, make);
}
bool WebSocketHub::Send(ClientId client, Frame frame) {
  return core_->Send(client, std::move(frame));
}
void WebSocketHub::SetOnConnect(ConnectHook hook) { core_->SetOnConnect(std::move(hook)); }
void WebSocketHub::SetOnMessage(MessageHook hook) { core_->SetOnMessage(std::move(hook)); }
void WebSocketHub::SetInterestParser(InterestParser parser) {
  core_->SetInterestParser(std::move(parser));
}
size_t WebSocketHub::client_count() const { return core_->Stats().clients; }
uint64_t WebSocketHub::dropped_count() const { return core_->Stats().dropped; }
WebSocketHubStats WebSocketHub::Stats() const { return core_->Stats(); }

}  // namespace shopflow
