#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/settings.hpp"

namespace shopflow {

/// Reads an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnvironment();

/// Defaults, then the JSON config file at `config_path` (if non-empty; keys as in
/// config/shopflow.example.json), then the environment. Unknown config keys and malformed values
/// are errors (kValidationFailed), so a typo never silently falls back to a default.
Result<Settings> LoadSettings(const std::string& config_path, const EnvLookup& env);

}  // namespace shopflow
