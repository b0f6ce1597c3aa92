#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace shopflow {

/// A request target ("/api/orders/a%20b?status=paid") split and percent-decoded.
struct RequestTarget {
  std::string path;                   // decoded, e.g. "/api/orders/a b"
  std::vector<std::string> segments;  // decoded one by one, so "%2F" stays inside a segment
  std::vector<std::pair<std::string, std::string>> query;  // decoded ("+" is a space), in order
};

/// Parses an origin-form target (RFC 9112 3.2.1: absolute path and optional query). Anything
/// else (absolute-form, "*", bad percent-escapes, a decoded NUL) → kValidationFailed.
/// Pure function, thread-safe.
Result<RequestTarget> ParseRequestTarget(std::string_view target);

/// ParseRequestTarget's general path (Boost.URL), which it skips for a plain path: exposed so
/// that tests and the fuzzer can check that both give the same result.
Result<RequestTarget> ParseRequestTargetGeneral(std::string_view target);

/// True when `target` is '/' followed by characters a path holds as they are (no '%', no
/// query): it is then a valid origin-form target that decodes to itself.
bool IsPlainPath(std::string_view target);

/// True when a client-supplied X-Correlation-Id may be used as is: 1..128 printable ASCII
/// characters without spaces. Anything else is replaced by a fresh id (it ends up in logs and
/// event metadata, so it must not carry control characters or unbounded length).
bool IsAcceptableCorrelationId(std::string_view id);

}  // namespace shopflow
