#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace shopflow::inventory {

inline constexpr std::string_view kProductsCollection = "products";

/// A catalog product with its stock. `available` is derived: stock - reserved, never negative.
struct Product {
  std::string product_id;
  std::string name;
  std::string description;
  Money price;
  int64_t stock = 0;
  int64_t reserved = 0;
  int64_t min_stock = 0;
  std::string category;
  std::string sku;
  TimePoint created_at{};
  TimePoint updated_at{};

  int64_t available() const { return stock - reserved; }
  bool low_stock() const { return available() <= min_stock; }

  /// The API shape of API.md ("Product"), which is also the stored document.
  json::object ToJson() const;
  /// Reads a stored document; malformed → kInternal (stored data is trusted but checked).
  static Result<Product> FromJson(const json::object& doc);
};

}  // namespace shopflow::inventory
