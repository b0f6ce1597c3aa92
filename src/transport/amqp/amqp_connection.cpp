// rabbitmq-c in quarantine: the wrappers of amqp_wrappers.hpp, one blocking connection each.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "transport/amqp/amqp_wrappers.hpp"

namespace shopflow::amqp {
namespace {

// rabbitmq-c takes non-const pointers in amqp_bytes_t but never writes through those we pass.
amqp_bytes_t Bytes(std::string_view text) {
  amqp_bytes_t b;
  b.len = text.size();
  b.bytes = const_cast<char*>(text.data());
  return b;
}

std::string ToString(amqp_bytes_t bytes) {
  if (bytes.len == 0 || bytes.bytes == nullptr) return {};
  return std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

timeval ToTimeval(std::chrono::microseconds d) {
  const auto us = std::max<int64_t>(0, d.count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return tv;
}

amqp_table_entry_t StringEntry(std::string_view key, std::string_view value) {
  amqp_table_entry_t e{};
  e.key = Bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = Bytes(value);
  return e;
}

amqp_table_entry_t BoolEntry(std::string_view key, bool value) {
  amqp_table_entry_t e{};
  e.key = Bytes(key);
  e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  e.value.value.boolean = value ? 1 : 0;
  return e;
}

std::string CloseDescription(const char* who, uint16_t code, amqp_bytes_t text) {
  return std::string(who) + " closed by the broker: " + std::to_string(code) + " " + ToString(text);
}

}  // namespace

HeadersTable::HeadersTable(const Headers& headers) {
  entries_.reserve(headers.size());
  for (const auto& [k, v] : headers) entries_.push_back(StringEntry(k, v));
  table_.num_entries = static_cast<int>(entries_.size());
  table_.entries = entries_.empty() ? nullptr : entries_.data();
}

Headers HeadersFromTable(const amqp_table_t& table) {
  Headers out;
  for (int i = 0; i < table.num_entries; ++i) {
    const amqp_table_entry_t& e = table.entries[i];
    const amqp_field_value_t& v = e.value;
    std::string value;
    switch (v.kind) {
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES:
        value = ToString(v.value.bytes);
        break;
      case AMQP_FIELD_KIND_BOOLEAN:
        value = v.value.boolean ? "true" : "false";
        break;
      case AMQP_FIELD_KIND_I8:
        value = std::to_string(v.value.i8);
        break;
      case AMQP_FIELD_KIND_U8:
        value = std::to_string(v.value.u8);
        break;
      case AMQP_FIELD_KIND_I16:
        value = std::to_string(v.value.i16);
        break;
      case AMQP_FIELD_KIND_U16:
        value = std::to_string(v.value.u16);
        break;
      case AMQP_FIELD_KIND_I32:
        value = std::to_string(v.value.i32);
        break;
      case AMQP_FIELD_KIND_U32:
        value = std::to_string(v.value.u32);
        break;
      case AMQP_FIELD_KIND_I64:
        value = std::to_string(v.value.i64);
        break;
      case AMQP_FIELD_KIND_U64:
      case AMQP_FIELD_KIND_TIMESTAMP:
        value = std::to_string(v.value.u64);
        break;
      case AMQP_FIELD_KIND_F32:
        value = std::to_string(v.value.f32);
        break;
      case AMQP_FIELD_KIND_F64:
        value = std::to_string(v.value.f64);
        break;
      default:
        continue;  // arrays, tables, decimals, voids: only the broker's x-death uses them
    }
    out.emplace_back(ToString(e.key), std::move(value));
  }
  return out;
}

MessageProperties PropertiesFromAmqp(const amqp_basic_properties_t& p) {
  MessageProperties out;
  const auto has = [&](amqp_flags_t flag) { return (p._flags & flag) != 0; };
  if (has(AMQP_BASIC_CONTENT_TYPE_FLAG)) out.content_type = ToString(p.content_type);
  if (has(AMQP_BASIC_MESSAGE_ID_FLAG)) out.message_id = ToString(p.message_id);
  if (has(AMQP_BASIC_CORRELATION_ID_FLAG)) out.correlation_id = ToString(p.correlation_id);
  if (has(AMQP_BASIC_TYPE_FLAG)) out.type = ToString(p.type);
  if (has(AMQP_BASIC_APP_ID_FLAG)) out.app_id = ToString(p.app_id);
  if (has(AMQP_BASIC_TIMESTAMP_FLAG)) out.timestamp = p.timestamp;
  if (has(AMQP_BASIC_EXPIRATION_FLAG)) out.expiration = ToString(p.expiration);
  out.persistent =
      has(AMQP_BASIC_DELIVERY_MODE_FLAG) && p.delivery_mode == AMQP_DELIVERY_PERSISTENT;
  if (has(AMQP_BASIC_HEADERS_FLAG)) out.headers = HeadersFromTable(p.headers);
  return out;
}

PropertiesView::PropertiesView(const MessageProperties& m) : headers_(m.headers) {
  amqp_basic_properties_t& p = properties_;
  const auto set = [&](amqp_flags_t flag, amqp_bytes_t& field, const std::string& value) {
    if (value.empty()) return;
    p._flags |= flag;
    field = Bytes(value);
  };
  set(AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type, m.content_type);
  set(AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id, m.message_id);
  set(AMQP_BASIC_CORRELATION_ID_FLAG, p.correlation_id, m.correlation_id);
  set(AMQP_BASIC_TYPE_FLAG, p.type, m.type);
  set(AMQP_BASIC_APP_ID_FLAG, p.app_id, m.app_id);
  set(AMQP_BASIC_EXPIRATION_FLAG, p.expiration, m.expiration);
  if (m.timestamp) {
    p._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
    p.timestamp = *m.timestamp;
  }
  p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
  p.delivery_mode = m.persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
  if (!m.headers.empty()) {
    p._flags |= AMQP_BASIC_HEADERS_FLAG;
    p.headers = headers_.table();
  }
}

std::string DescribeReply(const amqp_rpc_reply_t& reply) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "no reply from the broker";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return CloseDescription("connection", m->reply_code, m->reply_text);
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return CloseDescription("channel", m->reply_code, m->reply_text);
      }
      {
        char id[16];
        std::snprintf(id, sizeof id, "0x%08X", static_cast<unsigned>(reply.reply.id));
        return std::string("unexpected method ") + id + " from the broker";
      }
  }
  return "unknown reply";
}

