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

TEST(Ulid, TimePrefixSplitsIdsMadeBeforeAndAfterAnInstant) {
  const TimePoint t = FromUnixMillis(1795960987123);
  const std::string prefix = UlidTimePrefix(t);
  ASSERT_EQ(prefix.size(), 10u);
  StoppedClock clock;  // stopped at t
  UlidGenerator at(clock);
  const std::string made_at = at.Next();
  EXPECT_EQ(made_at.substr(0, 10), prefix);
  EXPECT_GT(made_at, prefix);
  const std::string earlier = UlidTimePrefix(t - std::chrono::milliseconds(1));
  EXPECT_LT(earlier, prefix);
  EXPECT_LT(earlier + "ZZZZZZZZZZZZZZZZ", prefix);  // the largest id of the millisecond before
  EXPECT_LT(prefix, UlidTimePrefix(t + std::chrono::milliseconds(1)));
}

TEST(Ulid, RejectsMalformedIds) {
  EXPECT_FALSE(IsWellFormedId(""));
  EXPECT_FALSE(IsWellFormedId("01J0000000000000000000000U"));  // U is not Crockford
  EXPECT_FALSE(IsWellFormedId("01J000000000000000000000000"));
}

}  // namespace
}  // namespace shopflow
