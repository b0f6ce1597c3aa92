#include "inventory/stock_service.hpp"

#include "events/event_types.hpp"
#include "inventory/stock.hpp"
#include "storage/await.hpp"

namespace shopflow::inventory {
namespace asio = boost::asio;

namespace {

constexpr int64_t kMaxQuantity = 1'000'000'000;

struct StockRequest {
  std::string product_id;
  int64_t quantity = 0;
  std::string order_id;
  std::string reason;
};

Result<StockRequest> ReadStockRequest(const json::object& body, bool with_order, bool with_reason) {
  BodyReader r(body);
  auto product_id = r.RequiredString("productId", 64);
  auto quantity = r.RequiredInt("quantity", 1, kMaxQuantity);
  std::optional<std::string> order_id;
  std::optional<std::string> reason;
  if (with_order) order_id = r.OptionalString("orderId", 64);
  if (with_reason) reason = r.OptionalString("reason", 500);
  r.RejectUnknownFields();
  if (auto valid = r.Finish(); !valid) return std::move(valid).error();
  return StockRequest{*product_id, *quantity, order_id.value_or(""), reason.value_or("")};
}

// Manual holds are keyed by (orderId, productId); holds made without an orderId share one key.
std::string HoldId(const StockRequest& req) {
  return "manual:" + req.order_id + ":" + req.product_id;
}

/// The quantity a manual hold keeps (0 when there is none).
Result<int64_t> HeldQuantity(ReadTransaction& txn, const std::string& hold_id) {
  auto hold = txn.Get(kHoldsCollection, hold_id);
  if (!hold) return std::move(hold).error();
  return hold->has_value() ? GetInt(**hold, "quantity") : int64_t{0};
}

/// Stores a manual hold's new quantity (`held` before the change): inserted, replaced, or
/// removed when nothing is held any more.
Result<void> SaveHold(Transaction& txn, const std::string& hold_id, const StockRequest& req,
                      int64_t held, int64_t quantity, TimePoint now) {
  if (quantity == 0) return txn.Remove(kHoldsCollection, hold_id);
  json::object doc{{"holdId", hold_id},
                   {"productId", req.product_id},
                   {"orderId", req.order_id},
                   {"quantity", quantity},
                   {"updatedAt", FormatRfc3339(now)}};
  return held > 0 ? txn.Replace(kHoldsCollection, hold_id, doc)
                  : txn.Insert(kHoldsCollection, hold_id, doc);
}

json::object ItemsOf(const StockRequest& req) {
  return json::object{{"orderId", req.order_id},
                      {"items", json::array{json::object{{"productId", req.product_id},
                                                         {"quantity", req.quantity}}}},
                      {"manual", true}};
}

}  // namespace

json::object InventoryStats::ToJson() const {
  return json::object{
      {"totalProducts", total_products},  {"totalStock", total_stock},
      {"totalReserved", total_reserved},  {"totalAvailable", total_available},
      {"lowStockCount", low_stock_count}, {"inventoryValue", inventory_value.ToJson()}};
}

StockService::StockService(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

std::vector<CollectionSpec> StockService::Collections() {
  return {CollectionSpec{std::string(kReservationsCollection), {"status"}, {}},
          CollectionSpec{std::string(kHoldsCollection), {"productId"}, {}}};
}

asio::awaitable<Result<Product>> StockService::AddStock(const json::object& body,
                                                        RequestContext context) {
  auto req = ReadStockRequest(body, false, true);
  if (!req) co_return std::move(req).error();
  std::optional<Product> out;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto before = LoadProduct(txn, req->product_id);
    if (!before) return std::move(before).error();
    Product after = *before;
    if (after.stock + req->quantity > kMaxQuantity) {
      return ValidationError("stock would exceed the maximum",
                             {{"quantity", "would take stock above 1000000000"}});
    }
    after.stock += req->quantity;
    after.updated_at = clock_.Now();
    const std::string reason = req->reason.empty() ? "stock_added" : req->reason;
    if (auto r = SaveStockChange(txn, *before, after, reason, nullptr, context); !r) return r;
    out = std::move(after);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*out);
}

asio::awaitable<Result<ManualReservation>> StockService::Reserve(const json::object& body,
                                                                 RequestContext context) {
  auto req = ReadStockRequest(body, true, false);
  if (!req) co_return std::move(req).error();
  std::optional<Product> out;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto before = LoadProduct(txn, req->product_id);
    if (!before) return std::move(before).error();
    if (before->available() < req->quantity) {
      return ConflictError("not enough stock of " + req->product_id + ": " +
                           std::to_string(before->available()) + " available, " +
                           std::to_string(req->quantity) + " requested");
    }
    Product after = *before;
    after.reserved += req->quantity;
    after.updated_at = clock_.Now();
    const std::string hold_id = HoldId(*req);
    auto held = HeldQuantity(txn, hold_id);
    if (!held) return std::move(held).error();
    if (auto saved = SaveHold(txn, hold_id, *req, *held, *held + req->quantity, after.updated_at);
        !saved) {
      return saved;
    }
    if (auto r = SaveStockChange(txn, *before, after, "manual_reservation", nullptr, context); !r) {
      return r;
    }
    if (auto r = txn.AppendOutbox(InventoryEvent(events::kInventoryReserved, ItemsOf(*req), nullptr,
                                                 context, after.updated_at));
        !r) {
      return r;
    }
    out = std::move(after);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return ManualReservation{req->product_id, req->quantity, req->order_id, std::move(*out)};
}

asio::awaitable<Result<Product>> StockService::Release(const json::object& body,
                                                       RequestContext context) {
  auto req = ReadStockRequest(body, true, false);
  if (!req) co_return std::move(req).error();
  std::optional<Product> out;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto before = LoadProduct(txn, req->product_id);
    if (!before) return std::move(before).error();
    const std::string hold_id = HoldId(*req);
    auto held_or = HeldQuantity(txn, hold_id);
    if (!held_or) return std::move(held_or).error();
    const int64_t held = *held_or;
    if (req->quantity > held) {
      return ConflictError("cannot release " + std::to_string(req->quantity) + " of " +
                           req->product_id + ": " + std::to_string(held) + " held" +
                           (req->order_id.empty() ? "" : " for order " + req->order_id));
    }
    Product after = *before;
    after.reserved -= req->quantity;
    after.updated_at = clock_.Now();
    if (auto saved = SaveHold(txn, hold_id, *req, held, held - req->quantity, after.updated_at);
        !saved) {
      return saved;
    }
    if (auto r = SaveStockChange(txn, *before, after, "manual_release", nullptr, context); !r) {
      return r;
    }
    json::object data = ItemsOf(*req);
    data["reason"] = "manual_release";
    data["returnedToStock"] = false;
    if (auto r = txn.AppendOutbox(InventoryEvent(events::kInventoryReleased, std::move(data),
                                                 nullptr, context, after.updated_at));
        !r) {
      return r;
    }
    out = std::move(after);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*out);
}

