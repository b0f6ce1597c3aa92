#include "http/router.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

namespace shopflow {

struct Router::Node {
  struct Endpoint {
    std::string pattern;
    std::vector<std::string> param_names;  // in segment order
    ApiHandler handler;
  };

  // A node whose path matched the request, with the values its parameters captured.
  struct Candidate {
    const Node* node;
    std::vector<std::string_view> values;
  };

  // Candidates are collected in priority order: at every level the literal child is explored
  // before the parameter child, so the first candidate accepting the method is the most
  // specific route. Depth is bounded by the longest pattern, so the backtracking stays small.
  void Collect(std::span<const std::string_view> segments, size_t index,
               std::vector<std::string_view>& values, std::vector<Candidate>& out) const {
    if (index == segments.size()) {
      if (!endpoints.empty()) out.push_back(Candidate{this, values});
      return;
    }
    const std::string_view segment = segments[index];
    if (auto it = literals.find(segment); it != literals.end()) {
      it->second->Collect(segments, index + 1, values, out);
    }
    if (param && !segment.empty()) {
      values.push_back(segment);
      param->Collect(segments, index + 1, values, out);
      values.pop_back();
    }
  }

  // std::less<> lets Match look literals up by string_view without building strings.
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;
  std::map<std::string, Endpoint, std::less<>> endpoints;  // by method
};

namespace {

// Splits "/a/b/" into {"a", "b"}; trailing slashes are dropped so that "/api/orders/" routes
// like "/api/orders". Interior empty segments are kept (they never match a parameter).
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);  // callers checked the leading '/'
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}

Router::Router(std::vector<Route> routes) : Router() { Add(std::move(routes)); }

Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::vector<Route> routes) {
  for (auto& route : routes) {
    const std::string where = route.method + " " + route.pattern;
    if (route.method.empty()) throw std::invalid_argument("route without a method: " + where);
    if (route.pattern.empty() || route.pattern.front() != '/') {
      throw std::invalid_argument("route pattern must start with '/': " + where);
    }
    Node* node = root_.get();
    std::vector<std::string> param_names;
    for (std::string_view segment : SplitPath(route.pattern)) {
      if (segment.empty()) throw std::invalid_argument("empty segment in route: " + where);
      if (segment.front() == ':') {
        std::string name(segment.substr(1));
        if (name.empty()) throw std::invalid_argument("unnamed parameter in route: " + where);
        if (std::find(param_names.begin(), param_names.end(), name) != param_names.end()) {
          throw std::invalid_argument("parameter used twice in route: " + where);
        }
        param_names.push_back(std::move(name));
        if (!node->param) node->param = std::make_unique<Node>();
        node = node->param.get();
      } else {
        auto it = node->literals.find(segment);
        if (it == node->literals.end()) {
          it = node->literals.emplace(std::string(segment), std::make_unique<Node>()).first;
        }
        node = it->second.get();
      }
    }
    std::string method = Upper(route.method);
    if (auto existing = node->endpoints.find(method); existing != node->endpoints.end()) {
      throw std::invalid_argument("duplicate route: " + where + " (already registered as " +
                                  existing->second.pattern + ")");
    }
    node->endpoints.emplace(
        std::move(method),
        Node::Endpoint{std::move(route.pattern), std::move(param_names), std::move(route.handler)});
    ++size_;
  }
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  if (path.empty() || path.front() != '/') return RouteMatch{};
  const std::vector<std::string_view> segments = SplitPath(path);
  return MatchViews(method, segments);
}

RouteMatch Router::MatchSegments(std::string_view method,
                                 std::span<const std::string> segments) const {
  std::vector<std::string_view> views(segments.begin(), segments.end());
  while (!views.empty() && views.back().empty()) views.pop_back();  // trailing slashes
  return MatchViews(method, views);
}

RouteMatch Router::MatchViews(std::string_view method,
                              std::span<const std::string_view> segments) const {
  std::vector<std::string_view> values;
  std::vector<Node::Candidate> candidates;
  root_->Collect(segments, 0, values, candidates);

  RouteMatch match;
  for (const auto& candidate : candidates) {
    const auto& endpoints = candidate.node->endpoints;
    auto it = endpoints.find(method);
    if (it == endpoints.end() && method == "HEAD") it = endpoints.find("GET");
    if (it == endpoints.end()) continue;
    const Node::Endpoint& endpoint = it->second;
    match.kind = RouteMatch::Kind::kFound;
    match.handler = &endpoint.handler;
    match.pattern = &endpoint.pattern;
    match.path_params.reserve(endpoint.param_names.size());
    for (size_t i = 0; i < endpoint.param_names.size(); ++i) {
      match.path_params.emplace_back(endpoint.param_names[i], std::string(candidate.values[i]));
    }
    return match;
  }
  if (candidates.empty()) return match;  // kNotFound

  std::set<std::string> allowed;
  for (const auto& candidate : candidates) {
    for (const auto& [name, endpoint] : candidate.node->endpoints) {
      allowed.insert(name);
      if (name == "GET") allowed.insert("HEAD");
    }
  }
  match.kind = RouteMatch::Kind::kMethodNotAllowed;
  match.allowed_methods.assign(allowed.begin(), allowed.end());
  return match;
}

}  // namespace shopflow
