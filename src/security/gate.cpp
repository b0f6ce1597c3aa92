#include "security/gate.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "security/policy.hpp"

namespace shopflow::security {
namespace {

constexpr std::string_view kRealm = R"(Bearer realm="shopflow")";

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool IStartsWith(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

ApiResponse Unauthorized(std::string message, bool invalid_token) {
  ApiResponse answer = ErrorResponse(Error{ErrorCode::kUnauthorized, std::move(message), {}});
  std::string challenge(kRealm);
  if (invalid_token) challenge += R"(, error="invalid_token")";
  answer.headers.emplace_back("WWW-Authenticate", std::move(challenge));
  return answer;
}

// `Sec-WebSocket-Protocol: bearer, <credential>`: the credential is the item after "bearer".
std::optional<std::string> FromSubprotocols(std::string_view header) {
  bool next_is_credential = false;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    const std::string_view item = Trim(header.substr(0, comma));
    if (next_is_credential) return std::string(item);
    next_is_credential = item == "bearer";
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

}  // namespace

Principal DevelopmentPrincipal() { return Principal{"anonymous", "admin", false}; }

Gate::Gate(GateOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {
  if (options_.rate_limit) limiter_ = std::make_unique<RateLimiter>(*options_.rate_limit);
}

Gate::Credential Gate::FindCredential(const ApiRequest& request, std::string_view route) const {
  if (auto authorization = request.Header("authorization")) {
    const std::string_view value = Trim(*authorization);
    if (IStartsWith(value, "Bearer ")) return {std::string(Trim(value.substr(7))), true};
    return {"", true};  // another scheme: present but unusable
  }
  if (auto key = request.Header("x-api-key")) return {std::string(Trim(*key)), true};
  const bool websocket = std::find(options_.websocket_paths.begin(), options_.websocket_paths.end(),
                                   route) != options_.websocket_paths.end();
  if (websocket) {
    if (auto token = request.Query("access_token")) return {std::string(*token), true};
    if (auto protocols = request.Header("sec-websocket-protocol")) {
      if (auto credential = FromSubprotocols(*protocols)) return {std::move(*credential), true};
    }
  }
  return {};
}

Result<Principal> Gate::Authenticate(std::string_view credential) const {
  if (credential.empty()) {
    return Error{ErrorCode::kUnauthorized, "unsupported or empty credentials (use Bearer)", {}};
  }
  if (std::count(credential.begin(), credential.end(), '.') == 2) {
    if (options_.jwt.secret.empty()) {
      return Error{ErrorCode::kUnauthorized, "bearer tokens are not accepted here", {}};
    }
    auto claims = VerifyJwt(credential, options_.jwt, clock_.Now());
    if (!claims) return std::move(claims).error();
    return Principal{claims->sub, std::string(RoleName(claims->role)), true};
  }
  if (auto key = options_.api_keys.Find(credential)) {
    return Principal{key->name, std::string(RoleName(key->role)), true};
  }
  return Error{ErrorCode::kUnauthorized, "invalid API key", {}};
}

std::optional<ApiResponse> Gate::Limit(const ApiRequest& request, std::string_view route,
                                       const std::string& key) const {
  if (!limiter_ || route == "/healthz" || route == "/readyz") return std::nullopt;
  const RateDecision decision = limiter_->Take(key);
  if (decision.allowed) return std::nullopt;
  spdlog::debug("security: rate limit for {} on {} {}", key, request.method, route);
  ApiResponse answer = ErrorResponse(
      Error{ErrorCode::kRateLimited,
            "too many requests: retry after " + std::to_string(decision.retry_after_seconds) + " s",
            {}});
  answer.headers.emplace_back("Retry-After", std::to_string(decision.retry_after_seconds));
  return answer;
}

std::optional<ApiResponse> Gate::Check(ApiRequest& request, std::string_view route) const {
  const std::string address_key = "ip:" + request.client_address;
  if (!options_.enabled) {
    request.principal = DevelopmentPrincipal();
    return Limit(request, route, address_key);
  }

  const auto rule = FindRule(request.method, route);
  if (!rule) {
    spdlog::warn("security: {} {} has no entry in the endpoint policy; requiring admin",
                 request.method, route);
  }
  const Role minimum = rule ? rule->minimum : Role::kAdmin;

  request.principal = Principal{"anonymous", "", false};
  const Credential credential = FindCredential(request, route);
  if (!credential.present) {
    if (auto limited = Limit(request, route, address_key)) return limited;
    if (minimum == Role::kPublic) return std::nullopt;
    return Unauthorized("authentication required: send Authorization: Bearer <token>", false);
  }
  auto principal = Authenticate(credential.value);
  if (!principal) {
    if (auto limited = Limit(request, route, address_key)) return limited;
    // The reason names what failed, never the credential itself.
    spdlog::info("security: rejected credentials from {} on {} {}: {}", request.client_address,
                 request.method, route, principal.error().message);
    return Unauthorized(principal.error().message, true);
  }
  request.principal = std::move(*principal);
  if (auto limited = Limit(request, route, "sub:" + request.principal.sub)) return limited;
  const Role held = ParseRole(request.principal.role).value_or(Role::kPublic);
  if (!Allows(held, minimum)) {
    return ErrorResponse(Error{ErrorCode::kForbidden,
                               "role " + request.principal.role + " may not " + request.method +
                                   " " + std::string(route) + " (needs " +
                                   std::string(RoleName(minimum)) + ")",
                               {}});
  }
  return std::nullopt;
}

}  // namespace shopflow::security
