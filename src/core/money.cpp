#include "core/money.hpp"

#include <boost/json/value.hpp>
#include <cmath>

namespace shopflow {

std::optional<Money> Money::FromJson(const boost::json::value& value) {
  if (value.is_int64()) {
    const int64_t v = value.get_int64();
    if (v > 10'000'000'000'000 || v < -10'000'000'000'000) return std::nullopt;
    return Money(v * 100);
  }
  if (value.is_uint64()) {
    const uint64_t v = value.get_uint64();
    if (v > 10'000'000'000'000u) return std::nullopt;
    return Money(static_cast<int64_t>(v) * 100);
  }
  if (!value.is_double()) return std::nullopt;
  const double d = value.get_double();
  if (!std::isfinite(d) || std::fabs(d) >= 1e13) return std::nullopt;
  const double scaled = d * 100.0;
  const double rounded = std::round(scaled);
  // A third fractional digit shows as a residue far above binary rounding noise.
  if (std::fabs(scaled - rounded) > 1e-6 * std::max(1.0, std::fabs(scaled))) return std::nullopt;
  return Money(static_cast<int64_t>(rounded));
}

boost::json::value Money::ToJson() const {
  if (cents_ % 100 == 0) return boost::json::value(cents_ / 100);
  return boost::json::value(static_cast<double>(cents_) / 100.0);
}

}  // namespace shopflow
