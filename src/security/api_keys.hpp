#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "security/roles.hpp"

namespace shopflow::security {

/// One machine client: a name (the principal's `sub`), its role, and the SHA-256 of its key.
struct ApiKey {
  std::string name;
  Role role = Role::kOperator;
  std::string sha256_hex;
};

/// Static API keys for machines. Only hashes are kept in memory, and a presented key is hashed
/// and compared against every entry in constant time, so neither the keys nor the position of a
/// match leak through timing. Immutable after construction: thread-safe.
class ApiKeyRing {
 public:
  ApiKeyRing() = default;
  explicit ApiKeyRing(std::vector<ApiKey> keys) : keys_(std::move(keys)) {}

  /// Parses the SHOPFLOW_API_KEYS_FILE format: one key per line, `role name key`, where key is
  /// `sha256:<64 hex digits>` (recommended: the file then holds no secret) or the plain key (at
  /// least 16 characters); blank lines and lines starting with '#' are ignored. Errors name the
  /// line, never the key.
  static Result<ApiKeyRing> Parse(std::string_view text);
  /// Reads and parses a file.
  static Result<ApiKeyRing> Load(const std::string& path);

  /// The key's entry, or nullopt.
  std::optional<ApiKey> Find(std::string_view presented) const;
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

 private:
  std::vector<ApiKey> keys_;
};

}  // namespace shopflow::security
