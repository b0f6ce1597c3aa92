#include "security/jwt.hpp"

#include <gtest/gtest.h>

#include "core/json.hpp"
#include "security/crypto.hpp"

namespace shopflow::security {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'900'000'000));

JwtOptions Options() {
  JwtOptions o;
  o.secret = std::string(32, 's');
  return o;
}

std::string Token(Role role = Role::kAdmin, std::chrono::seconds ttl = 3600s) {
  return SignJwt(TokenClaims{"alice", role, kNow, kNow + ttl}, Options());
}

// A token with any header and claims, signed with `secret` (or unsigned when empty).
std::string Forge(const json::object& header, const json::object& claims,
                  const std::string& secret) {
  std::string input =
      Base64UrlEncode(ToJsonText(header)) + "." + Base64UrlEncode(ToJsonText(claims));
  return input + "." + (secret.empty() ? "" : Base64UrlEncode(HmacSha256(secret, input)));
}

json::object GoodClaims() {
  const int64_t now = 1'900'000'000;
  return json::object{{"sub", "alice"},        {"role", "admin"}, {"iss", "shopflow"},
                      {"aud", "shopflow-api"}, {"iat", now},      {"nbf", now},
                      {"exp", now + 600}};
}

std::string Reason(const Result<TokenClaims>& r) { return r ? "" : r.error().message; }

TEST(Jwt, SignedTokensVerifyWithTheirClaims) {
  auto claims = VerifyJwt(Token(Role::kOperator), Options(), kNow + 10s);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->role, Role::kOperator);
  EXPECT_EQ(claims->expires_at, kNow + 3600s);
  // Issuer/audience as arrays or strings, both forms of RFC 7519.
  auto with_list = GoodClaims();
  with_list["aud"] = json::array{"other", "shopflow-api"};
  EXPECT_TRUE(VerifyJwt(Forge({{"alg", "HS256"}}, with_list, Options().secret), Options(), kNow));
}

TEST(Jwt, ExpiryAndNotBeforeHonourTheLeeway) {
  const std::string token = Token(Role::kAdmin, 60s);
  EXPECT_TRUE(VerifyJwt(token, Options(), kNow + 60s + 29s));
  EXPECT_EQ(Reason(VerifyJwt(token, Options(), kNow + 60s + 30s)), "invalid token: token expired");
  EXPECT_TRUE(VerifyJwt(token, Options(), kNow - 29s));
  EXPECT_EQ(Reason(VerifyJwt(token, Options(), kNow - 31s)), "invalid token: token not valid yet");
  auto no_exp = GoodClaims();
  no_exp.erase("exp");
  EXPECT_EQ(Reason(VerifyJwt(Forge({{"alg", "HS256"}}, no_exp, Options().secret), Options(), kNow)),
            "invalid token: missing exp");
}

TEST(Jwt, AlgorithmIsPinnedToHs256) {
  const std::string secret = Options().secret;
  for (const char* alg : {"none", "None", "HS512", "RS256", "hs256", ""}) {
    auto r =
        VerifyJwt(Forge({{"alg", alg}, {"typ", "JWT"}}, GoodClaims(), secret), Options(), kNow);
    EXPECT_EQ(Reason(r), "invalid token: algorithm not accepted (only HS256)") << alg;
    // The classic attack: alg none with an empty signature.
    auto unsigned_token = Forge({{"alg", alg}}, GoodClaims(), "");
    EXPECT_FALSE(VerifyJwt(unsigned_token, Options(), kNow)) << alg;
  }
  auto missing = VerifyJwt(Forge({{"typ", "JWT"}}, GoodClaims(), secret), Options(), kNow);
  EXPECT_FALSE(missing);
  EXPECT_FALSE(VerifyJwt(Forge({{"alg", "HS256"}, {"typ", "at+jwt"}}, GoodClaims(), secret),
                         Options(), kNow));
  EXPECT_FALSE(
      VerifyJwt(Forge({{"alg", "HS256"}, {"crit", json::array{"exp"}}}, GoodClaims(), secret),
                Options(), kNow));
}

