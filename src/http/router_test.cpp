#include "http/router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace shopflow {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

ApiHandler Noop() {
  return [](ApiRequest&) -> boost::asio::awaitable<ApiResponse> { co_return ApiResponse{}; };
}

Route R(std::string method, std::string pattern) {
  return Route{std::move(method), std::move(pattern), Noop()};
}

std::string PatternOf(const RouteMatch& match) {
  return match.kind == RouteMatch::Kind::kFound ? *match.pattern : "<none>";
}

Router ShopRouter() {
  return Router({
      R("GET", "/"),
      R("GET", "/api/orders"),
      R("POST", "/api/orders"),
      R("GET", "/api/orders/:id"),
      R("DELETE", "/api/orders/:id"),
      R("PUT", "/api/orders/:id/status"),
      R("GET", "/api/dlq"),
      R("POST", "/api/dlq/retry-all"),
      R("POST", "/api/dlq/:messageId/retry"),
      R("DELETE", "/api/dlq/:messageId"),
      R("GET", "/api/inventory/products/:productId"),
      R("GET", "/api/inventory/low-stock"),
  });
}

TEST(RouterTest, MatchesLiteralRoutes) {
  Router router = ShopRouter();
  auto match = router.Match("GET", "/api/orders");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(*match.pattern, "/api/orders");
  EXPECT_TRUE(match.path_params.empty());
  ASSERT_NE(match.handler, nullptr);
  EXPECT_TRUE(static_cast<bool>(*match.handler));
  EXPECT_EQ(PatternOf(router.Match("POST", "/api/orders")), "/api/orders");
  EXPECT_EQ(PatternOf(router.Match("GET", "/")), "/");
  EXPECT_EQ(router.size(), 12u);
}

