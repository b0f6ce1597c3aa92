#include "notifications/template_renderer.hpp"

#include <ctemplate/template.h>
#include <ctemplate/template_cache.h>
#include <ctemplate/template_dictionary.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "core/money.hpp"

#ifndef SHOPFLOW_TEMPLATES_DIR
#error "SHOPFLOW_TEMPLATES_DIR must name the built-in templates directory"
#endif

namespace shopflow::notifications {
namespace {

constexpr std::array<std::string_view, 4> kNames{templates::kOrderConfirmation,
                                                 templates::kPaymentReceipt, templates::kStockAlert,
                                                 templates::kOrderFailed};

std::string FileName(std::string_view name) { return std::string(name) + ".html"; }

// A JSON value as display text; objects and arrays (never expected here) render empty.
std::string Text(const json::object& data, std::string_view key) {
  const json::value* v = data.if_contains(key);
  if (!v) return "";
  switch (v->kind()) {
    case json::kind::string:
      return std::string(v->get_string());
    case json::kind::int64:
      return std::to_string(v->get_int64());
    case json::kind::uint64:
      return std::to_string(v->get_uint64());
    case json::kind::double_:
      return ToJsonText(*v);
    case json::kind::bool_:
      return v->get_bool() ? "true" : "false";
    default:
      return "";
  }
}

// Amounts travel as decimal numbers (API.md); receipts show exactly two decimals ("20.00").
std::string Amount(const json::object& data, std::string_view key) {
  const json::value* v = data.if_contains(key);
  if (!v) return "";
  auto money = Money::FromJson(*v);
  if (!money) return Text(data, key);
  const int64_t cents = money->cents();
  const uint64_t magnitude =
      cents < 0 ? static_cast<uint64_t>(-(cents + 1)) + 1 : static_cast<uint64_t>(cents);
  std::string fraction = std::to_string(magnitude % 100);
  if (fraction.size() < 2) fraction.insert(0, "0");
  return (cents < 0 ? "-" : "") + std::to_string(magnitude / 100) + "." + fraction;
}

void Set(ctemplate::TemplateDictionary& dict, const char* variable, const std::string& value) {
  dict.SetValue(variable, value);
}

void AddOrderLines(ctemplate::TemplateDictionary& dict, const json::object& order) {
  const json::array* items = GetArray(order, "items");
  bool any = false;
  if (items) {
    for (const auto& item : *items) {
      if (!item.is_object()) continue;
      const json::object& line = item.get_object();
      auto* row = dict.AddSectionDictionary("ITEMS");
      std::string name = Text(line, "name");
      Set(*row, "NAME", name.empty() ? Text(line, "productId") : name);
      Set(*row, "PRODUCT_ID", Text(line, "productId"));
      Set(*row, "QUANTITY", Text(line, "quantity"));
      Set(*row, "PRICE", Amount(line, "price"));
      Set(*row, "LINE_TOTAL", Amount(line, "total"));
      any = true;
    }
  }
  if (!any) dict.ShowSection("NO_ITEMS");
}

void FillOrder(ctemplate::TemplateDictionary& dict, const json::object& order) {
  Set(dict, "ORDER_ID", Text(order, "orderId"));
  Set(dict, "CUSTOMER_ID", Text(order, "customerId"));
  Set(dict, "CREATED_AT", Text(order, "createdAt"));
  Set(dict, "PAYMENT_METHOD", Text(order, "paymentMethod"));
  Set(dict, "TOTAL_AMOUNT", Amount(order, "totalAmount"));
  AddOrderLines(dict, order);
}

std::string WithId(std::string text, const std::string& id) {
  return id.empty() ? text : text + " " + id;
}

// Fills the dictionary of template `name` and returns its subject.
std::string Fill(std::string_view name, const json::object& data,
                 ctemplate::TemplateDictionary& dict) {
  if (name == templates::kOrderConfirmation) {
    FillOrder(dict, data);
    return WithId("We received your order", Text(data, "orderId"));
  }
  if (name == templates::kOrderFailed) {
    FillOrder(dict, data);
    std::string reason = Text(data, "failureReason");
    if (reason.empty()) reason = Text(data, "reason");
    Set(dict, "REASON", reason.empty() ? "unknown" : reason);
    const std::string id = Text(data, "orderId");
    return id.empty() ? "Your order could not be completed"
                      : "Your order " + id + " could not be completed";
  }
  if (name == templates::kPaymentReceipt) {
    Set(dict, "PAYMENT_ID", Text(data, "paymentId"));
    Set(dict, "ORDER_ID", Text(data, "orderId"));
    Set(dict, "CUSTOMER_ID", Text(data, "customerId"));
    Set(dict, "AMOUNT", Amount(data, "amount"));
    Set(dict, "METHOD", Text(data, "method"));
    Set(dict, "TRANSACTION_ID", Text(data, "transactionId"));
    Set(dict, "PROCESSED_AT", Text(data, "processedAt"));
    Set(dict, "STATUS", Text(data, "status"));
    return WithId("Payment receipt for order", Text(data, "orderId"));
  }
  // stock-alert
  Set(dict, "PRODUCT_ID", Text(data, "productId"));
  Set(dict, "NAME", Text(data, "name"));
  Set(dict, "SKU", Text(data, "sku"));
  Set(dict, "CATEGORY", Text(data, "category"));
  Set(dict, "STOCK", Text(data, "stock"));
  Set(dict, "RESERVED", Text(data, "reserved"));
  Set(dict, "AVAILABLE", Text(data, "available"));
  Set(dict, "MIN_STOCK", Text(data, "minStock"));
  std::string subject = "Low stock: " + Text(data, "name");
  if (auto sku = Text(data, "sku"); !sku.empty()) subject += " (" + sku + ")";
  return subject;
}

}  // namespace

// A private cache rather than ctemplate's process-wide default one, so that two renderers with
// different directories (tests, or a module run twice) never share templates.
class TemplateRenderer::Engine {
 public:
  explicit Engine(const std::string& directory) { cache_.SetTemplateRootDirectory(directory); }
  ctemplate::TemplateCache& cache() { return cache_; }