TEST(Jwt, TamperingAndWrongKeysAreRefused) {
  const std::string token = Token(Role::kCustomer);
  // Another key.
  JwtOptions other = Options();
  other.secret = std::string(32, 't');
  EXPECT_EQ(Reason(VerifyJwt(token, other, kNow)), "invalid token: bad signature");
  // A changed payload (customer → admin) under the old signature.
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.find('.', dot1 + 1);
  auto promoted = GoodClaims();
  const std::string forged =
      token.substr(0, dot1) + "." + Base64UrlEncode(ToJsonText(promoted)) + token.substr(dot2);
  EXPECT_EQ(Reason(VerifyJwt(forged, Options(), kNow)), "invalid token: bad signature");
  // A flipped signature character, an extra part, a missing part, garbage, oversize.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyJwt(flipped, Options(), kNow));
  EXPECT_FALSE(VerifyJwt(token + ".x", Options(), kNow));
  EXPECT_FALSE(VerifyJwt(token.substr(0, dot2), Options(), kNow));
  EXPECT_FALSE(VerifyJwt("a.b.c", Options(), kNow));
  EXPECT_FALSE(VerifyJwt("", Options(), kNow));
  EXPECT_EQ(Reason(VerifyJwt(std::string(5000, 'a'), Options(), kNow)),
            "invalid token: token too large");
  // Messages never contain the token.
  EXPECT_EQ(Reason(VerifyJwt(flipped, Options(), kNow)).find(flipped), std::string::npos);
}

TEST(Jwt, IssuerAudienceSubjectAndRoleAreChecked) {
  const std::string secret = Options().secret;
  auto with = [&](const char* key, json::value value) {
    auto claims = GoodClaims();
    if (value.is_null()) {
      claims.erase(key);
    } else {
      claims[key] = value;
    }
    return Reason(VerifyJwt(Forge({{"alg", "HS256"}}, claims, secret), Options(), kNow));
  };
  EXPECT_EQ(with("iss", "evil"), "invalid token: wrong issuer");
  EXPECT_EQ(with("iss", nullptr), "invalid token: wrong issuer");
  EXPECT_EQ(with("aud", "another-api"), "invalid token: wrong audience");
  EXPECT_EQ(with("aud", nullptr), "invalid token: wrong audience");
  EXPECT_EQ(with("sub", ""), "invalid token: missing or overlong sub");
  EXPECT_EQ(with("role", "root"), "invalid token: unknown role");
  EXPECT_EQ(with("nbf", 1'900'000'000 + 120), "invalid token: token not valid yet");
  EXPECT_EQ(with("iat", 1'900'000'000 + 120), "invalid token: token issued in the future");
  EXPECT_EQ(with("exp", "tomorrow"), "invalid token: missing exp");
}

TEST(Jwt, AWeakSecretVerifiesNothing) {
  JwtOptions weak = Options();
  weak.secret = "short";
  EXPECT_FALSE(
      VerifyJwt(SignJwt(TokenClaims{"a", Role::kAdmin, kNow, kNow + 60s}, weak), weak, kNow));
}

TEST(Jwt, ParsesTtls) {
  EXPECT_EQ(ParseTtl("1h"), std::chrono::seconds(3600));
  EXPECT_EQ(ParseTtl("30m"), std::chrono::seconds(1800));
  EXPECT_EQ(ParseTtl("45s"), std::chrono::seconds(45));
  EXPECT_EQ(ParseTtl("7d"), std::chrono::seconds(7 * 86400));
  EXPECT_EQ(ParseTtl("90"), std::chrono::seconds(90));
  EXPECT_FALSE(ParseTtl("0h"));
  EXPECT_FALSE(ParseTtl("-5m"));
  EXPECT_FALSE(ParseTtl("h"));
  EXPECT_FALSE(ParseTtl("1w"));
}

}  // namespace
}  // namespace shopflow::security
