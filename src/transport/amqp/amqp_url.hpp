#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace shopflow {

/// Where a RabbitMQ broker is and how to log in (a parsed RABBITMQ_URL).
struct AmqpUrl {
  std::string host = "localhost";
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";

  /// "amqp://user:***@host:port/vhost": the URL without its password, safe to log.
  std::string Redacted() const;
};

/// Parses `amqp://user:password@host:port/vhost` (RABBITMQ_URL) with rabbitmq-c's
/// amqp_parse_url: percent-escapes are decoded ("%2F" is "/"), a missing part takes its AMQP
/// default (guest:guest@localhost:5672), and an empty or missing vhost means "/" (as most
/// clients read `amqp://host/`). A malformed URL, a port outside 1..65535 or `amqps://` (TLS is
/// not supported by this transport) → kValidationFailed with the reason. Pure and thread-safe.
Result<AmqpUrl> ParseAmqpUrl(std::string_view url);

}  // namespace shopflow