Connection::Connection(ConnectionStatePtr state) : state_(std::move(state)) {}

Connection::~Connection() {
  if (closable_) {
    // Best effort: a clean close lets the broker requeue unacknowledged deliveries at once and
    // keeps its log free of "client unexpectedly closed TCP connection". A broker that does not
    // answer within a second is not worth delaying Stop() for: the socket is closed anyway.
    timeval close_timeout{1, 0};
    amqp_set_rpc_timeout(state_.get(), &close_timeout);
    (void)amqp_connection_close(state_.get(), AMQP_REPLY_SUCCESS);
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(const AmqpUrl& url,
                                                     const ConnectionOptions& options) {
  const std::string where = url.Redacted();
  ConnectionStatePtr state(amqp_new_connection());
  if (!state) return UnavailableError("RabbitMQ " + where + ": out of memory");
  amqp_socket_t* socket = amqp_tcp_socket_new(state.get());  // owned by the state
  if (!socket) return UnavailableError("RabbitMQ " + where + ": cannot create a socket");

  timeval connect_tv = ToTimeval(options.connect_timeout);
  const int status = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &connect_tv);
  if (status != AMQP_STATUS_OK) {
    return UnavailableError("cannot connect to RabbitMQ " + where + ": " +
                            amqp_error_string2(status));
  }
  timeval rpc_tv = ToTimeval(options.rpc_timeout);
  amqp_set_handshake_timeout(state.get(), &connect_tv);
  amqp_set_rpc_timeout(state.get(), &rpc_tv);

  // The client properties: a name the broker shows (rabbitmqctl list_connections
  // client_properties), and the capabilities that make the broker tell us, instead of silently
  // stalling, when it blocks publishers (resource alarm) or cancels our consumer.
  amqp_table_entry_t capabilities[] = {BoolEntry("connection.blocked", true),
                                       BoolEntry("consumer_cancel_notify", true)};
  amqp_table_entry_t entries[2] = {StringEntry("connection_name", options.name), {}};
  entries[1].key = Bytes("capabilities");
  entries[1].value.kind = AMQP_FIELD_KIND_TABLE;
  entries[1].value.value.table.num_entries = 2;
  entries[1].value.value.table.entries = capabilities;
  amqp_table_t properties{2, entries};

  const amqp_rpc_reply_t reply = amqp_login_with_properties(
      state.get(), url.vhost.c_str(), 0, 131072, static_cast<int>(options.heartbeat.count()),
      &properties, AMQP_SASL_METHOD_PLAIN, url.user.c_str(), url.password.c_str());
  if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
    return UnavailableError("cannot log in to RabbitMQ " + where + ": " + DescribeReply(reply));
  }
  return std::unique_ptr<Connection>(new Connection(std::move(state)));
}

