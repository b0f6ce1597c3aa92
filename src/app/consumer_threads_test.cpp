#include "app/consumer_threads.hpp"

#include <gtest/gtest.h>

#include <map>

#include "app/settings_loader.hpp"

namespace shopflow {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Settings Loaded(std::map<std::string, std::string> vars) {
  auto s = LoadSettings("", Env(std::move(vars)));
  EXPECT_TRUE(s) << s.error().message;
  return s ? *s : Settings{};
}

TEST(ConsumerThreadsFor, AutoGivesTheEmbeddedBusFourPerQueue) {
  EXPECT_EQ(ConsumerThreadsFor(Loaded({})), 4);
}

TEST(ConsumerThreadsFor, AutoGivesRabbitMqOneConsumerPerQueue) {
  EXPECT_EQ(ConsumerThreadsFor(Loaded({{"RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"}})),
            1);
  // "auto" spelled out is the default.
  const Settings spelled = Loaded({{"RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"},
                                   {"SHOPFLOW_CONSUMER_THREADS", "auto"}});
  EXPECT_EQ(ConsumerThreadsFor(spelled), 1);
}

TEST(ConsumerThreadsFor, AnExplicitCountAppliesToEveryQueueOnEitherBus) {
  for (const char* url : {"", "amqp://guest:guest@127.0.0.1:5672/"}) {
    const Settings s = Loaded({{"RABBITMQ_URL", url}, {"SHOPFLOW_CONSUMER_THREADS", "3"}});
    EXPECT_EQ(ConsumerThreadsFor(s), 3) << url;
  }
}

TEST(ConsumerThreadsFor, TheSettingRejectsAnythingButAutoOrOneToSixtyFour) {
  for (const char* bad : {"0", "65", "-1", "Auto", "four", ""}) {
    auto s = LoadSettings("", Env({{"SHOPFLOW_CONSUMER_THREADS", bad}}));
    ASSERT_FALSE(s) << "accepted '" << bad << "'";
    ASSERT_EQ(s.error().details.size(), 1u);
    EXPECT_EQ(s.error().details[0].field, "SHOPFLOW_CONSUMER_THREADS");
  }
}

}  // namespace
}  // namespace shopflow
