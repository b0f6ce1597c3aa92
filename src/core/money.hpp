#pragma once

#include <boost/json/fwd.hpp>
#include <compare>
#include <cstdint>
#include <optional>

namespace shopflow {

/// An amount of money in integer cents. JSON carries it as a decimal number with at most two
/// fractional digits (API.md "Conventions").
class Money {
 public:
  constexpr Money() = default;
  static constexpr Money FromCents(int64_t cents) { return Money(cents); }
  /// Accepts a JSON number with at most 2 fractional digits and |value| < 1e13; nullopt otherwise.
  static std::optional<Money> FromJson(const boost::json::value& value);

  constexpr int64_t cents() const { return cents_; }
  boost::json::value ToJson() const;

  constexpr Money operator+(Money other) const { return Money(cents_ + other.cents_); }
  constexpr Money operator-(Money other) const { return Money(cents_ - other.cents_); }
  constexpr Money operator*(int64_t factor) const { return Money(cents_ * factor); }
  constexpr Money& operator+=(Money other) {
    cents_ += other.cents_;
    return *this;
  }
  constexpr auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(int64_t cents) : cents_(cents) {}
  int64_t cents_ = 0;
};

}  // namespace shopflow