TEST(RouterTest, ExtractsPathParamsInPatternOrder) {
  Router router({R("GET", "/a/:first/b/:second")});
  auto match = router.Match("GET", "/a/x1/b/y2");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_THAT(match.path_params, ElementsAre(Pair("first", "x1"), Pair("second", "y2")));

  Router shop = ShopRouter();  // the match points into the router: keep it alive
  auto order = shop.Match("PUT", "/api/orders/01ABC/status");
  ASSERT_EQ(order.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(*order.pattern, "/api/orders/:id/status");
  EXPECT_THAT(order.path_params, ElementsAre(Pair("id", "01ABC")));
}

TEST(RouterTest, DifferentParamNamesAtTheSamePositionKeepTheirOwnNames) {
  Router router({R("GET", "/items/:id"), R("POST", "/items/:itemId/retry")});
  EXPECT_THAT(router.Match("GET", "/items/7").path_params, ElementsAre(Pair("id", "7")));
  EXPECT_THAT(router.Match("POST", "/items/7/retry").path_params, ElementsAre(Pair("itemId", "7")));
}

TEST(RouterTest, LiteralSegmentWinsOverParam) {
  Router router = ShopRouter();
  auto retry_all = router.Match("POST", "/api/dlq/retry-all");
  ASSERT_EQ(retry_all.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(*retry_all.pattern, "/api/dlq/retry-all");
  EXPECT_TRUE(retry_all.path_params.empty());

  // Registration order does not matter.
  Router reversed({R("GET", "/x/:id"), R("GET", "/x/special")});
  EXPECT_EQ(PatternOf(reversed.Match("GET", "/x/special")), "/x/special");
  EXPECT_EQ(PatternOf(reversed.Match("GET", "/x/other")), "/x/:id");
}

TEST(RouterTest, ParamRouteServesAMethodTheLiteralRouteLacks) {
  Router router = ShopRouter();
  auto discard = router.Match("DELETE", "/api/dlq/retry-all");
  ASSERT_EQ(discard.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(*discard.pattern, "/api/dlq/:messageId");
  EXPECT_THAT(discard.path_params, ElementsAre(Pair("messageId", "retry-all")));
}

TEST(RouterTest, BacktracksFromALiteralDeadEnd) {
  Router router({R("GET", "/a/b/c"), R("GET", "/a/:x/d")});
  auto match = router.Match("GET", "/a/b/d");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(*match.pattern, "/a/:x/d");
  EXPECT_THAT(match.path_params, ElementsAre(Pair("x", "b")));
}

TEST(RouterTest, UnknownPathsAreNotFound) {
  Router router = ShopRouter();
  EXPECT_EQ(router.Match("GET", "/api/nothing").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api/orders/1/status/extra").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "/api").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router.Match("GET", "api/orders").kind, RouteMatch::Kind::kNotFound);
  // A parameter never matches an empty segment.
  EXPECT_EQ(router.Match("PUT", "/api/orders//status").kind, RouteMatch::Kind::kNotFound);
}

TEST(RouterTest, WrongMethodListsAllowedMethods) {
  Router router = ShopRouter();
  auto match = router.Match("PATCH", "/api/orders/42");
  ASSERT_EQ(match.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_THAT(match.allowed_methods, ElementsAre("DELETE", "GET", "HEAD"));

  // Literal and parameter routes matching the same path pool their methods.
  auto dlq = router.Match("GET", "/api/dlq/retry-all");
  ASSERT_EQ(dlq.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_THAT(dlq.allowed_methods, ElementsAre("DELETE", "POST"));
}

TEST(RouterTest, HeadIsServedByGet) {
  Router router = ShopRouter();
  EXPECT_EQ(PatternOf(router.Match("HEAD", "/api/orders/1")), "/api/orders/:id");
  Router explicit_head({R("GET", "/x"), R("HEAD", "/x")});
  EXPECT_EQ(explicit_head.Match("HEAD", "/x").kind, RouteMatch::Kind::kFound);
}

TEST(RouterTest, TrailingSlashIsIgnored) {
  Router router = ShopRouter();
  EXPECT_EQ(PatternOf(router.Match("GET", "/api/orders/")), "/api/orders");
  EXPECT_EQ(PatternOf(router.Match("GET", "/api/orders/7/")), "/api/orders/:id");
  std::vector<std::string> segments{"api", "orders", ""};
  EXPECT_EQ(PatternOf(router.MatchSegments("GET", segments)), "/api/orders");
  // Patterns may be written with a trailing slash too.
  Router slashed({R("GET", "/x/")});
  EXPECT_EQ(PatternOf(slashed.Match("GET", "/x")), "/x/");
}

TEST(RouterTest, MatchSegmentsKeepsEncodedSlashInsideASegment) {
  Router router = ShopRouter();
  std::vector<std::string> segments{"api", "orders", "a/b"};
  auto match = router.MatchSegments("GET", segments);
  ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
  EXPECT_THAT(match.path_params, ElementsAre(Pair("id", "a/b")));
  EXPECT_EQ(PatternOf(router.MatchSegments("GET", std::vector<std::string>{})), "/");
}

TEST(RouterTest, MethodsAreUpperCasedAtRegistration) {
  Router router({R("get", "/x")});
  EXPECT_EQ(router.Match("GET", "/x").kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(router.Match("get", "/x").kind, RouteMatch::Kind::kMethodNotAllowed);
}

TEST(RouterTest, DuplicateRouteIsAProgrammingError) {
  EXPECT_THROW(Router({R("GET", "/x"), R("GET", "/x")}), std::invalid_argument);
  EXPECT_THROW(Router({R("GET", "/x/:a"), R("GET", "/x/:b")}), std::invalid_argument);
  EXPECT_THROW(Router({R("GET", "/x"), R("GET", "/x/")}), std::invalid_argument);
  EXPECT_NO_THROW(Router({R("GET", "/x"), R("POST", "/x")}));

  Router router({R("GET", "/x")});
  EXPECT_THROW(router.Add({R("GET", "/x")}), std::invalid_argument);
}

TEST(RouterTest, MalformedPatternsAreRejected) {
  EXPECT_THROW(Router({R("GET", "x")}), std::invalid_argument);
  EXPECT_THROW(Router({R("GET", "")}), std::invalid_argument);
  EXPECT_THROW(Router({R("GET", "/a//b")}), std::invalid_argument);
  EXPECT_THROW(Router({R("GET", "/a/:")}), std::invalid_argument);
  EXPECT_THROW(Router({R("GET", "/a/:id/:id")}), std::invalid_argument);
  EXPECT_THROW(Router({R("", "/a")}), std::invalid_argument);
}

TEST(RouterTest, AddExtendsTheTable) {
  Router router({R("GET", "/x")});
  router.Add({R("GET", "/y/:id")});
  EXPECT_EQ(router.size(), 2u);
  EXPECT_THAT(router.Match("GET", "/y/3").path_params, ElementsAre(Pair("id", "3")));
}

}  // namespace
}  // namespace shopflow