Result<void> Connection::CheckReply(std::string_view what) {
  const amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_.get());
  if (reply.reply_type == AMQP_RESPONSE_NORMAL) return Ok();
  std::string message = std::string(what) + ": " + DescribeReply(reply);
  if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
    // Acknowledge the close the broker sent, as the protocol asks; the connection is given up
    // either way (a closed channel is rare enough not to warrant reopening it in place).
    if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      amqp_connection_close_ok_t ok{};
      (void)amqp_send_method(state_.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      usable_ = closable_ = false;
      return UnavailableError(std::move(message));
    }
    usable_ = false;
    // A channel-level refusal (e.g. PRECONDITION_FAILED on inequivalent queue arguments) is a
    // configuration problem, not an outage; the connection itself can still close cleanly.
    return InternalError(std::move(message));
  }
  usable_ = closable_ = false;
  return UnavailableError(std::move(message));
}

Result<void> Connection::CheckStatus(int status, std::string_view what) {
  if (status == AMQP_STATUS_OK) return Ok();
  usable_ = closable_ = false;
  return UnavailableError(std::string(what) + ": " + amqp_error_string2(status));
}

Result<void> Connection::OpenChannel(uint16_t channel) {
  amqp_channel_open(state_.get(), channel);
  return CheckReply("opening channel " + std::to_string(channel));
}

Result<void> Connection::SelectConfirms(uint16_t channel) {
  amqp_confirm_select(state_.get(), channel);
  return CheckReply("enabling publisher confirms");
}

Result<void> Connection::SetPrefetch(uint16_t channel, uint16_t count) {
  amqp_basic_qos(state_.get(), channel, 0, count, 0);
  return CheckReply("setting the prefetch count");
}

Result<void> Connection::DeclareTopology(uint16_t channel, const Topology& topology) {
  amqp_connection_state_t s = state_.get();
  for (const ExchangeSpec& e : topology.exchanges) {
    amqp_exchange_declare(s, channel, Bytes(e.name), Bytes(ExchangeKindName(e.kind)), 0,
                          e.durable ? 1 : 0, 0, 0, amqp_empty_table);
    if (auto r = CheckReply("declaring exchange '" + e.name + "'"); !r) return r;
  }
  for (const QueueSpec& q : topology.queues) {
    const std::vector<QueueArgument> args = QueueArguments(q);
    std::vector<amqp_table_entry_t> entries;
    for (const QueueArgument& arg : args) {
      amqp_table_entry_t entry{};
      entry.key = Bytes(arg.name);
      if (const auto* number = std::get_if<int64_t>(&arg.value)) {
        entry.value.kind = AMQP_FIELD_KIND_I64;
        entry.value.value.i64 = *number;
      } else {
        entry.value.kind = AMQP_FIELD_KIND_UTF8;
        entry.value.value.bytes = Bytes(std::get<std::string>(arg.value));
      }
      entries.push_back(entry);
    }
    amqp_table_t table{static_cast<int>(entries.size()),
                       entries.empty() ? nullptr : entries.data()};
    amqp_queue_declare(s, channel, Bytes(q.name), 0, q.durable ? 1 : 0, 0, 0, table);
    if (auto r = CheckReply("declaring queue '" + q.name + "'"); !r) return r;
  }
  for (const BindingSpec& b : topology.bindings) {
    if (b.destination_is_exchange) {
      amqp_exchange_bind(s, channel, Bytes(b.destination), Bytes(b.source), Bytes(b.routing_key),
                         amqp_empty_table);
    } else {
      amqp_queue_bind(s, channel, Bytes(b.destination), Bytes(b.source), Bytes(b.routing_key),
                      amqp_empty_table);
    }
    if (auto r = CheckReply("binding '" + b.destination + "' to '" + b.source + "' with '" +
                            b.routing_key + "'");
        !r) {
      return r;
    }
  }
  return Ok();
}

