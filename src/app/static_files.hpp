#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"

namespace shopflow {

/// One file of the dashboard (web/), compiled into the binary at configure time.
struct StaticAsset {
  std::string path;          // URL path, e.g. "/app.js"
  std::string content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;     // the file's bytes (static storage)
};

/// Every dashboard file (generated from web/ by CMake, see web_assets.cpp.in).
const std::vector<StaticAsset>& WebAssets();

/// The content type of a file name by its extension (text/html, text/javascript, text/css, ...).
std::string ContentTypeOf(std::string_view file_name);

/// Serves WebAssets(): "/" and "/index.html" → index.html, "/app.js" → app.js, ... Only GET
/// and HEAD (others → 405 method_not_allowed); unknown paths → 404 not_found (API.md error
/// shape). Answers carry Cache-Control: no-cache. For HttpServer::SetFallback.
ApiHandler StaticFilesHandler();

}  // namespace shopflow
