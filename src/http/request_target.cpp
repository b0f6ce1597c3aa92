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
  // Split the encoded path here rather than use url.segments(): that view hides a leading "/."
  // (Boost.URL's marker for a path starting with "//"), so "/./api/orders" was routed as
  // "/api/orders" while `path` said "/./api/orders" (found by fuzz/request_target). Each raw
  // segment is decoded alone, so an encoded "/" stays inside its segment.
  const std::string_view encoded = url.encoded_path();
  if (encoded.size() > 1) {  // "/" has no segments
    size_t start = 1;        // origin-form: the path starts with '/'
    while (true) {
      const size_t slash = encoded.find('/', start);
      const std::string_view raw = encoded.substr(start, slash - start);
      out.segments.push_back(boost::urls::pct_string_view(raw).decode());
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }
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
