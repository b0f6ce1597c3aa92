#include "core/money.hpp"

#include <gtest/gtest.h>

#include "core/json.hpp"

namespace shopflow {
namespace {

std::optional<Money> FromText(std::string_view text) {
  auto v = ParseJson(text);
  return v ? Money::FromJson(*v) : std::nullopt;
}

TEST(Money, ParsesDecimalNumbersIntoCents) {
  EXPECT_EQ(FromText("19.99")->cents(), 1999);
  EXPECT_EQ(FromText("0.1")->cents(), 10);
  EXPECT_EQ(FromText("7")->cents(), 700);
  EXPECT_EQ(FromText("1234567.89")->cents(), 123456789);
}

TEST(Money, RejectsThirdDecimalAndNonNumbers) {
  EXPECT_FALSE(FromText("19.999"));
  EXPECT_FALSE(FromText("\"19.99\""));
  EXPECT_FALSE(FromText("1e300"));
}

TEST(Money, SerializesAsShortDecimal) {
  EXPECT_EQ(ToJsonText(Money::FromCents(1999).ToJson()), "19.99");
  EXPECT_EQ(ToJsonText(Money::FromCents(500).ToJson()), "5");
  EXPECT_EQ(ToJsonText(Money::FromCents(10).ToJson()), "0.1");
}

}  // namespace
}  // namespace shopflow
