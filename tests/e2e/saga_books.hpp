#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "tests/support/http_client.hpp"

namespace shopflow::testing {

/// What a test put into the catalog, to check EVENTS.md's invariants against what the API shows
/// once the saga has settled.
struct ProductBook {
  std::string id;
  int64_t initial = 0;
  int64_t added = 0;
};

/// Every document of a list endpoint, page by page.
inline std::vector<json::object> ListAll(HttpClient& client, const std::string& path) {
  std::vector<json::object> out;
  for (int64_t offset = 0;; offset += 500) {
    auto r = client.Request("GET", path + "?limit=500&offset=" + std::to_string(offset));
    if (r.status != 200 || !r.Json().is_object()) return out;
    auto page = r.Json().as_object();
    for (const auto& d : page.at("data").as_array()) out.push_back(d.as_object());
    if (offset + 500 >= GetInt(page, "total")) return out;
  }
}

/// True once no order is pending, nothing is reserved, every product's stock equals what was
/// put in minus what paid, shipped or delivered orders took, and exactly those orders hold one
/// succeeded payment.
/// The three clients may be the same process or the processes running each module.
inline bool Balanced(HttpClient& orders, HttpClient& inventory, HttpClient& payments,
                     const std::vector<ProductBook>& products) {
  auto pending = orders.Request("GET", "/api/orders?status=pending&limit=1");
  if (pending.status != 200 || GetInt(pending.Json().as_object(), "total") != 0) return false;
  // Compensations (refunds) settle after the order does: wait for them too.
  std::map<std::string, int> succeeded;
  for (const auto& p : ListAll(payments, "/api/payments")) {
    if (GetString(p, "status") == "succeeded") ++succeeded[GetString(p, "orderId")];
  }
  std::map<std::string, int64_t> sold;
  for (const auto& o : ListAll(orders, "/api/orders")) {
    const std::string status = GetString(o, "status");
    const bool charged = status == "paid" || status == "shipped" || status == "delivered";
    if (succeeded[GetString(o, "orderId")] != (charged ? 1 : 0)) return false;
    if (!charged) continue;
    for (const auto& line : o.at("items").as_array()) {
      sold[GetString(line.as_object(), "productId")] += GetInt(line.as_object(), "quantity");
    }
  }
  for (const auto& book : products) {
    auto r = inventory.Request("GET", "/api/inventory/products/" + book.id);
    if (r.status != 200) return false;
    auto p = r.Json().as_object();
    if (GetInt(p, "reserved") != 0) return false;
    if (GetInt(p, "stock") != book.initial + book.added - sold[book.id]) return false;
  }
  return true;
}

inline bool Balanced(HttpClient& client, const std::vector<ProductBook>& products) {
  return Balanced(client, client, client, products);
}

/// The per-order invariants: a paid order has exactly one succeeded payment of its total; no
/// failed or cancelled order holds a charge; nothing is negative. Returns the count per status.
inline std::map<std::string, int> ExpectOrderInvariants(HttpClient& client,
                                                        const std::vector<ProductBook>& products) {
  for (const auto& book : products) {
    auto p = client.Request("GET", "/api/inventory/products/" + book.id).Json().as_object();
    EXPECT_GE(GetInt(p, "stock"), 0);
    EXPECT_GE(GetInt(p, "reserved"), 0);
    EXPECT_EQ(GetInt(p, "available"), GetInt(p, "stock") - GetInt(p, "reserved"));
  }
  std::map<std::string, std::vector<json::object>> payments;
  for (const auto& p : ListAll(client, "/api/payments")) {
    payments[GetString(p, "orderId")].push_back(p);
  }
  std::map<std::string, int> by_status;
  for (const auto& o : ListAll(client, "/api/orders")) {
    const std::string id = GetString(o, "orderId");
    const std::string status = GetString(o, "status");
    ++by_status[status];
    int succeeded = 0;
    for (const auto& p : payments[id]) succeeded += GetString(p, "status") == "succeeded";
    EXPECT_LE(payments[id].size(), 1u) << id;
    if (status == "paid") {
      EXPECT_EQ(succeeded, 1) << id;
      if (!payments[id].empty()) {
        EXPECT_EQ(ToJsonText(payments[id][0].at("amount")), ToJsonText(o.at("totalAmount"))) << id;
      }
    } else {
      EXPECT_EQ(succeeded, 0) << id << " is " << status;
    }
  }
  EXPECT_EQ(by_status["pending"], 0);
  return by_status;
}

}  // namespace shopflow::testing
