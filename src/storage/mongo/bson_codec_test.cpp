#include "storage/mongo/bson_codec.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace shopflow::mongo {
namespace {

json::object RoundTrip(const json::object& in) {
  auto bson = ToBson(in);
  EXPECT_TRUE(bson.ok()) << (bson ? "" : bson.error().message);
  if (!bson) return {};
  auto out = FromBson(bson->get());
  EXPECT_TRUE(out.ok()) << (out ? "" : out.error().message);
  return out ? *out : json::object{};
}

/// The BSON type stored under a top-level key.
bson_type_t TypeOf(const bson_t* doc, const char* key) {
  bson_iter_t iter;
  if (!bson_iter_init_find(&iter, doc, key)) return BSON_TYPE_EOD;
  return bson_iter_type(&iter);
}

TEST(BsonCodecTest, EveryJsonKindRoundTripsWithItsBsonTwin) {
  const json::object in{{"null", nullptr},     {"yes", true},   {"no", false},
                        {"int", int64_t{-42}}, {"zero", 0},     {"double", 19.99},
                        {"string", "text"},    {"empty", ""},   {"tiny", 5e-324},
                        {"negzero", -0.0},     {"big", 1.5e300}};
  EXPECT_EQ(RoundTrip(in), in);
  auto bson = ToBson(in);
  ASSERT_TRUE(bson.ok());
  EXPECT_EQ(TypeOf(bson->get(), "null"), BSON_TYPE_NULL);
  EXPECT_EQ(TypeOf(bson->get(), "yes"), BSON_TYPE_BOOL);
  EXPECT_EQ(TypeOf(bson->get(), "int"), BSON_TYPE_INT64);
  EXPECT_EQ(TypeOf(bson->get(), "zero"), BSON_TYPE_INT64);
  EXPECT_EQ(TypeOf(bson->get(), "double"), BSON_TYPE_DOUBLE);
  EXPECT_EQ(TypeOf(bson->get(), "string"), BSON_TYPE_UTF8);
  // Kinds survive, not just values: an integer does not come back as a double or vice versa.
  const json::object out = RoundTrip(in);
  EXPECT_TRUE(out.at("int").is_int64());
  EXPECT_TRUE(out.at("double").is_double());
  EXPECT_TRUE(out.at("zero").is_int64());
}

TEST(BsonCodecTest, NestedObjectsAndArraysKeepOrderAndShape) {
  const json::object in{
      {"items", json::array{json::object{{"productId", "p1"}, {"quantity", 2}},
                            json::object{{"productId", "p2"}, {"quantity", 1}}}},
      {"metadata", json::object{{"source", "web"}, {"tags", json::array{"a", 1, nullptr, true}}}},
      {"matrix", json::array{json::array{1, 2}, json::array{}, json::array{json::object{}}}},
      {"emptyObject", json::object{}},
  };
  const json::object out = RoundTrip(in);
  EXPECT_EQ(out, in);
  // Member order is kept (boost::json equality ignores it, so check explicitly).
  std::vector<std::string> keys;
  for (const auto& member : out) keys.emplace_back(member.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"items", "metadata", "matrix", "emptyObject"}));
  auto bson = ToBson(in);
  ASSERT_TRUE(bson.ok());
  EXPECT_EQ(TypeOf(bson->get(), "items"), BSON_TYPE_ARRAY);
  EXPECT_EQ(TypeOf(bson->get(), "metadata"), BSON_TYPE_DOCUMENT);
}

