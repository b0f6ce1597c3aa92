#include "app/settings_loader.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace shopflow {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteConfig(const std::string& text) {
  std::string path = ::testing::TempDir() + "shopflow_config_test.json";
  std::ofstream(path) << text;
  return path;
}

TEST(LoadSettings, DefaultsWithoutConfigOrEnvironment) {
  auto s = LoadSettings("", FakeEnv({}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 3000);
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_EQ(s->modules.size(), 4u);
}

TEST(LoadSettings, EnvironmentOverridesConfigFileOverridesDefaults) {
  auto path = WriteConfig(R"({"port": 4000, "dataDir": "/tmp/x", "modules": ["orders"]})");
  auto s = LoadSettings(path, FakeEnv({{"PORT", "5000"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 5000);
  EXPECT_EQ(s->data_dir, "/tmp/x");
  EXPECT_EQ(s->modules, std::vector<std::string>{"orders"});
}

TEST(LoadSettings, RejectsTyposAndBadValues) {
  auto path = WriteConfig(R"({"prot": 4000})");
  auto s = LoadSettings(path, FakeEnv({{"PORT", "http"}}));
  ASSERT_FALSE(s);
  ASSERT_EQ(s.error().details.size(), 2u);
  EXPECT_EQ(s.error().details[0].field, "prot");
  EXPECT_EQ(s.error().details[1].field, "PORT");
  EXPECT_FALSE(LoadSettings("/nonexistent/file.json", FakeEnv({})));
}

TEST(LoadSettings, DurationsInSecondsAndMilliseconds) {
  auto s = LoadSettings("", FakeEnv({}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->inbox_retention, std::chrono::hours(24 * 7));
  s = LoadSettings("", FakeEnv({{"SHOPFLOW_INBOX_RETENTION_S", "3600"},
                                {"SHOPFLOW_MESSAGES_MAX_AGE_S", "0"},
                                {"SHOPFLOW_RETRY_INITIAL_DELAY_MS", "250"}}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->inbox_retention, std::chrono::seconds(3600));
  EXPECT_EQ(s->messages_max_age, std::chrono::seconds(0));
  EXPECT_EQ(s->retry_initial_delay, std::chrono::milliseconds(250));
  s = LoadSettings("", FakeEnv({{"SHOPFLOW_INBOX_RETENTION_S", "-1"}}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().details.at(0).field, "SHOPFLOW_INBOX_RETENTION_S");
}

TEST(LoadSettings, IdempotencyKeysAreKeptForeverOrAtLeastADay) {
  auto s = LoadSettings("", FakeEnv({}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->idempotency_retention, std::chrono::hours(24 * 7));
  for (const char* kept : {"0", "86400", "2592000"}) {
    s = LoadSettings("", FakeEnv({{"SHOPFLOW_IDEMPOTENCY_RETENTION_S", kept}}));
    ASSERT_TRUE(s) << kept;
    EXPECT_EQ(s->idempotency_retention.count(), std::stoll(kept));
  }
  for (const char* refused : {"86399", "3600", "-1", "day"}) {
    s = LoadSettings("", FakeEnv({{"SHOPFLOW_IDEMPOTENCY_RETENTION_S", refused}}));
    ASSERT_FALSE(s) << refused;
    EXPECT_EQ(s.error().details.at(0).field, "SHOPFLOW_IDEMPOTENCY_RETENTION_S");
  }
}

TEST(LoadSettings, SecuritySettings) {
  const std::string secret_file = ::testing::TempDir() + "shopflow_jwt_secret_test";
  std::ofstream(secret_file) << "a-secret-from-a-file-of-at-least-32-bytes\n";
  auto s = LoadSettings("", FakeEnv({{"SHOPFLOW_AUTH", "on"},
                                     {"SHOPFLOW_JWT_SECRET_FILE", secret_file},
                                     {"SHOPFLOW_RATE_LIMIT_RPS", "2.5"},
                                     {"SHOPFLOW_RATE_LIMIT_BURST", "10"},
                                     {"SHOPFLOW_MAX_CONNECTIONS", "50"}}));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->auth, "on");
  EXPECT_EQ(s->jwt_secret, "a-secret-from-a-file-of-at-least-32-bytes");  // newline trimmed
  EXPECT_EQ(s->rate_limit_rps, 2.5);
  EXPECT_EQ(s->rate_limit_burst, 10);
  EXPECT_EQ(s->max_connections, 50u);
  auto unlimited = LoadSettings("", FakeEnv({{"SHOPFLOW_RATE_LIMIT_RPS", "-1"}}));
  ASSERT_TRUE(unlimited);
  EXPECT_EQ(unlimited->rate_limit_rps, -1);

  auto bad = LoadSettings("", FakeEnv({{"SHOPFLOW_AUTH", "maybe"},
                                       {"SHOPFLOW_RATE_LIMIT_RPS", "-2"},
                                       {"SHOPFLOW_JWT_LEEWAY_S", "3600"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().details.size(), 3u);
  auto missing = LoadSettings("", FakeEnv({{"SHOPFLOW_JWT_SECRET_FILE", "/nonexistent/secret"}}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.find("a-secret"), std::string::npos);
}

}  // namespace
}  // namespace shopflow
