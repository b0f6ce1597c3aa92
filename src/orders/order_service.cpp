#include "orders/order_service.hpp"

#include <algorithm>
#include <map>

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "orders/order_events.hpp"
#include "storage/await.hpp"
#include "storage/idempotency.hpp"

namespace shopflow::orders {
namespace asio = boost::asio;

namespace {

constexpr size_t kMaxLines = 100;
constexpr int64_t kMaxQuantity = 10'000;
constexpr std::string_view kIdempotencyScope = "orders.create";

struct LineRequest {
  std::string product_id;
  int64_t quantity = 0;
};

size_t DigitCount(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

// Keeps what may be stored and published (issue 8): the card number becomes a token with its
// brand and last four digits; the security code goes; any other string that looks like a card
// number (12 digits or more, wherever a client put it) goes too. The stored order and
// ORDER_CREATED carry exactly this.
json::object SanitizePaymentDetails(const json::object& details, const CardTokenizer& tokenizer) {
  json::object out;
  for (const auto& kv : details) {
    const std::string_view key = kv.key();
    if (key == "cvv" || key == "cvc" || key == "securityCode") continue;
    if (key == "cardNumber" && kv.value().is_string()) {
      const std::string_view number = kv.value().get_string();
      if (tokenizer) {
        for (auto& part : tokenizer(number)) out[part.key()] = part.value();
      } else {
        std::string digits;
        for (char c : number) {
          if (c >= '0' && c <= '9') digits += c;
        }
        out["cardLast4"] = digits.size() >= 4 ? digits.substr(digits.size() - 4) : digits;
      }
      continue;
    }
    if (kv.value().is_string() && DigitCount(kv.value().get_string()) >= 12) continue;
    out[key] = kv.value();
  }
  return out;
}

Envelope OrderEvent(std::string_view type, const Order& order, const RequestContext& context,
                    TimePoint now, json::object extra = {}) {
  return MakeEvent(std::string(type), OrderEventData(order, std::move(extra)), "orders",
                   context.correlation_id, "", now);
}

}  // namespace

OrderService::OrderService(Store& store, Catalog& catalog, const Clock& clock,
                           CardTokenizer tokenizer)
    : store_(store), catalog_(catalog), clock_(clock), tokenizer_(std::move(tokenizer)) {}

std::vector<CollectionSpec> OrderService::Collections() {
  return {CollectionSpec{std::string(kOrdersCollection), {"status", "customerId"}, {}},
          IdempotencyCollection()};
}

asio::awaitable<Result<json::object>> OrderService::Create(const json::object& body,
                                                           RequestContext context) {
  if (!context.idempotency_key.empty()) {
    if (auto ok = ValidateIdempotencyKey(context.idempotency_key); !ok)
      co_return std::move(ok).error();
  }
  BodyReader r(body);
  auto customer_id = r.RequiredString("customerId", 128);
  const json::array* items = r.RequiredArray("items", 1, kMaxLines);
  auto payment_method = r.OptionalString("paymentMethod", 32);
  const json::object* payment_details = r.OptionalObject("paymentDetails");
  const json::object* metadata = r.OptionalObject("metadata");
  for (const char* field :
       {"orderId", "status", "totalAmount", "createdAt", "updatedAt", "history", "failureReason"}) {
    r.RejectIfPresent(field, "is read-only");
  }
  r.RejectUnknownFields();

  std::vector<LineRequest> lines;
  if (items) {
    for (size_t i = 0; i < items->size(); ++i) {
      const std::string path = "items[" + std::to_string(i) + "]";
      if (!(*items)[i].is_object()) {
        r.Fail(path, "must be an object");
        continue;
      }
      BodyReader item((*items)[i].get_object(), path);
      auto product_id = item.RequiredString("productId", 64);
      auto quantity = item.RequiredInt("quantity", 1, kMaxQuantity);
      item.Ignore("price");  // the catalog decides prices (API.md)
      item.Ignore("total");
      item.RejectUnknownFields();
      if (product_id && quantity) {
        const bool duplicate = std::any_of(lines.begin(), lines.end(), [&](const LineRequest& l) {
          return l.product_id == *product_id;
        });
        if (duplicate) {
          item.Fail("productId", "appears in more than one line");
        } else {
          lines.push_back({*product_id, *quantity});
        }
      }
      r.Merge(std::move(item));
    }
  }
  if (payment_method && std::find(std::begin(kPaymentMethods), std::end(kPaymentMethods),
                                  *payment_method) == std::end(kPaymentMethods)) {
    r.Fail("paymentMethod", "must be one of credit_card, debit_card, pix, boleto");
  }
  if (metadata && ToJsonText(*metadata).size() > 4096) r.Fail("metadata", "must be at most 4 KiB");
  if (payment_details && ToJsonText(*payment_details).size() > 2048) {
    r.Fail("paymentDetails", "must be at most 2 KiB");
  }
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();

  // Prices come from the catalog now; unknown products are a validation error naming them.
  std::vector<std::string> ids;
  for (const auto& l : lines) ids.push_back(l.product_id);
  auto catalog = co_await catalog_.Find(ids);
  if (!catalog) co_return std::move(catalog).error();
  std::map<std::string, const CatalogItem*> by_id;
  for (const auto& item : *catalog) by_id[item.product_id] = &item;

  Order order;
  order.order_id = NewId();
  order.customer_id = *customer_id;
  order.payment_method = payment_method.value_or("credit_card");
  if (payment_details) order.payment_details = SanitizePaymentDetails(*payment_details, tokenizer_);
  if (metadata) order.metadata = *metadata;
  order.metadata["source"] = context.source;
  order.metadata["correlationId"] = context.correlation_id;
  std::vector<ErrorDetail> unknown;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto it = by_id.find(lines[i].product_id);
    if (it == by_id.end()) {
      unknown.push_back({"items[" + std::to_string(i) + "].productId",
                         "product " + lines[i].product_id + " does not exist"});
      continue;
    }
    order.items.push_back(
        OrderLine{lines[i].product_id, it->second->name, lines[i].quantity, it->second->price});
  }
  if (!unknown.empty()) {
    co_return ValidationError("order names products that do not exist", std::move(unknown));
  }
  order.created_at = order.updated_at = clock_.Now();
  order.history.push_back(HistoryEntry{OrderStatus::kPending, order.created_at, "order created"});

