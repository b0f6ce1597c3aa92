#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <set>

namespace shopflow {
namespace {

class StoppedClock final : public Clock {
 public:
  TimePoint Now() const override { return FromUnixMillis(1795960987123); }
};

TEST(Ulid, IsWellFormedAndEncodesTheTime) {
  StoppedClock clock;
  UlidGenerator gen(clock);
  const std::string id = gen.Next();
  EXPECT_TRUE(IsWellFormedId(id)) << id;
}

TEST(Ulid, StrictlyIncreasesWithinOneMillisecond) {
  StoppedClock clock;
  UlidGenerator gen(clock);
  std::string previous = gen.Next();
  std::set<std::string> seen{previous};
  for (int i = 0; i < 10000; ++i) {
    std::string next = gen.Next();
    ASSERT_LT(previous, next);
    ASSERT_TRUE(seen.insert(next).second);
    previous = next;
  }
}

TEST(Ulid, RejectsMalformedIds) {
  EXPECT_FALSE(IsWellFormedId(""));
  EXPECT_FALSE(IsWellFormedId("01J0000000000000000000000U"));  // U is not Crockford
  EXPECT_FALSE(IsWellFormedId("01J000000000000000000000000"));
}

}  // namespace
}  // namespace shopflow
