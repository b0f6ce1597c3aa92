// The router as the HTTP server uses it: a request target is parsed and percent-decoded
// (ParseRequestTarget), then matched segment by segment (Router::MatchSegments).
//
// Input: first byte picks the method (GET, POST, PUT, DELETE, HEAD, PATCH, OPTIONS, "get").
// Then either
//  - a target, matched against shopflow's route table (security::EndpointPolicy()), or
//  - when the rest starts with "\n": route patterns, one a line, then a last line with the
//    target; malformed patterns must be refused with std::invalid_argument, nothing else.
// Checked: a found route's literal segments equal the request's, its parameters capture exactly
// the corresponding non-empty segments; 405 answers list the methods the path accepts (never
// the request's own); matching the decoded path agrees with matching the segments when no
// segment holds an encoded "/".

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz/support/fuzz_input.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "security/policy.hpp"

namespace shopflow::fuzz {
namespace {

constexpr std::string_view kMethods[] = {"GET",  "POST",  "PUT",     "DELETE",
                                         "HEAD", "PATCH", "OPTIONS", "get"};

ApiHandler Stub() {
  return [](ApiRequest&) -> boost::asio::awaitable<ApiResponse> { co_return ApiResponse{}; };
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t at = text.find(sep); at != std::string_view::npos; at = text.find(sep, start)) {
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  out.push_back(text.substr(start));
  return out;
}

void CheckMatch(const Router& router, std::string_view method, std::string_view target) {
  auto parsed = ParseRequestTarget(target);
  if (!parsed) return;
  const RouteMatch match = router.MatchSegments(method, parsed->segments);

  std::vector<std::string_view> segments(parsed->segments.begin(), parsed->segments.end());
  while (!segments.empty() && segments.back().empty()) segments.pop_back();

  switch (match.kind) {
    case RouteMatch::Kind::kFound: {
      Check(match.handler != nullptr && match.pattern != nullptr, "found without a route", target);
      auto pattern = Split(*match.pattern, '/');
      pattern.erase(pattern.begin());  // before the leading '/'
      while (!pattern.empty() && pattern.back().empty()) pattern.pop_back();
      Check(pattern.size() == segments.size(), "segment count differs from the pattern's", target);
      size_t param = 0;
      for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i].starts_with(':')) {
          Check(param < match.path_params.size(), "a parameter was not captured", target);
          Check(match.path_params[param].first == pattern[i].substr(1), "parameter name", target);
          Check(match.path_params[param].second == segments[i], "parameter value", target);
          Check(!segments[i].empty(), "a parameter matched an empty segment", target);
          ++param;
        } else {
          Check(pattern[i] == segments[i], "literal segment differs", target);
        }
      }
      Check(param == match.path_params.size(), "extra parameters captured", target);
      break;
    }
    case RouteMatch::Kind::kMethodNotAllowed: {
      const auto& allowed = match.allowed_methods;
      Check(!allowed.empty(), "405 without allowed methods", target);
      Check(std::is_sorted(allowed.begin(), allowed.end()), "Allow is not sorted", target);
      Check(std::find(allowed.begin(), allowed.end(), method) == allowed.end(),
            "405 although the method is allowed", target);
      break;
    }
    case RouteMatch::Kind::kNotFound:
      break;
  }

  // Without an encoded '/', the decoded path splits into the same segments.
  std::string lowered(target);
  for (auto& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lowered.find("%2f") == std::string::npos) {
    const RouteMatch by_path = router.Match(method, parsed->path);
    Check(by_path.kind == match.kind, "Match and MatchSegments disagree", target);
    if (match.kind == RouteMatch::Kind::kFound) {
      Check(*by_path.pattern == *match.pattern && by_path.path_params == match.path_params,
            "Match and MatchSegments found different routes", target);
    }
  }
}

}  // namespace
}  // namespace shopflow::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow;
  using namespace shopflow::fuzz;
  // The application's route table, read from the endpoint policy: every route must have a rule
  // there (a test checks it), so a new route is fuzzed without a copy of the table to update.
  static const Router* api = [] {
    std::vector<Route> routes;
    for (const auto& rule : security::EndpointPolicy()) {
      // The dashboard's static files are the router's fallback, not a pattern.
      if (rule.pattern == security::kFallbackRoute) continue;
      routes.push_back({std::string(rule.method), std::string(rule.pattern), Stub()});
    }
    return new Router(std::move(routes));
  }();

  const auto [choice, rest] = Select(data, size, std::size(kMethods));
  const std::string_view method = kMethods[choice];
  if (!rest.starts_with('\n')) {
    CheckMatch(*api, method, rest);
    return 0;
  }
  auto lines = Split(rest.substr(1), '\n');
  if (lines.size() > 64) return 0;  // route tables are small; keep each run quick
  const std::string_view target = lines.back();
  lines.pop_back();
  Router router;
  for (const auto line : lines) {
    const auto space = line.find(' ');
    const std::string_view route_method =
        space == std::string_view::npos ? "GET" : line.substr(0, space);
    const std::string_view pattern =
        space == std::string_view::npos ? line : line.substr(space + 1);
    try {
      router.Add({Route{std::string(route_method), std::string(pattern), Stub()}});
    } catch (const std::invalid_argument&) {
      // Malformed patterns and duplicates are refused; the table keeps the others.
    }
  }
  CheckMatch(router, method, target);
  return 0;
}
