#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/api.hpp"

namespace shopflow {

/// The outcome of Router::Match.
struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };

  Kind kind = Kind::kNotFound;
  /// kFound: the route's handler and pattern; they point into the Router and stay valid while
  /// the Router lives and is not modified.
  const ApiHandler* handler = nullptr;
  const std::string* pattern = nullptr;
  /// kFound: the values of the pattern's ":name" segments, in pattern order.
  std::vector<std::pair<std::string, std::string>> path_params;
  /// kMethodNotAllowed: the methods the path does accept, sorted, for an Allow header.
  std::vector<std::string> allowed_methods;
};

/// An explicit route table (ARCHITECTURE.md: no routing by macro magic), matched segment by
/// segment. Patterns are "/"-separated literals and ":name" parameters, e.g.
/// "/api/orders/:id/status".
///
/// Matching rules:
///  - A literal segment wins over a parameter when both could match ("/api/dlq/retry-all" beats
///    "/api/dlq/:messageId"). If the literal route does not accept the request's method, a
///    parameter route that does is used instead; only when no matching path accepts the method
///    is the answer kMethodNotAllowed (with the union of accepted methods).
///  - A parameter matches exactly one non-empty segment.
///  - Trailing slashes are ignored ("/api/orders/" is "/api/orders").
///  - Methods are case-sensitive; route methods are upper-cased when added. HEAD is served by
///    the GET route of a path that has no HEAD route of its own.
///
/// Thread-safety: Match is const and may run concurrently from any number of threads; Add must
/// not run concurrently with anything else (build the table, then serve it).
class Router {
 public:
  Router();
  /// Throws std::invalid_argument on a malformed pattern (not starting with "/", an empty
  /// segment, a ":" without a name, a parameter name used twice) or when two routes have the
  /// same method and the same pattern shape ("/a/:x" and "/a/:y" are the same shape): both are
  /// programming errors.
  explicit Router(std::vector<Route> routes);
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  /// Adds routes with the same checks as the constructor. On a throw, routes of `routes`
  /// before the offending one have been added.
  void Add(std::vector<Route> routes);

  /// Matches a path (already percent-decoded, without query) split at "/".
  RouteMatch Match(std::string_view method, std::string_view path) const;
  /// Matches pre-split, decoded segments: the HTTP server uses this so that an encoded "/"
  /// (%2F) stays inside its segment. A leading "" (from a leading "/") must not be included.
  RouteMatch MatchSegments(std::string_view method, std::span<const std::string> segments) const;

  /// Number of (method, pattern) routes.
  size_t size() const { return size_; }

 private:
  struct Node;

  RouteMatch MatchViews(std::string_view method, std::span<const std::string_view> segments) const;

  std::unique_ptr<Node> root_;
  size_t size_ = 0;
};

}  // namespace shopflow
