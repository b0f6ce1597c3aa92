#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "core/request_context.hpp"
#include "core/result.hpp"

namespace shopflow {

/// A transport-neutral HTTP request, as business modules see it. The HTTP server (src/http)
/// builds it from the wire; modules never include Beast.
struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, without the query string
  std::vector<std::pair<std::string, std::string>> path_params;  // from ":name" segments
  std::vector<std::pair<std::string, std::string>> query;        // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;      // lower-case names
  std::string body;
  std::string correlation_id;  // X-Correlation-Id, generated when absent
  std::string client_address;
  Principal principal;  // set by the server's guard (src/security) before the handler runs

  /// The value of a ":name" path segment ("" if the route has none).
  std::string_view Param(std::string_view name) const;
  /// The first value of a query parameter, if present.
  std::optional<std::string_view> Query(std::string_view name) const;
  /// The first value of a header (name in lower case), if present.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

/// A transport-neutral response: either a JSON body or raw bytes with a content type.
struct ApiResponse {
  int status = 200;
  json::value body;  // serialized as JSON unless raw_body is set
  std::optional<std::string> raw_body;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

using ApiHandler = std::function<boost::asio::awaitable<ApiResponse>(ApiRequest&)>;

/// One entry of an explicit route table: `pattern` is a path whose segments are literals or
/// ":name" parameters, e.g. "/api/orders/:id/status".
struct Route {
  std::string method;
  std::string pattern;
  ApiHandler handler;
};

/// The one place an Error becomes an HTTP answer (API.md "Errors").
ApiResponse ErrorResponse(const Error& error);
ApiResponse JsonResponse(int status, json::value body);
/// Success or error of a Result, with `status` on success.
template <class T>
ApiResponse ToResponse(const Result<T>& result, int status = 200) {
  if (!result) return ErrorResponse(result.error());
  return JsonResponse(status, json::value(result.value()));
}

/// The request body as a JSON object: 415 unless the content type is JSON, 400 malformed_json
/// if it does not parse, 400 validation_failed if it is not an object.
Result<json::object> JsonObjectBody(const ApiRequest& request);

/// The use-case context of a request: its correlation id and Idempotency-Key header.
RequestContext ContextOf(const ApiRequest& request);

/// Pagination of list endpoints (API.md "Lists"): limit default 50, max 500; offset >= 0.
struct Page {
  int64_t limit = 50;
  int64_t offset = 0;
};
/// Reads `limit` and `offset`; bad values → validation_failed. Other query parameters are the
/// caller's (filters) and are not checked here.
Result<Page> ReadPage(const ApiRequest& request);
/// {"data": [...], "total": N, "limit": L, "offset": O}
json::value ListBody(json::array data, int64_t total, const Page& page);

}  // namespace shopflow
