#include "core/clock.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

namespace shopflow {
namespace {

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795960987123)), "2026-11-29T14:03:07.123Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
}

// The formatter does its own calendar arithmetic; the C library's gmtime_r is the reference.
std::string ViaGmtime(int64_t millis) {
  int64_t secs = millis / 1000;
  int64_t ms = millis % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

TEST(Rfc3339, FormatsEveryDayLikeTheCLibrary) {
  // Every day boundary from 1700 to 2250 (leap and century years included), a millisecond on
  // either side, and random instants across all a TimePoint holds (nanoseconds: 1678-2262).
  const int64_t day_ms = 86'400'000;
  for (int64_t day = -98'000; day <= 102'000; ++day) {
    for (int64_t at : {day * day_ms, day * day_ms - 1, day * day_ms + 43'199'999}) {
      ASSERT_EQ(FormatRfc3339(FromUnixMillis(at)), ViaGmtime(at)) << at;
    }
  }
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> any(-9'000'000'000'000, 9'000'000'000'000);
  for (int i = 0; i < 200'000; ++i) {
    const int64_t at = any(rng);
    ASSERT_EQ(FormatRfc3339(FromUnixMillis(at)), ViaGmtime(at)) << at;
  }
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(951'782'400'000)), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
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