TEST(BsonCodecTest, LargeIntegersAreExact) {
  const json::object in{
      {"max", std::numeric_limits<int64_t>::max()},
      {"min", std::numeric_limits<int64_t>::min()},
      {"umax", std::numeric_limits<uint64_t>::max()},
      {"justAbove", uint64_t{9'223'372'036'854'775'808ULL}},
      {"smallUnsigned", uint64_t{7}},
  };
  const json::object out = RoundTrip(in);
  EXPECT_EQ(out.at("max").as_int64(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(out.at("min").as_int64(), std::numeric_limits<int64_t>::min());
  ASSERT_TRUE(out.at("umax").is_uint64());
  EXPECT_EQ(out.at("umax").as_uint64(), std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(out.at("justAbove").is_uint64());
  EXPECT_EQ(out.at("justAbove").as_uint64(), 9'223'372'036'854'775'808ULL);
  EXPECT_EQ(out.at("smallUnsigned"), json::value(7));
  auto bson = ToBson(in);
  ASSERT_TRUE(bson.ok());
  EXPECT_EQ(TypeOf(bson->get(), "umax"), BSON_TYPE_DECIMAL128);
  EXPECT_EQ(TypeOf(bson->get(), "smallUnsigned"), BSON_TYPE_INT64);
}

TEST(BsonCodecTest, UnicodeAndEmbeddedNulStringsRoundTrip) {
  const json::object in{
      {"name", "Lâmpada de mesa ☀️ 日本語"},
      {"emoji", "\xF0\x9F\x98\x80"},
      {"nul", json::string(std::string_view("a\0b", 3))},
      {"pedido_número", "ação"},
  };
  const json::object out = RoundTrip(in);
  EXPECT_EQ(out, in);
  EXPECT_EQ(out.at("nul").as_string().size(), 3u);
}

TEST(BsonCodecTest, KeysWithDotsDollarsPercentNulOrEmptyAreEscapedReversibly) {
  const std::string nul_key("a\0b", 3);
  const json::object in{
      {"a.b", 1},
      {"$set", 2},
      {"price$", 3},
      {"50%", 4},
      {"", 5},
      {"%", 6},
      {"%2E", 7},
      {nul_key, 8},
      {"plain_key", json::object{{"nested.key", json::object{{"$x", 9}}}}},
  };
  auto bson = ToBson(in);
  ASSERT_TRUE(bson.ok());
  // What MongoDB sees: no dot, no leading dollar, no empty key.
  EXPECT_EQ(TypeOf(bson->get(), "a%2Eb"), BSON_TYPE_INT64);
  EXPECT_EQ(TypeOf(bson->get(), "%24set"), BSON_TYPE_INT64);
  EXPECT_EQ(TypeOf(bson->get(), "50%25"), BSON_TYPE_INT64);
  EXPECT_EQ(TypeOf(bson->get(), "%"), BSON_TYPE_INT64);
  EXPECT_EQ(TypeOf(bson->get(), "plain_key"), BSON_TYPE_DOCUMENT);
  EXPECT_TRUE(bson_validate(bson->get(), BSON_VALIDATE_DOT_KEYS, nullptr));
  EXPECT_TRUE(bson_validate(bson->get(), BSON_VALIDATE_DOLLAR_KEYS, nullptr));
  EXPECT_TRUE(bson_validate(bson->get(), BSON_VALIDATE_EMPTY_KEYS, nullptr));
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(BsonCodecTest, OrdinaryFieldNamesAreStoredUnchanged) {
  for (const char* key : {"customerId", "createdAt", "correlationId", "status", "_private"}) {
    EXPECT_EQ(EncodeKey(key), key);
    EXPECT_EQ(DecodeKey(key), key);
  }
  EXPECT_EQ(EncodeKey("a.b$c%"), "a%2Eb%24c%25");
  EXPECT_EQ(DecodeKey("a%2Eb%24c%25"), "a.b$c%");
  // A '%' without two hex digits (a key written by another tool) decodes to itself.
  EXPECT_EQ(DecodeKey("100%"), "100%");
  EXPECT_EQ(DecodeKey("%zz"), "%zz");
}

TEST(BsonCodecTest, NestingBeyondMongoDbsLimitIsRejectedClearly) {
  json::value deep = json::object{};
  for (int i = 0; i < kMaxBsonDepth + 5; ++i) deep = json::object{{"d", deep}};
  auto bson = ToBson(deep.as_object());
  ASSERT_FALSE(bson.ok());
  EXPECT_EQ(bson.error().code, ErrorCode::kValidationFailed);
  EXPECT_NE(bson.error().message.find("100"), std::string::npos) << bson.error().message;

  json::value arrays = json::array{};
  for (int i = 0; i < kMaxBsonDepth + 5; ++i) arrays = json::array{arrays};
  auto nested = ToBson(json::object{{"a", arrays}});
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code, ErrorCode::kValidationFailed);

  json::value fine = json::object{};
  for (int i = 0; i < 50; ++i) fine = json::object{{"d", fine}};
  EXPECT_EQ(RoundTrip(fine.as_object()), fine.as_object());
}

TEST(BsonCodecTest, ForeignBsonTypesAreReadOrRefusedByName) {
  bson_t doc;
  bson_init(&doc);
  BSON_APPEND_INT32(&doc, "int32", 7);
  BSON_APPEND_DATE_TIME(&doc, "date", 1'700'000'000'123);
  bson_oid_t oid;
  bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
  BSON_APPEND_OID(&doc, "oid", &oid);
  BSON_APPEND_UNDEFINED(&doc, "undef");
  bson_decimal128_t dec;
  ASSERT_TRUE(bson_decimal128_from_string("12.5", &dec));
  BSON_APPEND_DECIMAL128(&doc, "decimal", &dec);
  ASSERT_TRUE(bson_decimal128_from_string("-42", &dec));
  BSON_APPEND_DECIMAL128(&doc, "negative", &dec);
  auto out = FromBson(&doc);
  bson_destroy(&doc);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->at("int32"), json::value(7));
  EXPECT_TRUE(out->at("int32").is_int64());
  ASSERT_TRUE(out->at("date").is_string());
  EXPECT_TRUE(std::string(out->at("date").as_string()).starts_with("2023-11-14T22:13:20"));
  EXPECT_EQ(out->at("oid"), json::value("65a1b2c3d4e5f60718293a4b"));
  EXPECT_TRUE(out->at("undef").is_null());
  EXPECT_EQ(out->at("decimal"), json::value(12.5));
  EXPECT_EQ(out->at("negative"), json::value(-42));

  bson_t binary;
  bson_init(&binary);
  const uint8_t bytes[] = {1, 2, 3};
  BSON_APPEND_BINARY(&binary, "blob", BSON_SUBTYPE_BINARY, bytes, 3);
  auto refused = FromBson(&binary);
  bson_destroy(&binary);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInternal);
  EXPECT_NE(refused.error().message.find("blob"), std::string::npos) << refused.error().message;

  bson_t nan;
  bson_init(&nan);
  ASSERT_TRUE(bson_decimal128_from_string("NaN", &dec));
  BSON_APPEND_DECIMAL128(&nan, "n", &dec);
  auto not_a_number = FromBson(&nan);
  bson_destroy(&nan);
  EXPECT_FALSE(not_a_number.ok());
}

TEST(BsonCodecTest, ParsedJsonDocumentRoundTrips) {
  auto parsed =
      ParseJson(R"({"orderId":"01J","customerId":"dana@example.com","status":"pending",)"
                R"("items":[{"productId":"p","quantity":2,"price":25.5,"total":51}],)"
                R"("totalAmount":51,"createdAt":"2026-01-01T00:00:00.000Z",)"
                R"("metadata":{"source":"api","correlationId":"c-1"},"n":-9007199254740993})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(RoundTrip(parsed->as_object()), parsed->as_object());
  auto bson = ToBson(parsed->as_object());
  ASSERT_TRUE(bson.ok());
  EXPECT_NE(DebugString(bson->get()).find("dana@example.com"), std::string::npos);
}

TEST(BsonCodecTest, ExpiryMillisReadsTheRetentionTimeOfADocument) {
  const json::object doc{{"createdAt", "2026-11-29T12:00:00.250Z"}, {"n", 1}, {"bad", "noon"}};
  const auto at = ExpiryMillis(doc, "createdAt");
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(*at, 1795953600250);
  EXPECT_FALSE(ExpiryMillis(doc, "").has_value());         // no TTL
  EXPECT_FALSE(ExpiryMillis(doc, "missing").has_value());  // absent
  EXPECT_FALSE(ExpiryMillis(doc, "n").has_value());        // not a string
  EXPECT_FALSE(ExpiryMillis(doc, "bad").has_value());      // not a time
}

}  // namespace
}  // namespace shopflow::mongo
