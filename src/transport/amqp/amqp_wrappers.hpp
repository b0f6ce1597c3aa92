#pragma once

// Internal to src/transport/amqp: the only header that includes rabbitmq-c, included only by
// this directory's .cpp files (ARCHITECTURE.md principle 2).

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "events/topology.hpp"
#include "transport/amqp/amqp_url.hpp"
#include "transport/amqp/wire_message.hpp"

namespace shopflow::amqp {

/// Owns a rabbitmq-c connection state (and the socket it owns).
struct ConnectionStateDeleter {
  void operator()(amqp_connection_state_t state) const noexcept { amqp_destroy_connection(state); }
};
using ConnectionStatePtr = std::unique_ptr<amqp_connection_state_t_, ConnectionStateDeleter>;

/// An AMQP table viewing `headers` (each value a long string). Borrows: `headers` must outlive
/// the view and stay unmodified.
class HeadersTable {
 public:
  explicit HeadersTable(const Headers& headers);
  HeadersTable(const HeadersTable&) = delete;
  HeadersTable& operator=(const HeadersTable&) = delete;
  const amqp_table_t& table() const { return table_; }

 private:
  std::vector<amqp_table_entry_t> entries_;
  amqp_table_t table_{};
};

/// The string view of an AMQP headers table: strings and byte strings as they are, integers and
/// floats in decimal, booleans as "true"/"false", timestamps as seconds; arrays, nested tables,
/// decimals and voids are skipped (only the broker's x-death uses them).
Headers HeadersFromTable(const amqp_table_t& table);
/// Copies the properties shopflow uses out of a decoded content header.
MessageProperties PropertiesFromAmqp(const amqp_basic_properties_t& properties);

/// AMQP basic properties viewing `properties` (borrowed, like HeadersTable).
class PropertiesView {
 public:
  explicit PropertiesView(const MessageProperties& properties);
  PropertiesView(const PropertiesView&) = delete;
  PropertiesView& operator=(const PropertiesView&) = delete;
  const amqp_basic_properties_t& get() const { return properties_; }

