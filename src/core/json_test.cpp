#include "core/json.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

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

TEST(ToJsonText, EscapesStringsAndKeysExactlyAsBoostJsonDoes) {
  // The fast path copies plain strings; anything else must come out as json::serialize says.
  const std::string nasty = std::string("tab\there \"q\" back\\slash nul") + '\0' + "\x1f end";
  for (const std::string& text : {std::string("plain ascii"), std::string("açúcar €"), nasty,
                                  std::string(""), std::string("\n")}) {
    json::value v = json::object{{text, text}};
    EXPECT_EQ(ToJsonText(v), json::serialize(v)) << text;
    EXPECT_EQ(ParseJson(ToJsonText(v))->as_object().at(text).as_string(), text);
  }
}

TEST(AppendJsonString, FindsEveryByteToEscapeWhereverItIs) {
  // The scan reads eight bytes at a time: each byte value at each position of strings around
  // that width, against boost's serializer.
  for (size_t length = 1; length <= 19; ++length) {
    for (size_t at = 0; at < length; ++at) {
      for (int byte = 0; byte < 256; ++byte) {
        std::string text(length, 'a');
        text[at] = static_cast<char>(byte);
        std::string out;
        AppendJsonString(out, text);
        ASSERT_EQ(out, json::serialize(json::string_view(text)))
            << length << " " << at << " " << byte;
      }
    }
  }
}

TEST(ToJsonText, WritesAnObjectOrAnArrayAsTheirValueWouldBe) {
  const json::object nested{{"p", 19.99},
                            {"s", "a\"b"},
                            {"o", json::object{{"l", json::array{1, -2, 3.5, nullptr}}}},
                            {"e", json::object{}},
                            {"a", json::array{}}};
  EXPECT_EQ(ToJsonText(nested), ToJsonText(json::value(nested)));
  EXPECT_EQ(ToJsonText(nested),
            R"({"p":19.99,"s":"a\"b","o":{"l":[1,-2,3.5,null]},"e":{},"a":[]})");
  const json::array list{json::object{{"k", "v"}}, json::array{true, false}, "x"};
  EXPECT_EQ(ToJsonText(list), R"([{"k":"v"},[true,false],"x"])");
  EXPECT_EQ(ToJsonText(json::array{}), "[]");
  EXPECT_EQ(ToJsonText(json::object{}), "{}");
}

TEST(ToJsonText, WritesABorrowedMemberAfterTheObjectsOwn) {
  const json::object data{{"orderId", "o-1"}, {"items", json::array{1, 2}}};
  EXPECT_EQ(ToJsonText(json::object{{"type", "x"}, {"n", 1}}, "data", data),
            R"({"type":"x","n":1,"data":{"orderId":"o-1","items":[1,2]}})");
  EXPECT_EQ(ToJsonText(json::object{}, "data", data),
            R"({"data":{"orderId":"o-1","items":[1,2]}})");
  EXPECT_EQ(ToJsonText(json::object{{"a", 1}}, "q\"k", json::value(nullptr)),
            R"({"a":1,"q\"k":null})");
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

TEST(ParseJson, BoundsDepthAndArrayLength) {
  std::string deep(33, '[');
  deep += std::string(33, ']');
  auto too_deep = ParseJson(deep);
  ASSERT_FALSE(too_deep);
  EXPECT_EQ(too_deep.error().code, ErrorCode::kMalformedJson);
  EXPECT_EQ(too_deep.error().message, "JSON is nested deeper than 32 levels");
  EXPECT_TRUE(ParseJson(std::string(32, '[') + std::string(32, ']')));

  auto array_of = [](size_t n) {
    std::string text = R"({"a":{"b":[)";
    for (size_t i = 0; i < n; ++i) text += i ? ",1" : "1";
    return text + "]}}";
  };
  EXPECT_TRUE(ParseJson(array_of(10'000)));
  auto too_long = ParseJson(array_of(10'001));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_FALSE(ParseJson(array_of(3), JsonLimits{.max_depth = 32, .max_array_length = 2}));
}

TEST(BodyReader, RejectsBlankAndOverlongStrings) {
  auto body = Obj(R"({"a": "  ", "b": "xxxxxxxxxxx"})");
  BodyReader r(body);
  r.RequiredString("a");
  r.RequiredString("b", 10);
  EXPECT_EQ(r.details().size(), 2u);
}

// Found by fuzz/envelope (UBSan): a double beyond int64 was converted anyway.
TEST(GetInt, ADoubleOutsideInt64IsTheFallback) {
  auto doc = Obj(R"({"big": 8.4e19, "small": -1e300, "inf": 1e999, "ok": 42.9, "neg": -3.5})");
  EXPECT_EQ(GetInt(doc, "big", 7), 7);
  EXPECT_EQ(GetInt(doc, "small", 7), 7);
  EXPECT_EQ(GetInt(doc, "inf", 7), 7);
  EXPECT_EQ(GetInt(doc, "ok", 7), 42);
  EXPECT_EQ(GetInt(doc, "neg", 7), -3);
}

}  // namespace
}  // namespace shopflow