Result<void> Connection::Consume(uint16_t channel, const std::string& queue, bool no_ack) {
  amqp_basic_consume(state_.get(), channel, Bytes(queue), amqp_empty_bytes, 0, no_ack ? 1 : 0, 0,
                     amqp_empty_table);
  return CheckReply("consuming '" + queue + "'");
}

Result<std::string> Connection::DeclarePrivateQueue(uint16_t channel, int64_t max_length) {
  amqp_table_entry_t entry{};
  entry.key = Bytes("x-max-length");
  entry.value.kind = AMQP_FIELD_KIND_I64;
  entry.value.value.i64 = max_length;
  const amqp_table_t table{1, &entry};
  amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(state_.get(), channel, amqp_empty_bytes, 0, 0, 1, 1, table);
  if (auto r = CheckReply("declaring a private queue"); !r) return std::move(r).error();
  if (ok == nullptr) return UnavailableError("declaring a private queue: no answer");
  return std::string(static_cast<const char*>(ok->queue.bytes), ok->queue.len);
}

Result<void> Connection::BindQueue(uint16_t channel, const std::string& queue,
                                   const std::string& exchange, const std::string& routing_key) {
  amqp_queue_bind(state_.get(), channel, Bytes(queue), Bytes(exchange), Bytes(routing_key),
                  amqp_empty_table);
  return CheckReply("binding '" + queue + "' to '" + exchange + "' with '" + routing_key + "'");
}

Result<void> Connection::Publish(uint16_t channel, const OutgoingMessage& message, bool mandatory) {
  if (!usable_) return UnavailableError("publishing: the connection is unusable");
  const PropertiesView properties(message.properties);
  const int status =
      amqp_basic_publish(state_.get(), channel, Bytes(message.exchange), Bytes(message.routing_key),
                         mandatory ? 1 : 0, 0, &properties.get(), Bytes(message.body));
  return CheckStatus(status, "publishing");
}

Result<void> Connection::Ack(uint16_t channel, uint64_t delivery_tag, bool multiple) {
  if (!usable_) return UnavailableError("acknowledging: the connection is unusable");
  return CheckStatus(amqp_basic_ack(state_.get(), channel, delivery_tag, multiple ? 1 : 0),
                     "acknowledging");
}

bool Connection::HasBufferedInput() const {
  return amqp_frames_enqueued(state_.get()) || amqp_data_in_buffer(state_.get());
}

int Connection::SocketFd() const { return amqp_get_sockfd(state_.get()); }

void Connection::SetCorked(bool corked) {
  const int fd = SocketFd();
  if (fd < 0) return;  // no socket left: nothing to hold back or to send
  const int value = corked ? 1 : 0;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value);
}

Result<std::optional<InboundEvent>> Connection::Next(std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (!usable_) return UnavailableError("the connection is unusable");
    timeval tv = ToTimeval(std::chrono::duration_cast<std::chrono::microseconds>(
        std::max(Clock::duration::zero(), deadline - Clock::now())));
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame_noblock(state_.get(), &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) return std::optional<InboundEvent>{};
    if (status != AMQP_STATUS_OK) {
      usable_ = closable_ = false;
      return UnavailableError(std::string("connection lost: ") + amqp_error_string2(status));
    }
    auto event = OnFrame(frame);
    // Everything needed was copied out of the frame: recycle the channel's decoding memory,
    // which rabbitmq-c otherwise keeps growing until told.
    amqp_maybe_release_buffers_on_channel(state_.get(), frame.channel);
    if (!event || *event) return event;
  }
}

