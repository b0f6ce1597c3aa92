#include "security/jwt.hpp"

#include <charconv>
#include <optional>

#include "core/json.hpp"
#include "security/crypto.hpp"

namespace shopflow::security {
namespace {

Error Unauthorized(std::string reason) {
  return Error{ErrorCode::kUnauthorized, "invalid token: " + std::move(reason), {}};
}

int64_t ToSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TimePoint FromSeconds(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

// NumericDate (RFC 7519 2): integer seconds; fractions are allowed by the RFC and truncated.
std::optional<int64_t> NumericDate(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->get_uint64());
  }
  if (v->is_double() && v->get_double() > -9e15 && v->get_double() < 9e15) {
    return static_cast<int64_t>(v->get_double());
  }
  return std::nullopt;
}

// A JSON object from one base64url part; tokens are small, so tight parse limits are fine.
std::optional<json::object> DecodeJsonPart(std::string_view part) {
  std::string text;
  if (!Base64UrlDecode(part, text)) return std::nullopt;
  auto parsed = ParseJson(text, JsonLimits{.max_depth = 4});
  if (!parsed || !parsed->is_object()) return std::nullopt;
  return std::move(parsed->get_object());
}

bool AudienceMatches(const json::value* aud, std::string_view expected) {
  if (!aud) return false;
  if (aud->is_string()) return aud->get_string() == expected;
  if (aud->is_array()) {
    for (const auto& item : aud->get_array()) {
      if (item.is_string() && item.get_string() == expected) return true;
    }
  }
  return false;
}

}  // namespace

std::string SignJwt(const TokenClaims& claims, const JwtOptions& options) {
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  json::object payload{{"sub", claims.sub},
                       {"role", RoleName(claims.role)},
                       {"iss", options.issuer},
                       {"aud", options.audience},
                       {"iat", ToSeconds(claims.issued_at)},
                       {"nbf", ToSeconds(claims.issued_at)},
                       {"exp", ToSeconds(claims.expires_at)}};
  std::string signing_input = Base64UrlEncode(header) + "." + Base64UrlEncode(ToJsonText(payload));
  const std::string signature = HmacSha256(options.secret, signing_input);
  return signing_input + "." + Base64UrlEncode(signature);
}

Result<TokenClaims> VerifyJwt(std::string_view token, const JwtOptions& options, TimePoint now) {
  if (options.secret.size() < JwtOptions::kMinSecretBytes) {
    // Configuration guards this at start-up; refuse rather than verify under a weak key.
    return Unauthorized("token verification is not configured");
  }
  if (token.empty()) return Unauthorized("empty token");
  if (token.size() > options.max_token_bytes) return Unauthorized("token too large");
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Unauthorized("not a compact JWS (three parts)");
  }
  const std::string_view header_part = token.substr(0, first);
  const std::string_view payload_part = token.substr(first + 1, second - first - 1);
  const std::string_view signature_part = token.substr(second + 1);

  // The header first: the algorithm is the server's choice (RFC 8725 2.1, 3.1), so anything but
  // exactly HS256 is refused before the signature is looked at.
  auto header = DecodeJsonPart(header_part);
  if (!header) return Unauthorized("malformed header");
  const json::value* alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->get_string() != "HS256") {
    return Unauthorized("algorithm not accepted (only HS256)");
  }
  if (const json::value* typ = header->if_contains("typ");
      typ && (!typ->is_string() || typ->get_string() != "JWT")) {
    return Unauthorized("unexpected typ");
  }
  if (header->contains("crit")) return Unauthorized("critical header parameters not supported");

  std::string signature;
  if (!Base64UrlDecode(signature_part, signature)) return Unauthorized("malformed signature");
  const std::string signing_input(token.substr(0, second));
  if (!ConstantTimeEquals(signature, HmacSha256(options.secret, signing_input))) {
    return Unauthorized("bad signature");
  }

  auto claims = DecodeJsonPart(payload_part);
  if (!claims) return Unauthorized("malformed claims");
  const int64_t now_s = ToSeconds(now);
  const int64_t leeway = options.leeway.count();
  auto exp = NumericDate(*claims, "exp");
  if (!exp) return Unauthorized("missing exp");
  if (now_s - leeway >= *exp) return Unauthorized("token expired");
  if (claims->contains("nbf")) {
    auto nbf = NumericDate(*claims, "nbf");
    if (!nbf) return Unauthorized("malformed nbf");
    if (now_s + leeway < *nbf) return Unauthorized("token not valid yet");
  }
  std::optional<int64_t> iat;
  if (claims->contains("iat")) {
    iat = NumericDate(*claims, "iat");
    if (!iat) return Unauthorized("malformed iat");
    if (now_s + leeway < *iat) return Unauthorized("token issued in the future");
  }
  const json::value* iss = claims->if_contains("iss");
  if (!iss || !iss->is_string() || iss->get_string() != options.issuer) {
    return Unauthorized("wrong issuer");
  }
  if (!AudienceMatches(claims->if_contains("aud"), options.audience)) {
    return Unauthorized("wrong audience");
  }
  TokenClaims out;
  out.sub = GetString(*claims, "sub");
  if (out.sub.empty() || out.sub.size() > 128) return Unauthorized("missing or overlong sub");
  auto role = ParseRole(GetString(*claims, "role"));
  if (!role) return Unauthorized("unknown role");
  out.role = *role;
  out.expires_at = FromSeconds(*exp);
  out.issued_at = FromSeconds(iat.value_or(*exp));
  return out;
}

std::optional<std::chrono::seconds> ParseTtl(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (text.back()) {
    case 's':
      text.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      unit = 86400;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n <= 0 ||
      n > 10 * 365 * 86400 / unit) {
    return std::nullopt;
  }
  return std::chrono::seconds(n * unit);
}

}  // namespace shopflow::security
