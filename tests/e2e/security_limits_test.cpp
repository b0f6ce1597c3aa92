// Issue 8 end to end: secure defaults at start-up, rate limiting, request limits (header count,
// JSON depth and array length, connections) and card numbers that never reach the store or
// the events.
#include <gmock/gmock.h>

#include "tests/e2e/security_fixture.hpp"

namespace shopflow::testing {
namespace {

using security::Role;

Settings Base(const std::filesystem::path& dir) {
  Settings s;
  s.port = 0;
  s.data_dir = dir.string();
  return s;
}

class SecurityStartup : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_ =
      std::filesystem::path(::testing::TempDir()) / ("shopflow-sec-" + NewId());
};

TEST_F(SecurityStartup, RefusesToRunUnprotectedBeyondLoopback) {
  Settings everywhere = Base(dir_);
  everywhere.host = "0.0.0.0";  // auth=auto → on, and there is no secret
  auto refused = Application::Create(everywhere);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("no secret"));

  Settings off = Base(dir_);
  off.host = "0.0.0.0";
  off.auth = "off";
  EXPECT_FALSE(Application::Create(off));

  Settings weak = Base(dir_);
  weak.auth = "on";
  weak.jwt_secret = "too-short";
  auto short_secret = Application::Create(weak);
  ASSERT_FALSE(short_secret);
  EXPECT_EQ(short_secret.error().message.find("too-short"), std::string::npos)
      << "the error repeats the secret";

  Settings fine = Base(dir_);
  fine.host = "0.0.0.0";
  fine.jwt_secret = std::string(32, 'x');
  EXPECT_TRUE(Application::Create(fine));
}

// Development on loopback: authentication off by default, said in /api/health and whoami;
// existing clients keep working without credentials.
class AuthOffOnLoopback : public AppTest {};

TEST_F(AuthOffOnLoopback, SaysSoInHealthAndWhoAmI) {
  auto health = Get("/api/health");
  EXPECT_EQ(GetString(health.Json().as_object(), "auth"), "off");
  auto who = Get("/api/auth/whoami");
  ASSERT_EQ(who.status, 200);
  EXPECT_EQ(GetString(who.Json().as_object(), "role"), "admin");
  EXPECT_FALSE(who.Json().as_object().at("authenticated").as_bool());
  EXPECT_EQ(Get("/api/audit").status, 200);
}

class SecurityRateLimit : public SecureAppTest {
 protected:
  void Adjust(Settings& s) override {
    s.rate_limit_rps = 0.01;  // one token per 100 s: the bucket never refills during the test
    s.rate_limit_burst = 3;
  }
};

TEST_F(SecurityRateLimit, TooManyRequestsAre429WithRetryAfterPerClient) {
  const std::string olga = operator_;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Call("GET", "/api/stats", olga).status, 200) << i;
  auto limited = Call("GET", "/api/stats", olga);
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorCodeOf(limited), "rate_limited");
  EXPECT_GE(std::stoi(limited.Header("retry-after")), 1);
  // Another principal from the same address has its own bucket; probes are never limited.
  EXPECT_EQ(Call("GET", "/api/stats", admin_).status, 200);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Get("/healthz").status, 200);
  // Anonymous callers are limited by address (bad tokens included: guessing is bounded).
  for (int i = 0; i < 3; ++i)
    Call("GET", "/api/stats", "guess-" + std::to_string(i) + "-xxxxxxxxxxx");
  EXPECT_EQ(Call("GET", "/api/stats", "guess-x-xxxxxxxxxxxxxxxx").status, 429);
}

class SecurityLimits : public SecureAppTest {
 protected:
  void Adjust(Settings& s) override {
    s.max_connections = 3;
    s.max_header_count = 20;
  }
};

TEST_F(SecurityLimits, TooManyHeaderFieldsAre413) {
  HeaderList headers = Bearer(admin_);
  for (int i = 0; i < 25; ++i) headers.emplace_back("X-Filler-" + std::to_string(i), "x");
  auto r = client_->Request("GET", "/api/stats", std::nullopt, headers);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCodeOf(r), "payload_too_large");
  EXPECT_THAT(r.body, ::testing::HasSubstr("header fields"));
  EXPECT_EQ(Call("GET", "/api/stats", admin_).status, 200);  // and the server keeps serving
}

