#include "transport/amqp/amqp_url.hpp"

#include <amqp.h>

#include <cctype>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace shopflow {
namespace {

// Percent-encodes everything but RFC 3986 unreserved characters, so that a vhost such as "/"
// reads back unambiguously ("%2F").
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
  return out;
}

Error BadUrl(std::string reason) {
  return ValidationError("invalid RabbitMQ URL: " + reason, {{"RABBITMQ_URL", reason}});
}

}  // namespace

std::string AmqpUrl::Redacted() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return "amqp://" + PercentEncode(user) + ":***@" + (ipv6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port) + "/" + PercentEncode(vhost);
}

Result<AmqpUrl> ParseAmqpUrl(std::string_view url) {
  if (url.empty()) return BadUrl("empty URL");
  if (url.find('\0') != std::string_view::npos) return BadUrl("contains a NUL character");
  // amqp_parse_url decodes in place and points into the buffer: keep it alive while copying.
  std::vector<char> buffer(url.begin(), url.end());
  buffer.push_back('\0');
  amqp_connection_info info{};
  if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) {
    return BadUrl("expected amqp://user:password@host:port/vhost, got a malformed URL");
  }
  if (info.ssl) return BadUrl("amqps:// (TLS) is not supported; use amqp://");
  if (info.port <= 0 || info.port > 65535) return BadUrl("port must be in 1..65535");
  AmqpUrl out;
  out.host = info.host ? info.host : "";
  out.port = info.port;
  out.user = info.user ? info.user : "";
  out.password = info.password ? info.password : "";
  out.vhost = info.vhost ? info.vhost : "";
  if (out.host.empty()) return BadUrl("no host");
  if (out.vhost.empty()) out.vhost = "/";
  return out;
}

}  // namespace shopflow
