#pragma once

#include <optional>
#include <string_view>

namespace shopflow::security {

/// The roles of issue 8, ordered: each includes everything the ones below it may do.
/// kPublic is not a role a client holds; it marks endpoints that need no credentials.
enum class Role { kPublic = 0, kCustomer = 1, kOperator = 2, kAdmin = 3 };

/// "public", "customer", "operator", "admin".
std::string_view RoleName(Role role);
/// The role named `name` (only the three a principal can hold: customer, operator, admin).
std::optional<Role> ParseRole(std::string_view name);
/// Whether a principal holding `held` may call an endpoint whose minimum is `required`.
inline bool Allows(Role held, Role required) {
  return static_cast<int>(held) >= static_cast<int>(required);
}

}  // namespace shopflow::security