Result<std::optional<InboundEvent>> Connection::OnFrame(const amqp_frame_t& frame) {
  const uint16_t ch = frame.channel;
  const auto complete = [&](Partial& p) -> std::optional<InboundEvent> {
    std::optional<InboundEvent> out;
    if (auto* m = std::get_if<InboundMessage>(&p.message)) {
      m->body = std::move(p.body);
      out = std::move(*m);
    } else {
      out = std::move(std::get<Returned>(p.message));
    }
    partial_.erase(ch);
    return out;
  };

  if (frame.frame_type == AMQP_FRAME_HEADER || frame.frame_type == AMQP_FRAME_BODY) {
    auto it = partial_.find(ch);
    if (it == partial_.end()) {
      usable_ = closable_ = false;
      return UnavailableError("protocol error: content frame without a method");
    }
    Partial& p = it->second;
    if (frame.frame_type == AMQP_FRAME_HEADER) {
      const auto* props =
          static_cast<const amqp_basic_properties_t*>(frame.payload.properties.decoded);
      MessageProperties copied = PropertiesFromAmqp(*props);
      if (auto* m = std::get_if<InboundMessage>(&p.message)) {
        m->properties = std::move(copied);
      } else {
        std::get<Returned>(p.message).properties = std::move(copied);
      }
      p.have_header = true;
      p.body_size = frame.payload.properties.body_size;
      p.body.reserve(static_cast<size_t>(p.body_size));
    } else {
      if (!p.have_header) {
        usable_ = closable_ = false;
        return UnavailableError("protocol error: body frame before its header");
      }
      p.body.append(static_cast<const char*>(frame.payload.body_fragment.bytes),
                    frame.payload.body_fragment.len);
    }
    if (p.have_header && p.body.size() >= p.body_size) return complete(p);
    return std::optional<InboundEvent>{};
  }
  if (frame.frame_type != AMQP_FRAME_METHOD) return std::optional<InboundEvent>{};

  const amqp_method_t& method = frame.payload.method;
  switch (method.id) {
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* d = static_cast<const amqp_basic_deliver_t*>(method.decoded);
      InboundMessage m;
      m.channel = ch;
      m.delivery_tag = d->delivery_tag;
      m.redelivered = d->redelivered != 0;
      m.exchange = ToString(d->exchange);
      m.routing_key = ToString(d->routing_key);
      partial_[ch] = Partial{std::move(m), false, 0, {}};
      return std::optional<InboundEvent>{};
    }
    case AMQP_BASIC_RETURN_METHOD: {
      const auto* r = static_cast<const amqp_basic_return_t*>(method.decoded);
      Returned m;
      m.channel = ch;
      m.reply_code = r->reply_code;
      m.reply_text = ToString(r->reply_text);
      m.exchange = ToString(r->exchange);
      m.routing_key = ToString(r->routing_key);
      partial_[ch] = Partial{std::move(m), false, 0, {}};
      return std::optional<InboundEvent>{};
    }
    case AMQP_BASIC_ACK_METHOD: {
      const auto* a = static_cast<const amqp_basic_ack_t*>(method.decoded);
      return std::optional<InboundEvent>(Confirm{ch, a->delivery_tag, a->multiple != 0, true});
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* n = static_cast<const amqp_basic_nack_t*>(method.decoded);
      return std::optional<InboundEvent>(Confirm{ch, n->delivery_tag, n->multiple != 0, false});
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* c = static_cast<const amqp_channel_close_t*>(method.decoded);
      std::string message = CloseDescription("channel", c->reply_code, c->reply_text);
      amqp_channel_close_ok_t ok{};
      (void)amqp_send_method(state_.get(), ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      // The connection could go on without this channel, but every channel of ours is needed:
      // give the whole connection up (it still closes cleanly).
      usable_ = false;
      return UnavailableError(std::move(message));
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* c = static_cast<const amqp_connection_close_t*>(method.decoded);
      std::string message = CloseDescription("connection", c->reply_code, c->reply_text);
      amqp_connection_close_ok_t ok{};
      (void)amqp_send_method(state_.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      usable_ = closable_ = false;
      return UnavailableError(std::move(message));
    }
    case AMQP_BASIC_CANCEL_METHOD:
      // consumer_cancel_notify: the queue was deleted (or the node holding it went away).
      usable_ = false;
      return UnavailableError("the broker cancelled the consumer (queue deleted?)");
    case AMQP_CONNECTION_BLOCKED_METHOD: {
      const auto* b = static_cast<const amqp_connection_blocked_t*>(method.decoded);
      blocked_ = true;
      blocked_reason_ = ToString(b->reason);
      return std::optional<InboundEvent>{};
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
      blocked_ = false;
      blocked_reason_.clear();
      return std::optional<InboundEvent>{};
    default:
      return std::optional<InboundEvent>{};
  }
}

}  // namespace shopflow::amqp
