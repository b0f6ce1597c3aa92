#include "core/thread_name.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace shopflow {
namespace {

std::string NameOfThisThread() {
  char buffer[32] = {};
  EXPECT_EQ(pthread_getname_np(pthread_self(), buffer, sizeof buffer), 0);
  return buffer;
}

TEST(SetThreadName, NamesTheCallingThreadAndCutsLongNames) {
  std::string short_name, long_name;
  std::thread([&] {
    SetThreadName("sf-writer");
    short_name = NameOfThisThread();
    SetThreadName("consumer:notifications.events.queue");
    long_name = NameOfThisThread();
  }).join();
  EXPECT_EQ(short_name, "sf-writer");
  EXPECT_EQ(long_name, "consumer:notifi");
}

}  // namespace
}  // namespace shopflow
