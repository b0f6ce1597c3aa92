#pragma once

// Internal to the http module (Beast stays inside it, ARCHITECTURE.md principle 12).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

namespace shopflow::http_internal {

using WireResponse = boost::beast::http::response<boost::beast::http::string_body>;

/// The bytes Beast's serializer writes for `response` (status line, fields in order, blank
/// line, body), built in one string: Beast's serializer walks a chain of buffer views whose
/// iterators cost ~5 % of the HTTP thread on a small GET. Framing must already be in the fields
/// (Content-Length set, no chunked encoding); the HTTP server always sets it.
std::string SerializeResponse(const WireResponse& response);

}  // namespace shopflow::http_internal