  // ORDER_CREATED carries what payments needs to charge: the card token (never the number).
  json::object extra;
  if (payment_details) extra["paymentDetails"] = order.payment_details;
  Envelope created = OrderEvent(events::kOrderCreated, order, context, order.created_at, extra);
  // Fingerprinted without the card number: a 64-bit hash of a 16-digit number can be reversed.
  std::string fingerprint;
  if (!context.idempotency_key.empty()) {
    json::object safe = body;
    if (payment_details) safe["paymentDetails"] = order.payment_details;
    fingerprint = RequestFingerprint(safe);
  }

  json::object answer;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    if (!context.idempotency_key.empty()) {
      auto previous =
          FindIdempotentResponse(txn, kIdempotencyScope, context.idempotency_key, fingerprint);
      if (!previous) return std::move(previous).error();
      if (previous->has_value() && (*previous)->body.is_object()) {
        answer = (*previous)->body.get_object();
        return Ok();
      }
    }
    answer = order.ToJson();
    if (auto ins = txn.Insert(kOrdersCollection, order.order_id, answer); !ins) return ins;
    if (auto ev = txn.AppendOutbox(created); !ev) return ev;
    if (!context.idempotency_key.empty()) {
      return RememberIdempotentResponse(txn, kIdempotencyScope, context.idempotency_key,
                                        fingerprint, StoredResponse{201, answer}, order.created_at);
    }
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return answer;
}

asio::awaitable<Result<Order>> OrderService::Get(std::string order_id) {
  std::optional<Result<Order>> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    out = LoadOrder(txn, order_id);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return std::move(*out);
}

asio::awaitable<Result<std::string>> OrderService::GetText(std::string order_id) {
  std::optional<std::string> text;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = txn.GetText(kOrdersCollection, order_id);
    if (!found) return std::move(found).error();
    text = std::move(*found);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  if (!text) co_return NotFoundError("order " + order_id + " not found");
  co_return std::move(*text);
}

asio::awaitable<Result<OrderPage>> OrderService::List(OrderFilter filter, Page page) {
  FindQuery query;
  if (filter.status) {
    query.filters.push_back(
        {"status", FieldFilter::Op::kEq, std::string(StatusName(*filter.status))});
  }
  if (filter.customer_id) {
    query.filters.push_back({"customerId", FieldFilter::Op::kEq, *filter.customer_id});
  }
  query.limit = page.limit;
  query.offset = page.offset;
  OrderPage out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = txn.Find(kOrdersCollection, query);
    if (!found) return std::move(found).error();
    out.total = found->total;
    for (const auto& doc : found->docs) {
      auto o = Order::FromJson(doc);
      if (!o) return std::move(o).error();
      out.orders.push_back(std::move(*o));
    }
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

asio::awaitable<Result<Order>> OrderService::UpdateStatus(std::string order_id,
                                                          const json::object& body,
                                                          RequestContext context) {
  BodyReader r(body);
  auto status_name = r.RequiredString("status", 32);
  auto reason = r.OptionalString("reason", 500);
  r.RejectUnknownFields();
  std::optional<OrderStatus> status;
  if (status_name) {
    status = ParseStatus(*status_name);
    if (!status) {
      r.Fail("status", "must be one of pending, paid, shipped, delivered, cancelled, failed");
    }
  }
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();
  co_return co_await Transition(std::move(order_id), *status,
                                reason.value_or("status set to " + *status_name), context);
}

asio::awaitable<Result<Order>> OrderService::Cancel(std::string order_id, std::string reason,
                                                    RequestContext context) {
  co_return co_await Transition(std::move(order_id), OrderStatus::kCancelled, std::move(reason),
                                context);
}

asio::awaitable<Result<Order>> OrderService::Transition(std::string order_id, OrderStatus to,
                                                        std::string reason,
                                                        RequestContext context) {
  std::optional<Order> updated;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto order = LoadOrder(txn, order_id);
    if (!order) return std::move(order).error();
    const OrderStatus from = order->status;
    const TimePoint now = clock_.Now();
    if (auto moved = TransitionByHand(*order, to, reason, now); !moved) return moved;
    if (auto rep = txn.Replace(kOrdersCollection, order->order_id, order->ToJson()); !rep)
      return rep;
    json::object change{{"previousStatus", StatusName(from)}, {"reason", reason}};
    if (auto ev = txn.AppendOutbox(OrderEvent(events::kOrderUpdated, *order, context, now, change));
        !ev) {
      return ev;
    }
    if (to == OrderStatus::kCancelled) {
      if (auto ev =
              txn.AppendOutbox(OrderEvent(events::kOrderCancelled, *order, context, now, change));
          !ev) {
        return ev;
      }
    }
    updated = std::move(*order);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*updated);
}

}  // namespace shopflow::orders
