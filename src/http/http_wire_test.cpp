#include "http/http_wire.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>

namespace shopflow::http_internal {
namespace {

namespace bhttp = boost::beast::http;

// What Beast's own serializer writes for the same message.
std::string BeastBytes(const WireResponse& response) {
  std::ostringstream out;
  out << response;
  return out.str();
}

WireResponse Json(unsigned status, std::string body, unsigned version = 11) {
  WireResponse r;
  r.version(version);
  r.result(status);
  r.set(bhttp::field::server, "shopflow");
  r.set(bhttp::field::content_type, "application/json; charset=utf-8");
  r.body() = std::move(body);
  r.set("X-Correlation-Id", "01M8Q6PT9AXB1NJT7FZN870EQW");
  r.content_length(r.body().size());
  return r;
}

TEST(SerializeResponse, WritesWhatBeastsSerializerWrites) {
  std::vector<WireResponse> cases;
  cases.push_back(Json(200, R"({"orderId":"01M8"})"));
  cases.push_back(Json(404, R"({"error":{"code":"NOT_FOUND"}})"));
  cases.push_back(Json(201, "{}", 10));  // HTTP/1.0
  {
    auto keep = Json(200, "{}", 10);
    keep.keep_alive(true);  // an HTTP/1.0 keep-alive answer carries "Connection: keep-alive"
    cases.push_back(std::move(keep));
  }
  {
    auto close = Json(503, R"({"error":{}})");
    close.keep_alive(false);
    cases.push_back(std::move(close));
  }
  {
    WireResponse empty;  // 204: no body, no Content-Length
    empty.version(11);
    empty.result(204);
    empty.set(bhttp::field::server, "shopflow");
    cases.push_back(std::move(empty));
  }
  {
    auto head = Json(200, std::string(700, 'x'));
    head.body().clear();  // HEAD: the GET's Content-Length, no body
    cases.push_back(std::move(head));
  }
  {
    auto repeated = Json(200, "ok");
    repeated.insert("Set-Cookie", "a=1");
    repeated.insert("Set-Cookie", "b=2");
    repeated.insert("X-Custom", "");
    cases.push_back(std::move(repeated));
  }
  {
    auto odd = Json(299, "{}");  // no standard reason phrase
    cases.push_back(std::move(odd));
  }
  {
    auto custom = Json(200, "{}");
    custom.reason("Fine");
    cases.push_back(std::move(custom));
  }
  for (const auto& response : cases) {
    EXPECT_EQ(SerializeResponse(response), BeastBytes(response));
  }
}

TEST(SerializeResponse, StartsWithTheStatusLineAndEndsWithTheBody) {
  const auto bytes = SerializeResponse(Json(200, R"({"a":1})"));
  EXPECT_EQ(bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(bytes.find("\r\nContent-Length: 7\r\n"), std::string::npos);
  EXPECT_TRUE(bytes.ends_with("\r\n\r\n{\"a\":1}"));
}

}  // namespace
}  // namespace shopflow::http_internal