TEST_F(SecurityLimits, DeepOrLongJsonIsRefusedClearly) {
  std::string deep = "{\"customerId\":";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  auto too_deep = Call("POST", "/api/orders", admin_, deep);
  EXPECT_EQ(too_deep.status, 400);
  EXPECT_EQ(ErrorCodeOf(too_deep), "malformed_json");
  EXPECT_THAT(too_deep.body, ::testing::HasSubstr("nested deeper than 32"));

  std::string long_array = "{\"customerId\":\"c\",\"items\":[";
  for (int i = 0; i < 10'001; ++i) long_array += (i ? ",0" : "0");
  long_array += "]}";
  auto too_long = Call("POST", "/api/orders", admin_, long_array);
  EXPECT_EQ(too_long.status, 413);
  EXPECT_EQ(ErrorCodeOf(too_long), "payload_too_large");
  EXPECT_THAT(too_long.body, ::testing::HasSubstr("more than 10000 elements"));
}

TEST_F(SecurityLimits, ConnectionsBeyondTheMaximumGet503) {
  // Three keep-alive connections stay open after their first request.
  HttpClient a("127.0.0.1", app_->port());
  HttpClient b("127.0.0.1", app_->port());
  ASSERT_EQ(a.Get("/healthz").status, 200);
  ASSERT_EQ(b.Get("/healthz").status, 200);
  ASSERT_EQ(client_->Get("/healthz").status, 200);
  const std::string answer =
      RawExchange("127.0.0.1", app_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(answer, ::testing::HasSubstr("too many connections"));
  // Once one leaves, there is room again.
  a.Close();
  EXPECT_TRUE(WaitFor([&] {
    return RawExchange("127.0.0.1", app_->port(),
                       "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .starts_with("HTTP/1.1 200");
  }));
}

class CardNumbers : public SecureAppTest {};

TEST_F(CardNumbers, AreTokenizedAtIntakeAndNeverStoredOrPublished) {
  auto product = Call("POST", "/api/inventory/products", admin_,
                      R"({"name":"Lamp","sku":"LAMP","price":25,"stock":10})");
  ASSERT_EQ(product.status, 201);
  const std::string lamp = GetString(product.Json().as_object(), "productId");
  struct Case {
    std::string card;
    std::string settles_as;
  };
  const Case cases[] = {{"4242 4242 4242 4242", "paid"},
                        {"4000000000000002", "failed"},
                        {"4000000000009995", "failed"}};
  for (const auto& c : cases) {
    json::object body{{"customerId", "dana@example.com"},
                      {"items", json::array{json::object{{"productId", lamp}, {"quantity", 1}}}},
                      {"paymentDetails", json::object{{"cardNumber", c.card},
                                                      {"cvv", "123"},
                                                      {"holderNote", "card 4242424242424242"}}}};
    auto created = Call("POST", "/api/orders", admin_, ToJsonText(body));
    ASSERT_EQ(created.status, 201) << created.body;
    const json::value order_json = created.Json();
    const auto& order = order_json.as_object();
    const std::string id = GetString(order, "orderId");
    const auto& details = order.at("paymentDetails").as_object();
    EXPECT_THAT(GetString(details, "cardToken"), ::testing::StartsWith("tok_"));
    EXPECT_EQ(GetString(details, "cardBrand"), "visa");
    EXPECT_FALSE(details.contains("cvv"));
    EXPECT_FALSE(details.contains("holderNote"));  // looked like a card number
    ASSERT_TRUE(WaitFor([&] {
      return GetString(Call("GET", "/api/orders/" + id, admin_).Json().as_object(), "status") ==
             c.settles_as;
    })) << c.card;
  }
  // Nothing published carries a full number, and neither does the event log.
  for (const auto& e : recorder_.Find("")) {
    const std::string data = ToJsonText(e.data);
    EXPECT_EQ(data.find("4242424242424242"), std::string::npos) << e.event_type;
    EXPECT_EQ(data.find("4000000000000002"), std::string::npos) << e.event_type;
    EXPECT_EQ(data.find("4000000000009995"), std::string::npos) << e.event_type;
    EXPECT_EQ(data.find("4242 4242 4242 4242"), std::string::npos) << e.event_type;
  }
  auto log = Call("GET", "/api/messages?limit=500", admin_);
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.body.find("4000000000000002"), std::string::npos);
  EXPECT_EQ(log.body.find("4242 4242 4242 4242"), std::string::npos);
}

}  // namespace
}  // namespace shopflow::testing
