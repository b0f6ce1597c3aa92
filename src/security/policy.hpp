#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "security/roles.hpp"

namespace shopflow::security {

/// The minimum role of one endpoint: method + route pattern as registered in the router
/// ("/api/orders/:id"). `audit_action` non-empty: the call is a privileged action recorded in
/// the audit log under that name.
struct EndpointRule {
  std::string_view method;
  std::string_view pattern;
  Role minimum;
  std::string_view audit_action = {};
};

/// Route label of requests the fallback answers (the dashboard's static files): see
/// HttpRequestRecord::route.
inline constexpr std::string_view kFallbackRoute = "fallback";

/// The one table of who may call what (issue 8): every route of the assembled application has
/// an entry (a test checks it, and that docs/openapi.json states the same `x-min-role`).
/// customer: its own orders and payments, and the catalog it orders from; operator: every read,
/// inventory writes, order status, dead-letter re-drives; admin: everything else (payment status,
/// refunds, discards, sending notifications, fault injection, the audit log).
std::span<const EndpointRule> EndpointPolicy();

/// The rule of (method, pattern); HEAD falls back to GET, as in the router. nullopt for a route
/// missing from the table (the caller then requires admin: deny by default).
std::optional<EndpointRule> FindRule(std::string_view method, std::string_view pattern);

}  // namespace shopflow::security
