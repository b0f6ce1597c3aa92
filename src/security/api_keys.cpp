#include "security/api_keys.hpp"

#include <fstream>
#include <sstream>

#include "security/crypto.hpp"

namespace shopflow::security {
namespace {

constexpr size_t kMinPlainKeyLength = 16;

bool IsHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<ApiKeyRing> ApiKeyRing::Parse(std::string_view text) {
  std::vector<ApiKey> keys;
  std::vector<ErrorDetail> problems;
  std::istringstream lines{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    std::istringstream words(line);
    std::string role_name, name, key, extra;
    words >> role_name >> name >> key;
    const std::string where = "line " + std::to_string(number);
    if (key.empty() || (words >> extra)) {
      problems.push_back({where, "must be `role name key`"});
      continue;
    }
    auto role = ParseRole(role_name);
    if (!role) {
      problems.push_back({where, "role must be customer, operator or admin"});
      continue;
    }
    ApiKey entry{name, *role, ""};
    if (key.starts_with("sha256:")) {
      if (!IsHex64(std::string_view(key).substr(7))) {
        problems.push_back({where, "sha256: must be followed by 64 hex digits"});
        continue;
      }
      entry.sha256_hex = Lower(std::string_view(key).substr(7));
    } else if (key.size() < kMinPlainKeyLength) {
      problems.push_back({where, "a plain key must have at least 16 characters"});
      continue;
    } else {
      entry.sha256_hex = Sha256Hex(key);
    }
    keys.push_back(std::move(entry));
  }
  if (!problems.empty()) return ValidationError("invalid API keys file", std::move(problems));
  return ApiKeyRing(std::move(keys));
}

Result<ApiKeyRing> ApiKeyRing::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ValidationError("cannot read API keys file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto ring = Parse(text.str());
  if (!ring) {
    Error error = std::move(ring).error();
    error.message += " " + path;
    return error;
  }
  return ring;
}

std::optional<ApiKey> ApiKeyRing::Find(std::string_view presented) const {
  if (presented.empty()) return std::nullopt;
  const std::string hash = Sha256Hex(presented);
  std::optional<ApiKey> found;
  // Every entry is compared, match or not: the time taken does not reveal which one matched.
  for (const auto& key : keys_) {
    if (ConstantTimeEquals(hash, key.sha256_hex) && !found) found = key;
  }
  return found;
}

}  // namespace shopflow::security