namespace {
// Visits every product page by page (the catalog is read in bounded chunks).
Result<void> ForEachProduct(ReadTransaction& txn, const std::function<void(const Product&)>& fn) {
  FindQuery query;
  query.limit = 500;
  query.newest_first = true;
  for (int64_t offset = 0;; offset += query.limit) {
    query.offset = offset;
    auto page = txn.Find(kProductsCollection, query);
    if (!page) return std::move(page).error();
    for (const auto& doc : page->docs) {
      auto p = Product::FromJson(doc);
      if (!p) return std::move(p).error();
      fn(*p);
    }
    if (static_cast<int64_t>(page->docs.size()) < query.limit) return Ok();
  }
}
}  // namespace

asio::awaitable<Result<InventoryStats>> StockService::Stats() {
  InventoryStats stats;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) {
    return ForEachProduct(txn, [&](const Product& p) {
      ++stats.total_products;
      stats.total_stock += p.stock;
      stats.total_reserved += p.reserved;
      stats.total_available += p.available();
      if (p.low_stock()) ++stats.low_stock_count;
      stats.inventory_value += p.price * p.stock;
    });
  });
  if (!read) co_return std::move(read).error();
  co_return stats;
}

asio::awaitable<Result<std::vector<Product>>> StockService::LowStock() {
  std::vector<Product> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) {
    return ForEachProduct(txn, [&](const Product& p) {
      if (p.low_stock()) out.push_back(p);
    });
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

}  // namespace shopflow::inventory