 private:
  HeadersTable headers_;
  amqp_basic_properties_t properties_{};
};

/// A readable description of an RPC reply ("connection closed by the broker: 320
/// CONNECTION_FORCED - ...", "a socket error occurred", ...).
std::string DescribeReply(const amqp_rpc_reply_t& reply);

struct ConnectionOptions {
  std::string name = "shopflow";  // the connection_name client property (shown by the broker)
  std::chrono::seconds heartbeat{10};
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect and AMQP handshake
  std::chrono::milliseconds rpc_timeout{30000};     // each synchronous method (declare, ...)
};

/// A publisher confirm (basic.ack or basic.nack).
struct Confirm {
  uint16_t channel = 0;
  uint64_t delivery_tag = 0;
  bool multiple = false;
  bool ack = true;
};

/// A mandatory message the broker could not route (basic.return plus its content).
struct Returned {
  uint16_t channel = 0;
  uint16_t reply_code = 0;
  std::string reply_text;
  std::string exchange;
  std::string routing_key;
  MessageProperties properties;
};

using InboundEvent = std::variant<InboundMessage, Confirm, Returned>;

/// One AMQP connection: blocking, NOT thread-safe (rabbitmq-c connections never are): each
/// instance is used by one thread at a time. Any error leaves it unusable; the owner destroys it
/// and opens another. Destruction closes it gracefully (connection.close) when it is still
/// healthy, else just drops the socket.
class Connection {
 public:
  /// Connects, logs in with heartbeats and the client properties (connection name, and the
  /// connection.blocked and consumer_cancel_notify capabilities). kUnavailable when the broker
  /// cannot be reached or refuses the login.
  static Result<std::unique_ptr<Connection>> Open(const AmqpUrl& url,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<void> OpenChannel(uint16_t channel);
  /// Puts `channel` in confirm mode; its publishes are then numbered 1, 2, ...
  Result<void> SelectConfirms(uint16_t channel);
  Result<void> SetPrefetch(uint16_t channel, uint16_t count);
  /// Declares every exchange, queue (with its arguments) and binding of `topology`, in that
  /// order. Idempotent for an equal topology; a queue declared before with other arguments →
  /// kInternal (PRECONDITION_FAILED, which also closes the channel).
  Result<void> DeclareTopology(uint16_t channel, const Topology& topology);
  /// Starts consuming `queue` with manual acknowledgements (or, with `no_ack`, without: the
  /// broker forgets each message once sent; for monitoring copies that may be lost).
  Result<void> Consume(uint16_t channel, const std::string& queue, bool no_ack = false);
  /// Declares a server-named, exclusive, auto-deleted, non-durable queue holding at most
  /// `max_length` messages (the oldest are dropped beyond it) and returns its name. It
  /// disappears with this connection.
  Result<std::string> DeclarePrivateQueue(uint16_t channel, int64_t max_length);
  Result<void> BindQueue(uint16_t channel, const std::string& queue, const std::string& exchange,
                         const std::string& routing_key);

  /// Sends one message (no wait). mandatory: the broker returns it when no queue is bound.
  Result<void> Publish(uint16_t channel, const OutgoingMessage& message, bool mandatory);
  Result<void> Ack(uint16_t channel, uint64_t delivery_tag, bool multiple);

  /// Reads frames until one complete event (a delivery, a confirm or a returned message) or
  /// until `timeout` passes (then std::nullopt; a zero timeout polls). Heartbeats are sent and
  /// checked on the way. A channel or connection closed by the broker, a cancelled consumer, a
  /// missed heartbeat or a socket error → kUnavailable (the connection is then unusable).
  Result<std::optional<InboundEvent>> Next(std::chrono::milliseconds timeout);
  /// Whether bytes or frames are already buffered (Next(0) would not touch the socket).
  bool HasBufferedInput() const;
  /// The socket, to poll() for input together with other descriptors (then call Next(0)).
  int SocketFd() const;
  /// Corks the socket (TCP_CORK) or uncorks it, which sends what it held; see CorkedWrites.
  /// Best effort: a socket that refuses the option sends as it always does.
  void SetCorked(bool corked);
  /// Whether the broker blocked publishing (resource alarm; connection.blocked), and why.
  bool blocked() const { return blocked_; }
  const std::string& blocked_reason() const { return blocked_reason_; }

 private:
  explicit Connection(ConnectionStatePtr state);

  /// The last RPC's outcome as a Result; marks the connection broken on failure.
  Result<void> CheckReply(std::string_view what);
  Result<void> CheckStatus(int status, std::string_view what);
  /// Handles one frame; returns a complete event when the frame finished one.
  Result<std::optional<InboundEvent>> OnFrame(const amqp_frame_t& frame);

  // A message whose content frames are still arriving on a channel.
  struct Partial {
    std::variant<InboundMessage, Returned> message;
    bool have_header = false;
    uint64_t body_size = 0;
    std::string body;
  };

  ConnectionStatePtr state_;
  bool usable_ = true;    // false after any error: the owner must drop the connection
  bool closable_ = true;  // false once the socket or the AMQP connection is gone
  bool blocked_ = false;
  std::string blocked_reason_;
  std::map<uint16_t, Partial> partial_;
};

/// While it lives, `connection`'s socket is corked: what is written waits in the kernel until a
/// full TCP segment fills up, and the rest leaves when it goes. rabbitmq-c writes each message
/// as it is published on a TCP_NODELAY socket, so a burst of publishes otherwise costs one
/// segment, and one broker read, per message (perf: about half the publisher thread's CPU was
/// the sending). For bursts written back to back only: nothing is sent before it ends (Linux
/// sends anyway after 200 ms).
class CorkedWrites {
 public:
  explicit CorkedWrites(Connection& connection) : connection_(connection) {
    connection_.SetCorked(true);
  }
  ~CorkedWrites() { connection_.SetCorked(false); }
  CorkedWrites(const CorkedWrites&) = delete;
  CorkedWrites& operator=(const CorkedWrites&) = delete;

 private:
  Connection& connection_;
};

}  // namespace shopflow::amqp
