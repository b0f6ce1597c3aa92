#pragma once

#include <fstream>
#include <string>

#include "security/crypto.hpp"
#include "security/jwt.hpp"
#include "tests/e2e/app_fixture.hpp"

namespace shopflow::testing {

/// An AppTest with authentication on (issue 8): a JWT secret, an API keys file with one
/// operator and one admin key, and no rate limit unless a test sets one.
class SecureAppTest : public AppTest {
 protected:
  static constexpr const char* kSecret = "an-e2e-secret-that-is-long-enough-0123456789";
  static constexpr const char* kOperatorKey = "operator-machine-key-0123456789";
  static constexpr const char* kAdminKey = "admin-machine-key-abcdefghijklmn";

  Settings MakeSettings() override {
    Settings s = AppTest::MakeSettings();
    s.auth = "on";
    s.jwt_secret = kSecret;
    std::filesystem::create_directories(data_dir_);  // removed with it by TearDown
    const auto keys = data_dir_ / "api-keys";
    std::ofstream(keys) << "# role name key\noperator scraper " << kOperatorKey
                        << "\nadmin deployer sha256:" << security::Sha256Hex(kAdminKey) << "\n";
    s.api_keys_file = keys.string();
    s.rate_limit_rps = -1;
    Adjust(s);
    return s;
  }
  /// Per-fixture changes to the settings.
  virtual void Adjust(Settings&) {}

  static security::JwtOptions Jwt() {
    security::JwtOptions o;
    o.secret = kSecret;
    return o;
  }

  static std::string Token(security::Role role, const std::string& sub,
                           std::chrono::seconds ttl = std::chrono::hours(1)) {
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    return security::SignJwt({sub, role, now, now + ttl}, Jwt());
  }

  static HeaderList Bearer(const std::string& credential) {
    return {{"Authorization", "Bearer " + credential}};
  }

  HttpResult Call(const std::string& method, const std::string& target,
                  const std::string& credential, std::optional<std::string> body = {}) {
    HeaderList headers;
    if (!credential.empty()) headers = Bearer(credential);
    if (body) headers.emplace_back("Content-Type", "application/json");
    return client_->Request(method, target, std::move(body), headers);
  }

  std::string admin_ = Token(security::Role::kAdmin, "ada");
  std::string operator_ = Token(security::Role::kOperator, "olga");
};

}  // namespace shopflow::testing