 private:
  ctemplate::TemplateCache cache_;  // internally locked: safe to expand from many threads
};

TemplateRenderer::TemplateRenderer(std::string directory)
    : directory_(directory.empty() ? DefaultDirectory() : std::move(directory)),
      engine_(std::make_unique<Engine>(directory_)) {}

TemplateRenderer::~TemplateRenderer() = default;

std::string TemplateRenderer::DefaultDirectory() { return SHOPFLOW_TEMPLATES_DIR; }

std::span<const std::string_view> TemplateRenderer::Names() { return kNames; }

bool TemplateRenderer::IsKnown(std::string_view name) {
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

Result<void> TemplateRenderer::Verify() const {
  std::string missing;
  for (auto name : kNames) {
    if (engine_->cache().FindTemplateFilename(FileName(name)).empty()) {
      missing += (missing.empty() ? "" : ", ") + FileName(name);
    }
  }
  if (missing.empty()) return Ok();
  return UnavailableError("email templates missing from " + directory_ + ": " + missing);
}

Result<RenderedEmail> TemplateRenderer::Render(std::string_view name,
                                               const json::object& data) const {
  if (!IsKnown(name)) return InternalError("unknown email template " + std::string(name));
  const std::string file = FileName(name);
  // Looked up first: ctemplate would otherwise log its own error line to stderr.
  if (engine_->cache().FindTemplateFilename(file).empty()) {
    return InternalError("email template " + file + " not found in " + directory_);
  }
  ctemplate::TemplateDictionary dict(file);
  RenderedEmail out;
  out.subject = Fill(name, data, dict);
  if (!engine_->cache().ExpandWithData(file, ctemplate::STRIP_BLANK_LINES, &dict, nullptr,
                                       &out.html)) {
    return InternalError("email template " + file + " in " + directory_ + " failed to render");
  }
  return out;
}

}  // namespace shopflow::notifications
