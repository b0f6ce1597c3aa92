#include "core/api.hpp"

#include <algorithm>
#include <charconv>

namespace shopflow {
namespace {
std::optional<std::string_view> Lookup(const std::vector<std::pair<std::string, std::string>>& kv,
                                       std::string_view name) {
  for (const auto& [k, v] : kv) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}
}  // namespace

std::string_view ApiRequest::Param(std::string_view name) const {
  return Lookup(path_params, name).value_or("");
}
std::optional<std::string_view> ApiRequest::Query(std::string_view name) const {
  return Lookup(query, name);
}
std::optional<std::string_view> ApiRequest::Header(std::string_view lower_name) const {
  return Lookup(headers, lower_name);
}

ApiResponse JsonResponse(int status, json::value body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ApiResponse ErrorResponse(const Error& error) {
  json::array details;
  for (const auto& d : error.details) {
    details.push_back(json::object{{"field", d.field}, {"issue", d.issue}});
  }
  json::object inner{{"code", ErrorCodeName(error.code)},
                     {"message", error.message},
                     {"details", std::move(details)}};
  return JsonResponse(HttpStatusFor(error.code), json::object{{"error", std::move(inner)}});
}

Result<json::object> JsonObjectBody(const ApiRequest& request) {
  auto type = request.Header("content-type").value_or("");
  std::string lowered(type.substr(0, type.find(';')));
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  while (!lowered.empty() && lowered.back() == ' ') lowered.pop_back();
  if (lowered != "application/json" && !(lowered.size() > 5 && lowered.ends_with("+json"))) {
    return Error{ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json", {}};
  }
  auto parsed = ParseJson(request.body);
  if (!parsed) return std::move(parsed).error();
  if (!parsed->is_object()) return ValidationError("request body must be a JSON object");
  return std::move(parsed->get_object());
}

RequestContext ContextOf(const ApiRequest& request) {
  RequestContext context;
  context.correlation_id = request.correlation_id;
  context.idempotency_key = std::string(request.Header("idempotency-key").value_or(""));
  context.principal = request.principal;
  return context;
}

namespace {
std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}
}  // namespace

Result<Page> ReadPage(const ApiRequest& request) {
  Page page;
  std::vector<ErrorDetail> details;
  for (const auto& [name, value] : request.query) {
    if (name == "limit") {
      auto n = ParseInt(value);
      if (!n || *n < 1 || *n > 500) {
        details.push_back({"limit", "must be an integer from 1 to 500"});
      } else {
        page.limit = *n;
      }
    } else if (name == "offset") {
      auto n = ParseInt(value);
      if (!n || *n < 0) {
        details.push_back({"offset", "must be a non-negative integer"});
      } else {
        page.offset = *n;
      }
    }
  }
  if (!details.empty()) return ValidationError("invalid query parameters", std::move(details));
  return page;
}

json::value ListBody(json::array data, int64_t total, const Page& page) {
  return json::object{
      {"data", std::move(data)}, {"total", total}, {"limit", page.limit}, {"offset", page.offset}};
}

}  // namespace shopflow
