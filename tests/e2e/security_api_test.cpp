// Issue 8 end to end, authentication on: every role against every endpoint (allowed, 401,
// 403), token expiry and tampering, API keys, ownership, the WebSocket check and the audit log.
#include <gmock/gmock.h>

#include <set>

#include "security/crypto.hpp"
#include "security/policy.hpp"
#include "tests/e2e/security_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace shopflow::testing {
namespace {

using security::Role;
constexpr const char* kSomeId = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

class SecurityApi : public SecureAppTest {};

// A request target for a route pattern: every ":param" becomes an id that exists nowhere.
std::string TargetOf(std::string_view pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == ':') {
      out += kSomeId;
      while (i < pattern.size() && pattern[i] != '/') ++i;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

TEST_F(SecurityApi, EveryRouteOfTheAppHasAPolicyEntry) {
  ASSERT_GE(app_->routes().size(), 30u);
  for (const auto& [method, pattern] : app_->routes()) {
    EXPECT_TRUE(security::FindRule(method, pattern).has_value())
        << method << " " << pattern << " is missing from src/security/policy.cpp";
  }
}

TEST_F(SecurityApi, OpenApiStatesTheSameMinimumRoleForEveryOperation) {
  auto r = Call("GET", "/api/openapi.json", "");
  ASSERT_EQ(r.status, 200);
  const json::value doc_json = r.Json();
  const auto& doc = doc_json.as_object();
  ASSERT_TRUE(doc.at("components").as_object().contains("securitySchemes"));
  std::set<std::string> documented;
  for (const auto& [path, ops] : doc.at("paths").as_object()) {
    std::string pattern(path);
    for (size_t open; (open = pattern.find('{')) != std::string::npos;) {
      const size_t close = pattern.find('}', open);
      pattern.replace(open, close - open + 1, ":" + pattern.substr(open + 1, close - open - 1));
    }
    for (const auto& [method, op] : ops.as_object()) {
      std::string upper(method);
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      // The route's pattern may name its parameter differently: match by shape.
      std::optional<security::EndpointRule> rule;
      for (const auto& candidate : security::EndpointPolicy()) {
        if (candidate.method != upper) continue;
        std::string shape(candidate.pattern), doc_shape = pattern;
        auto normalize = [](std::string s) {
          std::string out;
          for (size_t i = 0; i < s.size();) {
            if (s[i] == ':') {
              out += ':';
              while (i < s.size() && s[i] != '/') ++i;
            } else {
              out += s[i++];
            }
          }
          return out;
        };
        if (normalize(shape) == normalize(doc_shape)) rule = candidate;
      }
      ASSERT_TRUE(rule) << upper << " " << path << " is documented but has no policy entry";
      const auto& object = op.as_object();
      EXPECT_EQ(GetString(object, "x-min-role"), security::RoleName(rule->minimum))
          << upper << " " << path;
      EXPECT_EQ(object.contains("security"), rule->minimum == Role::kPublic)
          << upper << " " << path << ": public operations say security: [] and only they";
      documented.insert(upper + " " + std::string(rule->pattern));
    }
  }
  for (const auto& rule : security::EndpointPolicy()) {
    if (rule.pattern == security::kFallbackRoute || rule.pattern == "/ws") continue;
    EXPECT_TRUE(documented.contains(std::string(rule.method) + " " + std::string(rule.pattern)))
        << rule.method << " " << rule.pattern << " is not in docs/openapi.json";
  }
}

// Every endpoint, every role: below the minimum 403, without credentials 401 (unless public),
// at or above the minimum neither (the handler answers: 200, 400, 404, ...).
TEST_F(SecurityApi, EveryRoleAgainstEveryEndpoint) {
  const std::pair<Role, std::string> principals[] = {
      {Role::kCustomer, Token(Role::kCustomer, "carla@example.com")},
      {Role::kOperator, operator_},
      {Role::kAdmin, admin_}};
  int checked = 0;
  for (const auto& rule : security::EndpointPolicy()) {
    if (rule.pattern == security::kFallbackRoute) continue;
    const std::string target = TargetOf(rule.pattern);
    const std::string method(rule.method);
    const std::optional<std::string> body =
        method == "GET" || method == "DELETE" ? std::nullopt : std::optional<std::string>("{}");
    auto anonymous = Call(method, target, "", body);
    if (rule.minimum == Role::kPublic) {
      EXPECT_NE(anonymous.status, 401) << method << " " << target;
    } else {
      EXPECT_EQ(anonymous.status, 401) << method << " " << target << " " << anonymous.body;
      EXPECT_EQ(ErrorCodeOf(anonymous), "unauthorized");
      EXPECT_THAT(anonymous.Header("www-authenticate"), ::testing::StartsWith("Bearer"));
    }
    for (const auto& [role, token] : principals) {
      auto r = Call(method, target, token, body);
      if (security::Allows(role, rule.minimum)) {
        EXPECT_NE(r.status, 401) << RoleName(role) << " " << method << " " << target;
        EXPECT_NE(r.status, 403) << RoleName(role) << " " << method << " " << target << " "
                                 << r.body;
      } else {
        EXPECT_EQ(r.status, 403) << RoleName(role) << " " << method << " " << target;
        EXPECT_EQ(ErrorCodeOf(r), "forbidden");
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 100);
}

TEST_F(SecurityApi, ExpiredTamperedAndForeignTokensAre401) {
  using security::Base64UrlEncode;
  using security::HmacSha256;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto forge = [&](json::object header, json::object claims, const std::string& key) {
    std::string input =
        Base64UrlEncode(ToJsonText(header)) + "." + Base64UrlEncode(ToJsonText(claims));
    return input + "." + (key.empty() ? "" : Base64UrlEncode(HmacSha256(key, input)));
  };
  auto claims = [&](json::object changes) {
    json::object c{{"sub", "mallory"},      {"role", "admin"}, {"iss", "shopflow"},
                   {"aud", "shopflow-api"}, {"iat", now},      {"exp", now + 600}};
    for (auto& kv : changes) c[kv.key()] = kv.value();
    return c;
  };
  const json::object hs256{{"alg", "HS256"}, {"typ", "JWT"}};
  const std::string forged[] = {
      forge({{"alg", "none"}, {"typ", "JWT"}}, claims({}), ""),          // alg none
      forge({{"alg", "HS512"}}, claims({}), kSecret),                    // another algorithm
      forge(hs256, claims({}), "another-secret-of-thirty-two-bytes!!"),  // wrong key
      forge(hs256, claims({{"exp", now - 3600}}), kSecret),              // expired
      forge(hs256, claims({{"aud", "someone-else"}}), kSecret),          // wrong audience
      forge(hs256, claims({{"iss", "evil"}}), kSecret),                  // wrong issuer
      forge(hs256, claims({{"nbf", now + 3600}}), kSecret),              // not valid yet
      forge(hs256, claims({{"role", "root"}}), kSecret),                 // unknown role
      Token(Role::kAdmin, "ada", std::chrono::seconds(-120)),            // expired, signed
  };
  for (const auto& token : forged) {
    auto r = Call("GET", "/api/stats", token);
    EXPECT_EQ(r.status, 401) << token;
    EXPECT_EQ(ErrorCodeOf(r), "unauthorized");
    EXPECT_THAT(r.Header("www-authenticate"), ::testing::HasSubstr("invalid_token"));
    EXPECT_EQ(r.body.find(token), std::string::npos) << "the answer echoes the token";
  }
  // A valid token with a flipped payload byte (customer promoted to admin) fails too.
  const std::string customer = Token(Role::kCustomer, "carla@example.com");
  const size_t dot1 = customer.find('.');
  const size_t dot2 = customer.find('.', dot1 + 1);
  const std::string promoted = customer.substr(0, dot1) + "." +
                               Base64UrlEncode(ToJsonText(claims({}))) + customer.substr(dot2);
  EXPECT_EQ(Call("GET", "/api/stats", promoted).status, 401);
  // And the genuine one is a customer: 403 on operator endpoints.
  EXPECT_EQ(Call("GET", "/api/stats", customer).status, 403);
  EXPECT_EQ(Call("GET", "/api/stats", admin_).status, 200);
}

TEST_F(SecurityApi, ApiKeysForMachines) {
  auto by_header =
      client_->Request("GET", "/api/stats", std::nullopt, {{"X-API-Key", kOperatorKey}});
  EXPECT_EQ(by_header.status, 200) << by_header.body;
  EXPECT_EQ(Call("GET", "/metrics", kOperatorKey).status, 200);
  EXPECT_EQ(Call("DELETE", std::string("/api/dlq/") + kSomeId, kOperatorKey).status, 403);
  EXPECT_NE(Call("DELETE", std::string("/api/dlq/") + kSomeId, kAdminKey).status, 403);
  auto who = Call("GET", "/api/auth/whoami", kAdminKey);
  ASSERT_EQ(who.status, 200);
  EXPECT_EQ(GetString(who.Json().as_object(), "sub"), "deployer");
  EXPECT_EQ(GetString(who.Json().as_object(), "role"), "admin");
  EXPECT_EQ(Call("GET", "/api/stats", "operator-machine-key-0123456788").status, 401);
}

TEST_F(SecurityApi, WhoAmITellsTheUiItsRole) {
  auto anonymous = Call("GET", "/api/auth/whoami", "");
  ASSERT_EQ(anonymous.status, 200);
  const json::value a_json = anonymous.Json();
  const auto& a = a_json.as_object();
  EXPECT_EQ(GetString(a, "sub"), "anonymous");
  EXPECT_TRUE(a.at("role").is_null());
  EXPECT_FALSE(a.at("authenticated").as_bool());
  EXPECT_EQ(GetString(a, "auth"), "on");
  auto olga = Call("GET", "/api/auth/whoami", operator_);
  const json::value o_json = olga.Json();
  const auto& o = o_json.as_object();
  EXPECT_EQ(GetString(o, "sub"), "olga");
  EXPECT_EQ(GetString(o, "role"), "operator");
  EXPECT_TRUE(o.at("authenticated").as_bool());
  // Health is public and says authentication is on.
  auto health = Call("GET", "/api/health", "");
  EXPECT_EQ(GetString(health.Json().as_object(), "auth"), "on");
}

class SecurityOwnership : public SecureAppTest {
 protected:
  void SetUp() override {
    SecureAppTest::SetUp();
    auto r = Call("POST", "/api/inventory/products", operator_,
                  R"({"name":"Lamp","sku":"LAMP","price":25,"stock":100})");
    ASSERT_EQ(r.status, 201) << r.body;
    lamp_ = GetString(r.Json().as_object(), "productId");
  }

  HttpResult Order(const std::string& token, const std::string& customer,
                   const std::string& method = "credit_card") {
    json::object body{{"customerId", customer},
                      {"paymentMethod", method},
                      {"items", json::array{json::object{{"productId", lamp_}, {"quantity", 1}}}}};
    return Call("POST", "/api/orders", token, ToJsonText(body));
  }

  std::string lamp_;
  std::string alice_ = Token(Role::kCustomer, "alice@example.com");
  std::string bob_ = Token(Role::kCustomer, "bob@example.com");
};

TEST_F(SecurityOwnership, CustomersCreateAndSeeOnlyTheirOwnOrdersAndPayments) {
  auto own = Order(alice_, "alice@example.com", "pix");
  ASSERT_EQ(own.status, 201) << own.body;
  const std::string alice_order = GetString(own.Json().as_object(), "orderId");
  auto for_bob = Order(alice_, "bob@example.com");
  EXPECT_EQ(for_bob.status, 403);
  EXPECT_EQ(ErrorCodeOf(for_bob), "forbidden");
  auto bobs = Order(bob_, "bob@example.com", "pix");
  ASSERT_EQ(bobs.status, 201);
  const std::string bob_order = GetString(bobs.Json().as_object(), "orderId");

  // Lists are confined to the caller; asking for someone else's is refused.
  auto list = Call("GET", "/api/orders", alice_);
  ASSERT_EQ(list.status, 200);
  const json::value data_json = list.Json();
  const auto& data = data_json.as_object().at("data").as_array();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(GetString(data[0].as_object(), "orderId"), alice_order);
  EXPECT_EQ(Call("GET", "/api/orders?customerId=bob@example.com", alice_).status, 403);
  EXPECT_EQ(Call("GET", "/api/orders", operator_).Json().as_object().at("total").as_int64(), 2);

  // Another customer's order is as good as absent.
  EXPECT_EQ(Call("GET", "/api/orders/" + alice_order, alice_).status, 200);
  EXPECT_EQ(Call("GET", "/api/orders/" + bob_order, alice_).status, 404);
  EXPECT_EQ(Call("GET", "/api/orders/" + bob_order, operator_).status, 200);

  // Payments (pix: the saga's payment waits for the bank).
  ASSERT_TRUE(WaitFor([&] {
    auto r = Call("GET", "/api/payments?orderId=" + alice_order, alice_);
    return r.status == 200 && r.Json().as_object().at("total").as_int64() == 1;
  }));
  ASSERT_TRUE(WaitFor([&] {
    return Call("GET", "/api/payments?orderId=" + bob_order, admin_)
               .Json()
               .as_object()
               .at("total")
               .as_int64() == 1;
  }));
  auto bobs_payment = Call("GET", "/api/payments?orderId=" + bob_order, alice_);
  ASSERT_EQ(bobs_payment.status, 200);
  EXPECT_EQ(bobs_payment.Json().as_object().at("total").as_int64(), 0);
  EXPECT_EQ(Call("GET", "/api/payments", alice_).status, 400);  // customers list by order
  const std::string bob_payment_id =
      GetString(Call("GET", "/api/payments?orderId=" + bob_order, admin_)
                    .Json()
                    .as_object()
                    .at("data")
                    .as_array()[0]
                    .as_object(),
                "paymentId");
  EXPECT_EQ(Call("GET", "/api/payments/" + bob_payment_id, alice_).status, 404);
  EXPECT_EQ(Call("GET", "/api/payments/" + bob_payment_id, bob_).status, 200);
  auto pay_bobs = Call("POST", "/api/payments/process", alice_,
                       ToJsonText(json::object{{"orderId", bob_order}}));
  EXPECT_EQ(pay_bobs.status, 404) << pay_bobs.body;
  // Customers never change an order's status.
  EXPECT_EQ(Call("DELETE", "/api/orders/" + alice_order, alice_).status, 403);
}

TEST_F(SecurityOwnership, PrivilegedActionsAreAuditedWithWhoWhatWhen) {
  auto created = Order(admin_, "carla@example.com");
  ASSERT_EQ(created.status, 201);
  const std::string order_id = GetString(created.Json().as_object(), "orderId");
  ASSERT_TRUE(WaitFor([&] {
    return GetString(Call("GET", "/api/orders/" + order_id, admin_).Json().as_object(), "status") ==
           "paid";
  }));
  auto shipped =
      Call("PUT", "/api/orders/" + order_id + "/status", operator_, R"({"status":"shipped"})");
  ASSERT_EQ(shipped.status, 200) << shipped.body;
  // A refused attempt is recorded as well, with its status.
  auto refund_attempt = Call("GET", "/api/payments?orderId=" + order_id, admin_);
  const std::string payment_id = GetString(
      refund_attempt.Json().as_object().at("data").as_array()[0].as_object(), "paymentId");
  EXPECT_EQ(Call("POST", "/api/payments/" + payment_id + "/refund", admin_, "{}").status, 409);

  EXPECT_EQ(Call("GET", "/api/audit", operator_).status, 403);
  auto audit = Call("GET", "/api/audit", admin_);
  ASSERT_EQ(audit.status, 200);
  const json::value rows_json = audit.Json();
  const auto& rows = rows_json.as_object().at("data").as_array();
  ASSERT_GE(rows.size(), 2u);
  // Newest first: the refund attempt, then the status change.
  const auto& refund = rows[0].as_object();
  EXPECT_EQ(GetString(refund, "action"), "payment_refund");
  EXPECT_EQ(GetString(refund, "actor"), "ada");
  EXPECT_EQ(refund.at("details").as_object().at("status").as_int64(), 409);
  const auto& status = rows[1].as_object();
  EXPECT_EQ(GetString(status, "action"), "order_status_change");
  EXPECT_EQ(GetString(status, "actor"), "olga");
  EXPECT_FALSE(GetString(status, "at").empty());
  EXPECT_EQ(GetString(status.at("details").as_object(), "role"), "operator");
  EXPECT_EQ(GetString(*GetObject(status.at("details").as_object(), "params"), "id"), order_id);
  auto filtered = Call("GET", "/api/audit?action=order_status_change", admin_);
  EXPECT_EQ(filtered.Json().as_object().at("total").as_int64(), 1);
}

TEST_F(SecurityApi, TheWebSocketChecksTheTokenToo) {
  const int port = app_->port();
  try {
    WsClient anonymous("127.0.0.1", port);
    ADD_FAILURE() << "an anonymous WebSocket client was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("401"));
  }
  try {
    WsClient customer("127.0.0.1", port,
                      {.target = "/ws?access_token=" + Token(Role::kCustomer, "carla")});
    ADD_FAILURE() << "a customer was accepted on the operators' stream";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("403"));
  }
  WsClient by_query("127.0.0.1", port, {.target = "/ws?access_token=" + operator_});
  EXPECT_TRUE(by_query.Read().has_value());  // the welcome snapshot
  WsClientOptions by_protocol;
  by_protocol.headers = {{"Sec-WebSocket-Protocol", "bearer, " + admin_}};
  WsClient with_protocol("127.0.0.1", port, by_protocol);
  EXPECT_TRUE(with_protocol.Read().has_value());
}

}  // namespace
}  // namespace shopflow::testing
