#include "http/request_target.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

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

// The plain-path shortcut must answer exactly what the general (Boost.URL) parse answers.
void ExpectSameAsGeneral(std::string_view text) {
  auto fast = ParseRequestTarget(text);
  auto general = ParseRequestTargetGeneral(text);
  ASSERT_TRUE(general.ok()) << text;
  ASSERT_TRUE(fast.ok()) << text;
  EXPECT_EQ(fast->path, general->path) << text;
  EXPECT_EQ(fast->segments, general->segments) << text;
  EXPECT_TRUE(fast->query.empty()) << text;
  EXPECT_TRUE(general->query.empty()) << text;
}

TEST(RequestTargetTest, PlainPathsParseAsTheGeneralParserParsesThem) {
  for (const char* text :
       {"/", "//", "/api/orders/01HZX3K4M5N6P7Q8R9S0T1V2W3", "/api/orders/", "/./api/orders",
        "/a/../b", "//x", "/a+b", "/a:b@c", "/!$&'()*,;=", "/-._~", "///"}) {
    EXPECT_TRUE(IsPlainPath(text)) << text;
    ExpectSameAsGeneral(text);
  }
  // Random paths over the whole plain alphabet, slashes and dots included.
  const std::string alphabet =
      "abcXYZ019-._~!$&'()*+,;=:@/"
      "/./.";
  std::mt19937 random(20261130);
  for (int i = 0; i < 2000; ++i) {
    std::string text = "/";
    const size_t length = random() % 24;
    for (size_t j = 0; j < length; ++j) text += alphabet[random() % alphabet.size()];
    ASSERT_TRUE(IsPlainPath(text)) << text;
    ExpectSameAsGeneral(text);
  }
}

TEST(RequestTargetTest, TargetsWithEscapesQueriesOrOtherBytesTakeTheGeneralParse) {
  for (const char* text :
       {"", "api", "*", "/a%20b", "/a?b=1", "/a?", "/a#f", "/a b", "/a\\b", "/a\"b", "/a<b>",
        "/caf\xc3\xa9", "/a[1]", "/a{b}", "/a|b", "/a^b", "/a`b"}) {
    EXPECT_FALSE(IsPlainPath(text)) << text;
  }
  // What the shortcut does not take still decodes as before.
  auto escaped = ParseRequestTarget("/api/items/a%20b?x=1");
  ASSERT_TRUE(escaped.ok());
  EXPECT_THAT(escaped->segments, ElementsAre("api", "items", "a b"));
  EXPECT_THAT(escaped->query, ElementsAre(Pair("x", "1")));
  EXPECT_FALSE(ParseRequestTarget("/a b").ok());
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
