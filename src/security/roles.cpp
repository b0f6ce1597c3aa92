#include "security/roles.hpp"

namespace shopflow::security {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kPublic:
      return "public";
    case Role::kCustomer:
      return "customer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "public";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "customer") return Role::kCustomer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

}  // namespace shopflow::security
