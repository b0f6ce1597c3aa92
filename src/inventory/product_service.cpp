#include "inventory/product_service.hpp"

#include "core/ids.hpp"
#include "events/event_types.hpp"
#include "storage/await.hpp"

namespace shopflow::inventory {
namespace asio = boost::asio;

namespace {

constexpr int64_t kMaxStock = 1'000'000'000;
const Money kMaxPrice = Money::FromCents(100'000'000'00);  // 100 million

Envelope InventoryUpdated(const Product& p, std::string_view reason, const RequestContext& ctx,
                          TimePoint now) {
  json::object data = p.ToJson();
  data["reason"] = reason;
  return MakeEvent(std::string(events::kInventoryUpdated), std::move(data), "inventory",
                   ctx.correlation_id, "", now);
}

Result<Product> Load(ReadTransaction& txn, std::string_view id) {
  auto doc = txn.Get(kProductsCollection, id);
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return NotFoundError("product " + std::string(id) + " not found");
  return Product::FromJson(**doc);
}

}  // namespace

ProductService::ProductService(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

std::vector<CollectionSpec> ProductService::Collections() {
  return {CollectionSpec{std::string(kProductsCollection), {"category"}, {"sku"}}};
}

asio::awaitable<Result<Product>> ProductService::Create(const json::object& body,
                                                        RequestContext context) {
  BodyReader r(body);
  auto name = r.RequiredString("name", 200);
  auto sku = r.RequiredString("sku", 64);
  auto price = r.RequiredMoney("price", Money(), kMaxPrice);
  auto stock = r.RequiredInt("stock", 0, kMaxStock);
  auto min_stock = r.OptionalInt("minStock", 0, kMaxStock);
  auto category = r.OptionalString("category", 100);
  auto description = r.OptionalString("description", 2000);
  for (const char* field : {"productId", "reserved", "available", "createdAt", "updatedAt"}) {
    r.RejectIfPresent(field, "is read-only");
  }
  r.RejectUnknownFields();
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();

  Product p;
  p.product_id = NewId();
  p.name = *name;
  p.sku = *sku;
  p.price = *price;
  p.stock = *stock;
  p.min_stock = min_stock.value_or(0);
  p.category = category.value_or("general");
  p.description = description.value_or("");
  p.created_at = p.updated_at = clock_.Now();

  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    if (auto existing = txn.FindOne(kProductsCollection, "sku", p.sku); !existing) {
      return std::move(existing).error();
    } else if (existing->has_value()) {
      return ConflictError("a product with sku " + p.sku + " already exists");
    }
    if (auto ins = txn.Insert(kProductsCollection, p.product_id, p.ToJson()); !ins) return ins;
    return txn.AppendOutbox(InventoryUpdated(p, "product_created", context, p.updated_at));
  });
  if (!written) co_return std::move(written).error();
  co_return p;
}

asio::awaitable<Result<Product>> ProductService::Get(std::string product_id) {
  std::optional<Result<Product>> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    out = Load(txn, product_id);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return std::move(*out);
}

asio::awaitable<Result<ProductPage>> ProductService::List(ProductFilter filter, Page page) {
  FindQuery query;
  if (filter.category)
    query.filters.push_back({"category", FieldFilter::Op::kEq, *filter.category});
  if (filter.sku) query.filters.push_back({"sku", FieldFilter::Op::kEq, *filter.sku});
  query.limit = page.limit;
  query.offset = page.offset;
  ProductPage out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = txn.Find(kProductsCollection, query);
    if (!found) return std::move(found).error();
    out.total = found->total;
    for (const auto& doc : found->docs) {
      auto p = Product::FromJson(doc);
      if (!p) return std::move(p).error();
      out.products.push_back(std::move(*p));
    }
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

asio::awaitable<Result<Product>> ProductService::Update(std::string product_id,
                                                        const json::object& body,
                                                        RequestContext context) {
  BodyReader r(body);
  auto name = r.OptionalString("name", 200);
  auto price = r.OptionalMoney("price", Money(), kMaxPrice);
  auto min_stock = r.OptionalInt("minStock", 0, kMaxStock);
  auto category = r.OptionalString("category", 100);
  auto description = r.OptionalString("description", 2000);
  r.RejectIfPresent("stock", "is read-only here: use POST /api/inventory/stock/add");
  for (const char* field :
       {"productId", "sku", "reserved", "available", "createdAt", "updatedAt"}) {
    r.RejectIfPresent(field, "is read-only");
  }
  r.RejectUnknownFields();
  if (!r.has_errors() && !name && !price && !min_stock && !category && !description) {
    r.Fail("body", "must contain at least one of name, price, minStock, category, description");
  }
  if (auto valid = r.Finish(); !valid) co_return std::move(valid).error();

  std::optional<Product> updated;
  auto written = co_await AwaitWrite(store_, [&](Transaction& txn) -> Result<void> {
    auto p = Load(txn, product_id);
    if (!p) return std::move(p).error();
    if (name) p->name = *name;
    if (price) p->price = *price;
    if (min_stock) p->min_stock = *min_stock;
    if (category) p->category = *category;
    if (description) p->description = *description;
    p->updated_at = clock_.Now();
    if (auto rep = txn.Replace(kProductsCollection, p->product_id, p->ToJson()); !rep) return rep;
    if (auto ev = txn.AppendOutbox(InventoryUpdated(*p, "product_updated", context, p->updated_at));
        !ev) {
      return ev;
    }
    updated = std::move(*p);
    return Ok();
  });
  if (!written) co_return std::move(written).error();
  co_return std::move(*updated);
}

asio::awaitable<Result<std::vector<Product>>> ProductService::FindMany(
    std::vector<std::string> ids) {
  std::vector<Product> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    for (const auto& id : ids) {
      auto doc = txn.Get(kProductsCollection, id);
      if (!doc) return std::move(doc).error();
      if (!doc->has_value()) continue;
      auto p = Product::FromJson(**doc);
      if (!p) return std::move(p).error();
      out.push_back(std::move(*p));
    }
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

}  // namespace shopflow::inventory
