#pragma once

#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/result.hpp"
#include "core/settings.hpp"
#include "security/gate.hpp"

namespace shopflow::security {

/// Builds the Gate's options from Settings (secure by default, issue 8):
/// - SHOPFLOW_AUTH=auto: on unless `loopback` (the listener is 127.0.0.0/8, ::1 or localhost);
/// - authentication on requires a credential source: a JWT secret of at least 32 bytes and/or a
///   non-empty API keys file; otherwise start-up fails with a message saying what to set;
/// - SHOPFLOW_AUTH=off on a non-loopback listener is refused;
/// - rate limit: SHOPFLOW_RATE_LIMIT_RPS 0 = 100/s (burst 200) with authentication on, none
///   when off; -1 = none; any other value applies as given (burst: SHOPFLOW_RATE_LIMIT_BURST,
///   default twice the rate, at least 1).
/// The error never contains the secret.
Result<GateOptions> MakeGateOptions(const Settings& settings, bool loopback);

/// Adds "auth": "on"|"off" to the GET /api/health document (so that a development server
/// says so wherever it is looked at).
std::vector<Route> AnnotateHealth(std::vector<Route> routes, bool auth_enabled);

}  // namespace shopflow::security
