#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "security/api_keys.hpp"
#include "security/jwt.hpp"
#include "security/rate_limiter.hpp"

namespace shopflow::security {

/// Everything the gate needs, built by app/ from Settings.
struct GateOptions {
  /// Authentication on: credentials are checked against the policy table. Off: every caller is
  /// an unauthenticated admin (development on loopback only; app/ enforces that).
  bool enabled = false;
  JwtOptions jwt;  // jwt.secret empty: bearer JWTs are refused (API keys only)
  ApiKeyRing api_keys;
  /// Rate limiting per client; nullopt: off.
  std::optional<RateLimiterOptions> rate_limit;
  /// Literal paths of WebSocket endpoints: there the credential may also come as
  /// `?access_token=` or as `Sec-WebSocket-Protocol: bearer, <credential>` (browsers cannot set
  /// Authorization on a WebSocket).
  std::vector<std::string> websocket_paths = {"/ws"};
};

/// Authentication, authorization and rate limiting of every routed request (issue 8), as one
/// function the HTTP server calls after routing and before the handler (HttpServerOptions::
/// guard).
///
/// Credentials: `Authorization: Bearer <jwt or API key>`, `X-API-Key: <key>`, and on WebSocket
/// paths the two forms above. A credential with two dots is a JWT, anything else an API key.
/// Answers: 401 unauthorized (no or invalid credential where one is needed; any invalid
/// credential, even on a public endpoint, so that a client learns its token is bad), 403
/// forbidden (valid, but the role is below the route's minimum), 429 rate_limited with
/// Retry-After. Routes missing from the policy table need admin (deny by default).
/// Rate-limit keys: "sub:<sub>" for authenticated callers, "ip:<address>" otherwise (also for
/// failed credentials, which bounds guessing). The probes /healthz and /readyz are exempt.
///
/// Thread-safe; the clock must outlive it.
class Gate {
 public:
  Gate(GateOptions options, const Clock& clock);

  /// Sets request.principal and returns nullopt to let the handler run, or the answer to send
  /// instead. `route` is the matched pattern ("fallback" for the static files).
  std::optional<ApiResponse> Check(ApiRequest& request, std::string_view route) const;

  bool enabled() const { return options_.enabled; }
  const GateOptions& options() const { return options_; }

 private:
  struct Credential {
    std::string value;
    bool present = false;
  };
  Credential FindCredential(const ApiRequest& request, std::string_view route) const;
  Result<Principal> Authenticate(std::string_view credential) const;
  std::optional<ApiResponse> Limit(const ApiRequest& request, std::string_view route,
                                   const std::string& key) const;

  const GateOptions options_;
  const Clock& clock_;
  std::unique_ptr<RateLimiter> limiter_;
};

/// The principal of a request when authentication is off.
Principal DevelopmentPrincipal();

}  // namespace shopflow::security
