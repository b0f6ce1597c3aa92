#include "app/static_files.hpp"

#include <string>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"

namespace shopflow {
namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Path → asset, built once from WebAssets(); "/" is index.html.
const std::unordered_map<std::string, const StaticAsset*>& AssetIndex() {
  static const auto index = [] {
    std::unordered_map<std::string, const StaticAsset*> map;
    for (const StaticAsset& asset : WebAssets()) {
      map.emplace(asset.path, &asset);
      if (asset.path == "/index.html") map.emplace("/", &asset);
    }
    return map;
  }();
  return index;
}

ApiResponse Serve(const ApiRequest& request) {
  const auto& index = AssetIndex();
  auto found = index.find(request.path);
  if (found == index.end()) return ErrorResponse(NotFoundError("no such path: " + request.path));
  if (request.method != "GET" && request.method != "HEAD") {
    ApiResponse answer = ErrorResponse(Error{
        ErrorCode::kMethodNotAllowed, request.method + " is not allowed on " + request.path, {}});
    answer.headers.emplace_back("Allow", "GET, HEAD");
    return answer;
  }
  const StaticAsset& asset = *found->second;
  ApiResponse answer;
  answer.status = 200;
  answer.raw_body = std::string(asset.body);
  answer.content_type = asset.content_type;
  answer.headers.emplace_back("Cache-Control", "no-cache");
  answer.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return answer;
}

}  // namespace

std::string ContentTypeOf(std::string_view file_name) {
  if (EndsWith(file_name, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(file_name, ".js") || EndsWith(file_name, ".mjs"))
    return "text/javascript; charset=utf-8";
  if (EndsWith(file_name, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(file_name, ".json")) return "application/json; charset=utf-8";
  if (EndsWith(file_name, ".svg")) return "image/svg+xml";
  if (EndsWith(file_name, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

ApiHandler StaticFilesHandler() {
  return
      [](ApiRequest& request) -> boost::asio::awaitable<ApiResponse> { co_return Serve(request); };
}

}  // namespace shopflow
