#pragma once

#include <optional>
#include <string>

namespace shopflow {

/// Who sent a request, as the HTTP layer's authentication established it (src/security).
/// A default Principal (internal callers, tests, authentication off) restricts nothing.
struct Principal {
  std::string sub;   // token subject or API key name; "anonymous" when none was presented
  std::string role;  // "customer", "operator", "admin"; "" for an anonymous caller
  bool authenticated = false;

  /// The customer id a customer's requests are confined to (its own orders and payments), or
  /// nullopt for staff and internal callers.
  std::optional<std::string> OwnerScope() const {
    if (role == "customer") return sub;
    return std::nullopt;
  }
};

/// What a use case needs to know about the request that caused it (for event metadata,
/// idempotency and ownership), without knowing about HTTP.
struct RequestContext {
  std::string correlation_id;
  std::string idempotency_key;  // "" when the client sent none
  std::string source = "api";
  Principal principal;
};

}  // namespace shopflow
