#include "security/policy.hpp"

#include <array>

namespace shopflow::security {
namespace {

constexpr Role kPublic = Role::kPublic;
constexpr Role kCustomer = Role::kCustomer;
constexpr Role kOperator = Role::kOperator;
constexpr Role kAdmin = Role::kAdmin;

constexpr std::array kRules = {
    // Probes, the contract, the dashboard's files and the sign-in helper need no credentials.
    EndpointRule{"GET", "/healthz", kPublic},
    EndpointRule{"GET", "/readyz", kPublic},
    EndpointRule{"GET", "/api/health", kPublic},
    EndpointRule{"GET", "/api/openapi.json", kPublic},
    EndpointRule{"GET", "/api/auth/whoami", kPublic},
    EndpointRule{"GET", kFallbackRoute, kPublic},
    // Catalog: customers read what they order from; writes are the operators'.
    EndpointRule{"GET", "/api/inventory/products", kCustomer},
    EndpointRule{"GET", "/api/inventory/products/:id", kCustomer},
    EndpointRule{"POST", "/api/inventory/products", kOperator},
    EndpointRule{"PUT", "/api/inventory/products/:id", kOperator},
    EndpointRule{"POST", "/api/inventory/stock/add", kOperator},
    EndpointRule{"POST", "/api/inventory/stock/reserve", kOperator},
    EndpointRule{"POST", "/api/inventory/stock/release", kOperator},
    EndpointRule{"GET", "/api/inventory/stats", kOperator},
    EndpointRule{"GET", "/api/inventory/low-stock", kOperator},
    // Orders: customers create and read their own (ownership is checked by the handlers).
    EndpointRule{"POST", "/api/orders", kCustomer},
    EndpointRule{"GET", "/api/orders", kCustomer},
    EndpointRule{"GET", "/api/orders/:id", kCustomer},
    EndpointRule{"PUT", "/api/orders/:id/status", kOperator, "order_status_change"},
    EndpointRule{"DELETE", "/api/orders/:id", kOperator, "order_cancel"},
    EndpointRule{"GET", "/api/orders/:id/timeline", kOperator},
    // Payments: customers pay and read their own; the bank's confirmation and refunds are admin.
    EndpointRule{"POST", "/api/payments/process", kCustomer},
    EndpointRule{"GET", "/api/payments", kCustomer},
    EndpointRule{"GET", "/api/payments/:id", kCustomer},
    EndpointRule{"PUT", "/api/payments/:id/status", kAdmin, "payment_status_change"},
    EndpointRule{"POST", "/api/payments/:id/refund", kAdmin, "payment_refund"},
    // Notifications: sending by hand reaches real people, so it is admin.
    EndpointRule{"GET", "/api/notifications", kOperator},
    EndpointRule{"POST", "/api/notifications/email", kAdmin, "notification_send"},
    EndpointRule{"POST", "/api/notifications/sms", kAdmin, "notification_send"},
    EndpointRule{"POST", "/api/notifications/push", kAdmin, "notification_send"},
    // Monitoring.
    EndpointRule{"GET", "/api/stats", kOperator},
    EndpointRule{"GET", "/api/messages", kOperator},
    EndpointRule{"GET", "/metrics", kOperator},
    EndpointRule{"GET", "/ws", kOperator},
    // Dead letters: operators re-drive, admins discard (the manager audits both itself).
    EndpointRule{"GET", "/api/dlq", kOperator},
    EndpointRule{"GET", "/api/dlq/audit", kOperator},
    EndpointRule{"POST", "/api/dlq/retry-all", kOperator},
    EndpointRule{"POST", "/api/dlq/:messageId/retry", kOperator},
    EndpointRule{"DELETE", "/api/dlq/:messageId", kAdmin},
    // Fault injection (/api/faults, the dashboard's "Break it") and the audit log.
    EndpointRule{"GET", "/api/faults", kOperator},
    EndpointRule{"PUT", "/api/faults/:module", kAdmin, "fault_set"},
    EndpointRule{"DELETE", "/api/faults/:module", kAdmin, "fault_clear"},
    EndpointRule{"GET", "/api/audit", kAdmin},
};

}  // namespace

std::span<const EndpointRule> EndpointPolicy() { return kRules; }

std::optional<EndpointRule> FindRule(std::string_view method, std::string_view pattern) {
  for (const auto& rule : kRules) {
    if (rule.method == method && rule.pattern == pattern) return rule;
  }
  if (method == "HEAD") return FindRule("GET", pattern);
  // The static files answer every other method themselves (404/405): nothing to protect.
  if (pattern == kFallbackRoute) return FindRule("GET", pattern);
  return std::nullopt;
}

}  // namespace shopflow::security
