#include "core/json.hpp"

#include <gtest/gtest.h>

namespace shopflow {
namespace {

json::object Obj(std::string_view text) { return ParseJson(text)->as_object(); }

TEST(ParseJson, ReportsMalformedText) {
  auto r = ParseJson("{\"a\":");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformedJson);
}

TEST(ParseJson, BoundsNestingDepth) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep));
  EXPECT_TRUE(ParseJson("[[[1]]]"));
}

TEST(ToJsonText, WritesShortestDoublesAndEscapes) {
  json::value v =
      json::object{{"p", 19.99}, {"s", "a\"b"}, {"n", nullptr}, {"l", json::array{1, true}}};
  EXPECT_EQ(ToJsonText(v), R"({"p":19.99,"s":"a\"b","n":null,"l":[1,true]})");
}

TEST(BodyReader, CollectsEveryProblem) {
  auto body = Obj(R"({"name": 5, "stock": -1, "extra": true})");
  BodyReader r(body);
  r.RequiredString("name");
  r.RequiredString("sku");
  r.RequiredInt("stock", 0, 100);
  r.RejectUnknownFields();
  auto done = r.Finish();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, ErrorCode::kValidationFailed);
  std::vector<ErrorDetail> expected{{"name", "must be a string"},
                                    {"sku", "is required"},
                                    {"stock", "must be at least 0"},
                                    {"extra", "is not a known field"}};
  EXPECT_EQ(done.error().details, expected);
}

TEST(BodyReader, ReadsValidFieldsAndNestedPaths) {
  auto body = Obj(R"({"items": [{"quantity": 2.0}], "price": 3.5, "note": null})");
  BodyReader r(body);
  const auto* items = r.RequiredArray("items", 1, 10);
  ASSERT_NE(items, nullptr);
  BodyReader item((*items)[0].as_object(), "items[0]");
  EXPECT_EQ(item.RequiredInt("quantity", 1, 10), 2);
  item.RequiredString("productId");
  r.Merge(std::move(item));
  EXPECT_EQ(r.RequiredMoney("price", Money(), Money::FromCents(1000))->cents(), 350);
  EXPECT_FALSE(r.OptionalString("note"));
  ASSERT_EQ(r.details().size(), 1u);
  EXPECT_EQ(r.details()[0].field, "items[0].productId");
}

TEST(BodyReader, RejectsBlankAndOverlongStrings) {
  auto body = Obj(R"({"a": "  ", "b": "xxxxxxxxxxx"})");
  BodyReader r(body);
  r.RequiredString("a");
  r.RequiredString("b", 10);
  EXPECT_EQ(r.details().size(), 2u);
}

}  // namespace
}  // namespace shopflow
