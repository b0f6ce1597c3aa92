#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace shopflow::http_internal {

/// Options of every connection the server accepts. TCP_NODELAY: responses and WebSocket frames
/// are written whole, so Nagle's algorithm only delays them; with it, a frame written while the
/// previous one was unacknowledged waited for the client's delayed ACK (up to 40 ms on Linux),
/// ~5 % of orders at 20/s. Failing to set it is not worth refusing the connection.
inline void TuneAcceptedSocket(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

}  // namespace shopflow::http_internal
