#include "http/request_target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace shopflow {

Result<RequestTarget> ParseRequestTarget(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return ValidationError("malformed request target");
  const boost::urls::url_view& url = *parsed;

  RequestTarget out;
  out.path = url.encoded_path().decode();
  // A NUL would silently truncate in C APIs further down (logs, stores): refuse it here.
  if (out.path.find('\0') != std::string::npos) {
    return ValidationError("request target contains a NUL character");
  }
  for (const auto& segment : url.segments()) out.segments.push_back(segment);
  for (const auto& param : url.params()) {
    if (param.key.find('\0') != std::string::npos || param.value.find('\0') != std::string::npos) {
      return ValidationError("request target contains a NUL character");
    }
    out.query.emplace_back(param.key, param.value);
  }
  return out;
}

bool IsAcceptableCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) return false;  // printable ASCII, no space
  }
  return true;
}

}  // namespace shopflow
