#include "inventory/inventory_events.hpp"

#include <map>

#include "events/event_types.hpp"
#include "inventory/stock.hpp"
#include "storage/inbox_handler.hpp"

namespace shopflow::inventory {

namespace {

struct Line {
  std::string product_id;
  int64_t quantity = 0;
};

std::vector<Line> LinesOf(const json::object& obj) {
  std::vector<Line> lines;
  if (const auto* items = GetArray(obj, "items")) {
    for (const auto& v : *items) {
      if (!v.is_object()) continue;
      lines.push_back({GetString(v.as_object(), "productId"), GetInt(v.as_object(), "quantity")});
    }
  }
  return lines;
}

json::array ItemsJson(const std::vector<Line>& lines) {
  json::array items;
  for (const auto& l : lines) {
    items.push_back(json::object{{"productId", l.product_id}, {"quantity", l.quantity}});
  }
  return items;
}

Result<void> SaveReservation(Transaction& txn, bool exists, const std::string& order_id,
                             std::string_view status, const std::vector<Line>& lines,
                             std::string_view reason, TimePoint now) {
  json::object doc{{"orderId", order_id},
                   {"status", status},
                   {"items", ItemsJson(lines)},
                   {"reason", reason},
                   {"updatedAt", FormatRfc3339(now)}};
  return exists ? txn.Replace(kReservationsCollection, order_id, doc)
                : txn.Insert(kReservationsCollection, order_id, doc);
}

}  // namespace

InventoryEventHandler::InventoryEventHandler(Store& store, const Clock& clock)
    : store_(store), clock_(clock) {}

bool InventoryEventHandler::Acts(const Envelope& e) {
  return e.event_type == events::kOrderCreated || e.event_type == events::kOrderConfirmed ||
         e.event_type == events::kOrderFailed || e.event_type == events::kOrderCancelled;
}

HandlerOutcome InventoryEventHandler::Handle(const Delivery& delivery) {
  if (!Acts(delivery.envelope)) return HandlerOutcome::Ack();
  return ApplyOnce(store_, kConsumer, delivery,
                   [this](Transaction& txn, const Delivery& d) { return Apply(txn, d); });
}

std::vector<HandlerOutcome> InventoryEventHandler::HandleBatch(
    std::span<const Delivery> deliveries) {
  return ApplyOnceBatch(
      store_, kConsumer, deliveries,
      [this](Transaction& txn, const Delivery& d) { return Apply(txn, d); },
      [](const Delivery& d) { return Acts(d.envelope); });
}

Result<void> InventoryEventHandler::Apply(Transaction& txn, const Delivery& delivery) {
  const Envelope& e = delivery.envelope;
  if (e.event_type == events::kOrderCreated) return Reserve(txn, e);
  if (e.event_type == events::kOrderConfirmed) return Confirm(txn, e);
  if (e.event_type == events::kOrderFailed) return Release(txn, e, "order_failed");
  if (e.event_type == events::kOrderCancelled) return Release(txn, e, "order_cancelled");
  return Ok();  // ORDER_UPDATED, payment.*: nothing to do here
}

Result<void> InventoryEventHandler::Reserve(Transaction& txn, const Envelope& event) {
  const std::string order_id = GetString(event.data, "orderId");
  if (order_id.empty()) return ValidationError("ORDER_CREATED without orderId");
  auto existing = txn.Get(kReservationsCollection, order_id);
  if (!existing) return std::move(existing).error();
  if (existing->has_value()) return Ok();  // already handled, or cancelled before it arrived

  const TimePoint now = clock_.Now();
  std::vector<Line> lines = LinesOf(event.data);
  // Check every line first: all or nothing.
  std::map<std::string, Product> products;
  json::array missing;
  bool unknown = false;
  for (const auto& l : lines) {
    auto p = LoadProduct(txn, l.product_id);
    if (!p && p.error().code != ErrorCode::kNotFound) return std::move(p).error();
    const int64_t available = p ? p->available() : 0;
    if (!p) unknown = true;
    if (!p || available < l.quantity) {
      missing.push_back(json::object{
          {"productId", l.product_id}, {"requested", l.quantity}, {"available", available}});
    } else {
      products.emplace(l.product_id, std::move(*p));
    }
  }
  if (lines.empty() || !missing.empty()) {
    const std::string reason = unknown ? "unknown_product" : "insufficient_stock";
    if (auto r = SaveReservation(txn, false, order_id, "rejected", lines, reason, now); !r)
      return r;
    return txn.AppendOutbox(MakeCausedEvent(
        std::string(events::kInventoryError),
        json::object{{"orderId", order_id}, {"reason", reason}, {"missing", std::move(missing)}},
        "inventory", event, now));
  }
  for (const auto& l : lines) {
    Product& before = products.at(l.product_id);
    Product after = before;
    after.reserved += l.quantity;
    after.updated_at = now;
    if (auto r = SaveStockChange(txn, before, after, "order_reserved", &event, {}); !r) return r;
  }
  if (auto r = SaveReservation(txn, false, order_id, "reserved", lines, "", now); !r) return r;
  return txn.AppendOutbox(MakeCausedEvent(
      std::string(events::kInventoryReserved),
      json::object{{"orderId", order_id}, {"items", ItemsJson(lines)}}, "inventory", event, now));
}

Result<void> InventoryEventHandler::Confirm(Transaction& txn, const Envelope& event) {
  const std::string order_id = GetString(event.data, "orderId");
  auto doc = txn.Get(kReservationsCollection, order_id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value() || GetString(**doc, "status") != "reserved") return Ok();
  const TimePoint now = clock_.Now();
  const std::vector<Line> lines = LinesOf(**doc);
  for (const auto& l : lines) {
    auto before = LoadProduct(txn, l.product_id);
    if (!before) return std::move(before).error();
    Product after = *before;
    after.stock -= l.quantity;
    after.reserved -= l.quantity;
    after.updated_at = now;
    if (auto r = SaveStockChange(txn, *before, after, "order_confirmed", &event, {}); !r) return r;
  }
  if (auto r = SaveReservation(txn, true, order_id, "confirmed", lines, "", now); !r) return r;
  return txn.AppendOutbox(MakeCausedEvent(
      std::string(events::kInventoryConfirmed),
      json::object{{"orderId", order_id}, {"items", ItemsJson(lines)}}, "inventory", event, now));
}

Result<void> InventoryEventHandler::Release(Transaction& txn, const Envelope& event,
                                            std::string_view reason) {
  const std::string order_id = GetString(event.data, "orderId");
  if (order_id.empty()) return ValidationError("order event without orderId");
  auto doc = txn.Get(kReservationsCollection, order_id);
  if (!doc) return std::move(doc).error();
  const TimePoint now = clock_.Now();
  if (!doc->has_value()) {
    // The order ended before its ORDER_CREATED reached us: remember, so it reserves nothing.
    return SaveReservation(txn, false, order_id, "cancelled", {}, reason, now);
  }
  const std::string status = GetString(**doc, "status");
  const bool returned = status == "confirmed";
  if (status != "reserved" && !returned) return Ok();  // nothing held
  const std::vector<Line> lines = LinesOf(**doc);
  for (const auto& l : lines) {
    auto before = LoadProduct(txn, l.product_id);
    if (!before) return std::move(before).error();
    Product after = *before;
    if (returned) {
      after.stock += l.quantity;  // sold stock of a cancelled paid order comes back
    } else {
      after.reserved -= l.quantity;
    }
    after.updated_at = now;
    if (auto r = SaveStockChange(txn, *before, after, reason, &event, {}); !r) return r;
  }
  if (auto r = SaveReservation(txn, true, order_id, returned ? "returned" : "released", lines,
                               reason, now);
      !r) {
    return r;
  }
  return txn.AppendOutbox(MakeCausedEvent(std::string(events::kInventoryReleased),
                                          json::object{{"orderId", order_id},
                                                       {"items", ItemsJson(lines)},
                                                       {"reason", reason},
                                                       {"returnedToStock", returned}},
                                          "inventory", event, now));
}

}  // namespace shopflow::inventory
