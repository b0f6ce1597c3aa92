#include "http/http_wire.hpp"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace shopflow::http_internal {

std::string SerializeResponse(const WireResponse& response) {
  namespace bhttp = boost::beast::http;
  const boost::beast::string_view reason =
      response.reason().empty() ? bhttp::obsolete_reason(response.result()) : response.reason();
  size_t size = 32 + reason.size() + response.body().size();
  for (const auto& field : response) size += field.name_string().size() + field.value().size() + 4;
  std::string out;
  out.reserve(size);
  const unsigned version = response.version();
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  char code[4];
  const auto [end, ec] = std::to_chars(code, code + sizeof code, response.result_int());
  out.append(code, end);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& field : response) {
    const auto name = field.name_string();
    const auto value = field.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += response.body();
  return out;
}

}  // namespace shopflow::http_internal
