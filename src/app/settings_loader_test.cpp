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

}  // namespace
}  // namespace shopflow
