#include "security/security_settings.hpp"

#include <algorithm>

namespace shopflow::security {
namespace asio = boost::asio;

Result<GateOptions> MakeGateOptions(const Settings& settings, bool loopback) {
  GateOptions options;
  if (settings.auth == "on") {
    options.enabled = true;
  } else if (settings.auth == "off") {
    if (!loopback) {
      return ValidationError(
          "SHOPFLOW_AUTH=off is only allowed on a loopback listener (SHOPFLOW_HOST is " +
              settings.host + ")",
          {{"SHOPFLOW_AUTH", "must be on or auto when listening beyond this machine"}});
    }
  } else {
    options.enabled = !loopback;
  }

  options.jwt.secret = settings.jwt_secret;
  options.jwt.issuer = settings.jwt_issuer;
  options.jwt.audience = settings.jwt_audience;
  options.jwt.leeway = settings.jwt_leeway;
  if (!options.jwt.secret.empty() && options.jwt.secret.size() < JwtOptions::kMinSecretBytes) {
    return ValidationError("the JWT secret is too short",
                           {{"SHOPFLOW_JWT_SECRET",
                             "must have at least 32 bytes (e.g. openssl "
                             "rand -base64 48)"}});
  }
  if (!settings.api_keys_file.empty()) {
    auto ring = ApiKeyRing::Load(settings.api_keys_file);
    if (!ring) return std::move(ring).error();
    options.api_keys = std::move(*ring);
  }
  if (options.enabled && options.jwt.secret.empty() && options.api_keys.empty()) {
    return ValidationError(
        "authentication is on (SHOPFLOW_AUTH=" + settings.auth +
            ", SHOPFLOW_HOST=" + settings.host + ") but no secret is configured",
        {{"SHOPFLOW_JWT_SECRET", "set it (or SHOPFLOW_JWT_SECRET_FILE) to at least 32 bytes"},
         {"SHOPFLOW_API_KEYS_FILE", "or name a file of API keys"}});
  }

  double rate = settings.rate_limit_rps;
  if (rate == 0) rate = options.enabled ? 100 : -1;
  if (rate > 0) {
    const double burst = settings.rate_limit_burst > 0 ? settings.rate_limit_burst : 2 * rate;
    options.rate_limit = RateLimiterOptions{rate, std::max(1.0, burst), 100'000};
  }
  return options;
}

std::vector<Route> AnnotateHealth(std::vector<Route> routes, bool auth_enabled) {
  for (auto& route : routes) {
    if (route.method != "GET" || route.pattern != "/api/health") continue;
    route.handler = [inner = std::move(route.handler),
                     auth_enabled](ApiRequest& request) -> asio::awaitable<ApiResponse> {
      ApiResponse answer = co_await inner(request);
      if (answer.body.is_object()) answer.body.get_object()["auth"] = auth_enabled ? "on" : "off";
      co_return answer;
    };
  }
  return routes;
}

}  // namespace shopflow::security
