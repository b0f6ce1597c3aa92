#include "core/clock.hpp"

#include <gtest/gtest.h>

namespace shopflow {
namespace {

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795960987123)), "2026-11-29T14:03:07.123Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
}

TEST(Rfc3339, ParsesWhatItFormats) {
  const auto t = FromUnixMillis(1795960987123);
  auto parsed = ParseRfc3339(FormatRfc3339(t));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(ToUnixMillis(*parsed), 1795960987123);
}

TEST(Rfc3339, ParsesOffsetsAndDates) {
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-11-29T16:03:07+02:00")), 1795960987000);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("1970-01-02")), 86400000);
  EXPECT_TRUE(ParseRfc3339("2028-02-29T00:00:00Z")) << "a leap year's 29 February";
  // RFC 3339's leap second is accepted, counted as the next minute's first second.
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2017-01-01T00:00:00Z"));
}

TEST(Rfc3339, RejectsGarbage) {
  for (const char* bad :
       {"", "yesterday", "2026-13-01T00:00:00Z", "2026-11-29T14:03", "2026-11-29T14:03:07.Z",
        "2026-11-29T14:03:07Zjunk", "2999-01-01T00:00:00Z", "2026-02-30", "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

}  // namespace
}  // namespace shopflow
