#include "security/gate.hpp"

#include <gtest/gtest.h>

#include "security/policy.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::security {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

class GateTest : public ::testing::Test {
 protected:
  GateOptions Options() {
    GateOptions o;
    o.enabled = true;
    o.jwt.secret = std::string(40, 'k');
    o.api_keys = *ApiKeyRing::Parse("operator scraper operator-key-0123456789\n");
    return o;
  }

  std::string Token(Role role, std::string sub = "alice") {
    return SignJwt(TokenClaims{std::move(sub), role, clock_.Now(), clock_.Now() + 1h},
                   Options().jwt);
  }

  static ApiRequest Request(std::string method,
                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    ApiRequest r;
    r.method = std::move(method);
    r.headers = std::move(headers);
    r.client_address = "10.0.0.1";
    return r;
  }

  FakeClock clock_;
};

TEST_F(GateTest, OffMakesEveryoneAnUnauthenticatedAdmin) {
  GateOptions o;
  Gate gate(o, clock_);
  auto r = Request("DELETE");
  EXPECT_FALSE(gate.Check(r, "/api/dlq/:messageId"));
  EXPECT_EQ(r.principal.role, "admin");
  EXPECT_FALSE(r.principal.authenticated);
}

TEST_F(GateTest, RolesAgainstMinimums) {
  Gate gate(Options(), clock_);
  struct Case {
    Role role;
    std::string method, route;
    int status;  // 0: allowed
  };
  const Case cases[] = {
      {Role::kCustomer, "POST", "/api/orders", 0},
      {Role::kCustomer, "GET", "/api/orders/:id", 0},
      {Role::kCustomer, "PUT", "/api/orders/:id/status", 403},
      {Role::kCustomer, "GET", "/api/stats", 403},
      {Role::kOperator, "PUT", "/api/orders/:id/status", 0},
      {Role::kOperator, "POST", "/api/dlq/:messageId/retry", 0},
      {Role::kOperator, "DELETE", "/api/dlq/:messageId", 403},
      {Role::kOperator, "POST", "/api/payments/:id/refund", 403},
      {Role::kAdmin, "POST", "/api/payments/:id/refund", 0},
      {Role::kAdmin, "GET", "/api/unlisted", 0},
      {Role::kOperator, "GET", "/api/unlisted", 403},  // deny by default
      {Role::kCustomer, "HEAD", "/api/orders", 0},
  };
  for (const auto& c : cases) {
    auto r = Request(c.method, {{"authorization", "Bearer " + Token(c.role)}});
    auto answer = gate.Check(r, c.route);
    EXPECT_EQ(answer ? answer->status : 0, c.status) << RoleName(c.role) << " " << c.route;
    EXPECT_EQ(r.principal.sub, "alice");
    EXPECT_TRUE(r.principal.authenticated);
  }
}

TEST_F(GateTest, MissingOrInvalidCredentialsAre401) {
  Gate gate(Options(), clock_);
  auto anonymous = Request("GET");
  auto answer = gate.Check(anonymous, "/api/orders");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 401);
  EXPECT_EQ(answer->headers.at(0).first, "WWW-Authenticate");
  // Public routes need nothing.
  auto health = Request("GET");
  EXPECT_FALSE(gate.Check(health, "/api/health"));
  EXPECT_FALSE(gate.Check(health, "fallback"));
  // A bad credential is refused even on a public route.
  auto bad = Request("GET", {{"authorization", "Bearer not-a-key"}});
  ASSERT_TRUE(gate.Check(bad, "/api/health"));
  auto basic = Request("GET", {{"authorization", "Basic YTpi"}});
  EXPECT_EQ(gate.Check(basic, "/api/orders")->status, 401);
  // An expired token.
  const std::string token = Token(Role::kAdmin);
  clock_.Advance(2h);
  auto expired = Request("GET", {{"authorization", "Bearer " + token}});
  auto refused = gate.Check(expired, "/api/orders");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_NE(ToJsonText(refused->body).find("expired"), std::string::npos);
}

TEST_F(GateTest, ApiKeysByHeaderOrBearer) {
  Gate gate(Options(), clock_);
  auto by_header = Request("GET", {{"x-api-key", "operator-key-0123456789"}});
  EXPECT_FALSE(gate.Check(by_header, "/api/stats"));
  EXPECT_EQ(by_header.principal.sub, "scraper");
  EXPECT_EQ(by_header.principal.role, "operator");
  auto by_bearer = Request("GET", {{"authorization", "Bearer operator-key-0123456789"}});
  EXPECT_FALSE(gate.Check(by_bearer, "/metrics"));
  auto wrong = Request("GET", {{"x-api-key", "operator-key-012345678X"}});
  EXPECT_EQ(gate.Check(wrong, "/api/stats")->status, 401);
}

TEST_F(GateTest, WebSocketCredentialsFromQueryOrSubprotocol) {
  Gate gate(Options(), clock_);
  auto query = Request("GET");
  query.query = {{"access_token", Token(Role::kOperator)}};
  EXPECT_FALSE(gate.Check(query, "/ws"));
  auto protocol = Request("GET", {{"sec-websocket-protocol", "bearer, " + Token(Role::kAdmin)}});
  EXPECT_FALSE(gate.Check(protocol, "/ws"));
  EXPECT_EQ(protocol.principal.role, "admin");
  auto customer = Request("GET");
  customer.query = {{"access_token", Token(Role::kCustomer)}};
  EXPECT_EQ(gate.Check(customer, "/ws")->status, 403);
  // Elsewhere the query parameter is not a credential.
  auto elsewhere = Request("GET");
  elsewhere.query = {{"access_token", Token(Role::kOperator)}};
  EXPECT_EQ(gate.Check(elsewhere, "/api/stats")->status, 401);
}

TEST_F(GateTest, RateLimitsPerPrincipalWithRetryAfter) {
  GateOptions o = Options();
  o.rate_limit = RateLimiterOptions{.rate_per_second = 0.01, .burst = 2, .max_clients = 100};
  Gate gate(o, clock_);
  const std::string alice = Token(Role::kCustomer, "alice");
  for (int i = 0; i < 2; ++i) {
    auto r = Request("GET", {{"authorization", "Bearer " + alice}});
    EXPECT_FALSE(gate.Check(r, "/api/orders"));
  }
  auto r = Request("GET", {{"authorization", "Bearer " + alice}});
  auto limited = gate.Check(r, "/api/orders");
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->headers.at(0).first, "Retry-After");
  EXPECT_GE(std::stoi(limited->headers.at(0).second), 1);
  // Bob, from the same address, has his own bucket; probes are never limited.
  auto bob = Request("GET", {{"authorization", "Bearer " + Token(Role::kCustomer, "bob")}});
  EXPECT_FALSE(gate.Check(bob, "/api/orders"));
  for (int i = 0; i < 5; ++i) {
    auto probe = Request("GET");
    EXPECT_FALSE(gate.Check(probe, "/healthz"));
  }
}

TEST(EndpointPolicy, HasNoDuplicateEntries) {
  const auto rules = EndpointPolicy();
  for (size_t i = 0; i < rules.size(); ++i) {
    for (size_t j = i + 1; j < rules.size(); ++j) {
      EXPECT_FALSE(rules[i].method == rules[j].method && rules[i].pattern == rules[j].pattern)
          << rules[i].method << " " << rules[i].pattern;
    }
  }
}

}  // namespace
}  // namespace shopflow::security
