#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "security/roles.hpp"

namespace shopflow::security {

/// How tokens are checked (RFC 8725, "JSON Web Token Best Current Practices"): one algorithm
/// (HS256) pinned by the server, never taken from the token; `exp` required; `nbf`, `iat`, `iss`
/// and `aud` checked; a small clock skew tolerated.
struct JwtOptions {
  std::string secret;  // the HMAC key; at least kMinSecretBytes
  std::string issuer = "shopflow";
  std::string audience = "shopflow-api";
  std::chrono::seconds leeway{30};
  size_t max_token_bytes = 4096;

  static constexpr size_t kMinSecretBytes = 32;  // RFC 7518 3.2: a key as long as the hash
};

/// The claims shopflow puts in and reads from a token.
struct TokenClaims {
  std::string sub;
  Role role = Role::kCustomer;
  TimePoint issued_at;
  TimePoint expires_at;
};

/// Signs `claims` as a compact HS256 JWT {alg: HS256, typ: JWT} with iss/aud of `options`,
/// iat = issued_at, nbf = issued_at, exp = expires_at (seconds since the epoch).
std::string SignJwt(const TokenClaims& claims, const JwtOptions& options);

/// Verifies a compact JWT at time `now`. Every failure is kUnauthorized with a short reason
/// that never contains the token or the secret ("token expired", "bad signature", ...).
/// Rejected: more or fewer than three parts, non-canonical base64url, a header whose `alg` is
/// not exactly "HS256" (so "none", "HS512", "RS256" all fail before any signature check) or
/// whose `typ` is present and not "JWT", `crit` headers, a wrong signature (constant-time
/// comparison), a missing or past `exp`, a future `nbf` or `iat`, a wrong `iss` or `aud`, a
/// missing `sub`, an unknown `role`, tokens over max_token_bytes.
Result<TokenClaims> VerifyJwt(std::string_view token, const JwtOptions& options, TimePoint now);

/// Parses "1h", "30m", "45s", "7d" or plain seconds; nullopt for anything else or <= 0.
std::optional<std::chrono::seconds> ParseTtl(std::string_view text);

}  // namespace shopflow::security
