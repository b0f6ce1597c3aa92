#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/result.hpp"

namespace shopflow::notifications {

/// The email templates (file name = name + ".html" in the templates directory).
namespace templates {
inline constexpr std::string_view kOrderConfirmation = "order-confirmation";
inline constexpr std::string_view kPaymentReceipt = "payment-receipt";
inline constexpr std::string_view kStockAlert = "stock-alert";
inline constexpr std::string_view kOrderFailed = "order-failed";
}  // namespace templates

struct RenderedEmail {
  std::string subject;  // the template's default subject for this data
  std::string html;
};

/// Renders the HTML email templates with ctemplate. The data of each template has the shape of
/// the event that triggers it (EVENT_PAYLOADS.md): an order for order-confirmation and
/// order-failed, a payment (+ customerId) for payment-receipt, a product for stock-alert.
/// Missing fields render empty; amounts render with two decimals; every value is HTML-escaped
/// by the templates (ctemplate's :h modifier).
///
/// Files are read on first use and cached for the renderer's lifetime. Thread-safe.
class TemplateRenderer {
 public:
  /// `directory` holds the *.html files; empty means DefaultDirectory(). Nothing is read yet.
  explicit TemplateRenderer(std::string directory = "");
  ~TemplateRenderer();
  TemplateRenderer(const TemplateRenderer&) = delete;
  TemplateRenderer& operator=(const TemplateRenderer&) = delete;

  /// The templates shipped with the source tree (the path is baked in at build time).
  static std::string DefaultDirectory();
  /// Every template name, in a stable order.
  static std::span<const std::string_view> Names();
  static bool IsKnown(std::string_view name);

  /// Start-up check: kUnavailable naming every template file missing from the directory.
  Result<void> Verify() const;

  /// Renders `name` with `data`. An unknown name, a missing file or a template that does not
  /// parse → kInternal (a deployment problem, not the caller's).
  Result<RenderedEmail> Render(std::string_view name, const json::object& data) const;

  const std::string& directory() const { return directory_; }

 private:
  class Engine;  // ctemplate stays out of this header

  std::string directory_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace shopflow::notifications
