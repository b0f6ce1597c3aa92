#include "core/api.hpp"

#include <gtest/gtest.h>

namespace shopflow {
namespace {

ApiRequest Request(std::string content_type, std::string body) {
  ApiRequest r;
  r.method = "POST";
  r.headers = {{"content-type", std::move(content_type)}};
  r.body = std::move(body);
  return r;
}

TEST(JsonObjectBody, ChecksMediaTypeSyntaxAndShape) {
  EXPECT_EQ(JsonObjectBody(Request("text/plain", "{}")).error().code,
            ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(JsonObjectBody(Request("application/json", "{")).error().code,
            ErrorCode::kMalformedJson);
  EXPECT_EQ(JsonObjectBody(Request("application/json", "[]")).error().code,
            ErrorCode::kValidationFailed);
  EXPECT_TRUE(JsonObjectBody(Request("Application/JSON; charset=utf-8", "{}")));
}

TEST(ErrorResponse, HasTheContractShape) {
  auto r = ErrorResponse(ValidationError("bad", {{"x", "is required"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(
      ToJsonText(r.body),
      R"({"error":{"code":"validation_failed","message":"bad","details":[{"field":"x","issue":"is required"}]}})");
}

TEST(ReadPage, DefaultsAndBounds) {
  ApiRequest r;
  EXPECT_EQ(ReadPage(r)->limit, 50);
  r.query = {{"limit", "500"}, {"offset", "3"}};
  EXPECT_EQ(ReadPage(r)->limit, 500);
  EXPECT_EQ(ReadPage(r)->offset, 3);
  r.query = {{"limit", "501"}};
  EXPECT_FALSE(ReadPage(r));
  r.query = {{"limit", "abc"}};
  EXPECT_FALSE(ReadPage(r));
  r.query = {{"offset", "-1"}};
  EXPECT_FALSE(ReadPage(r));
}

}  // namespace
}  // namespace shopflow
