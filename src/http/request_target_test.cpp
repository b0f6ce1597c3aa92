#include "http/request_target.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace shopflow {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(RequestTargetTest, DecodesPathSegmentsAndQueryInOrder) {
  auto target = ParseRequestTarget("/api/items/a%20b%2Fc?x=1&name=jane%20doe&x=2&q=a+b&flag");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->path, "/api/items/a b/c");
  EXPECT_THAT(target->segments, ElementsAre("api", "items", "a b/c"));
  EXPECT_THAT(target->query, ElementsAre(Pair("x", "1"), Pair("name", "jane doe"), Pair("x", "2"),
                                         Pair("q", "a b"), Pair("flag", "")));
}

TEST(RequestTargetTest, RootAndTrailingSlash) {
  auto root = ParseRequestTarget("/");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->path, "/");
  EXPECT_TRUE(root->segments.empty());
  EXPECT_TRUE(root->query.empty());

  auto trailing = ParseRequestTarget("/api/orders/");
  ASSERT_TRUE(trailing.ok());
  EXPECT_THAT(trailing->segments, ElementsAre("api", "orders", ""));
}

// Found by fuzz/request_target: Boost.URL's segment view hides a leading "/.", so the router
// matched "/./api/orders" as "/api/orders" while the path said otherwise. The segments are
// exactly the path's, dot segments included (no route has one, so they never match).
TEST(RequestTargetTest, SegmentsAreThePathsEvenWithDotSegments) {
  for (const char* text : {"/./api/orders", "/.//api", "/a/../b", "//x"}) {
    auto target = ParseRequestTarget(text);
    ASSERT_TRUE(target.ok()) << text;
    std::string joined;
    for (const auto& s : target->segments) joined += "/" + s;
    EXPECT_EQ(joined, target->path) << text;
  }
  EXPECT_THAT(ParseRequestTarget("/./api/orders")->segments, ElementsAre(".", "api", "orders"));
}

TEST(RequestTargetTest, RejectsWhatIsNotAnOriginFormTarget) {
  for (const char* bad : {"", "api/orders", "*", "http://example.com/x", "/bad%zzescape",
                          "/a?b=%G1", "/nul%00byte"}) {
    auto target = ParseRequestTarget(bad);
    ASSERT_FALSE(target.ok()) << bad;
    EXPECT_EQ(target.error().code, ErrorCode::kValidationFailed) << bad;
  }
}

TEST(RequestTargetTest, CorrelationIdSanity) {
  EXPECT_TRUE(IsAcceptableCorrelationId("abc-123"));
  EXPECT_TRUE(IsAcceptableCorrelationId("01HZX3K4M5N6P7Q8R9S0T1V2W3"));
  EXPECT_TRUE(IsAcceptableCorrelationId(std::string(128, 'a')));
  EXPECT_FALSE(IsAcceptableCorrelationId(std::string(129, 'a')));
  EXPECT_FALSE(IsAcceptableCorrelationId(""));
  EXPECT_FALSE(IsAcceptableCorrelationId("has space"));
  EXPECT_FALSE(IsAcceptableCorrelationId("tab\there"));
  EXPECT_FALSE(IsAcceptableCorrelationId("caf\xc3\xa9"));
}

}  // namespace
}  // namespace shopflow
