#include "notifications/template_renderer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/ids.hpp"

namespace shopflow::notifications {
namespace {

constexpr std::string_view kScript = "<script>alert(\"x\")</script>";
constexpr std::string_view kEscapedScript = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";

json::object Order() {
  return json::object{
      {"orderId", "01JORDER"},
      {"customerId", kScript},
      {"status", "pending"},
      {"items",
       json::array{
           json::object{{"productId", "p1"},
                        {"name", "Pen & <Ink>"},
                        {"quantity", 3},
                        {"price", 1.5},
                        {"total", 4.5}},
           json::object{
               {"productId", "p2"}, {"name", ""}, {"quantity", 1}, {"price", 20}, {"total", 20}}}},
      {"totalAmount", 24.5},
      {"paymentMethod", "pix"},
      {"createdAt", "2026-11-29T14:03:07.123Z"}};
}

void ExpectNoRawScript(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
}

TEST(TemplateRenderer, BuiltInTemplatesAreAllPresent) {
  TemplateRenderer renderer;
  EXPECT_EQ(renderer.directory(), TemplateRenderer::DefaultDirectory());
  EXPECT_TRUE(renderer.Verify().ok());
  EXPECT_EQ(TemplateRenderer::Names().size(), 4u);
  EXPECT_TRUE(TemplateRenderer::IsKnown("stock-alert"));
  EXPECT_FALSE(TemplateRenderer::IsKnown("../secrets"));
}

TEST(TemplateRenderer, OrderConfirmationListsLinesAndEscapesData) {
  TemplateRenderer renderer;
  auto r = renderer.Render(templates::kOrderConfirmation, Order());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, "We received your order 01JORDER");
  ExpectNoRawScript(r->html);
  EXPECT_NE(r->html.find(kEscapedScript), std::string::npos);
  EXPECT_NE(r->html.find("Pen &amp; &lt;Ink&gt;"), std::string::npos);
  EXPECT_NE(r->html.find(">4.50<"), std::string::npos);
  EXPECT_NE(r->html.find(">20.00<"), std::string::npos);
  EXPECT_NE(r->html.find(">24.50<"), std::string::npos);
  EXPECT_NE(r->html.find(">p2<"), std::string::npos);  // a nameless line shows its productId
  EXPECT_NE(r->html.find("pix"), std::string::npos);
  EXPECT_EQ(r->html.find("No items."), std::string::npos);
  EXPECT_EQ(r->html.find("{{"), std::string::npos);
  EXPECT_EQ(r->html.rfind("<!DOCTYPE html>", 0), 0u) << "the comment block renders nothing";
}

TEST(TemplateRenderer, OrderWithoutLinesSaysSo) {
  TemplateRenderer renderer;
  auto r = renderer.Render(templates::kOrderConfirmation, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subject, "We received your order");
  EXPECT_NE(r->html.find("No items."), std::string::npos);
}

TEST(TemplateRenderer, PaymentReceiptShowsAmountMethodAndTransaction) {
  TemplateRenderer renderer;
  json::object payment{{"paymentId", "01JPAY"},
                       {"orderId", "01JORDER"},
                       {"amount", 99.9},
                       {"method", "credit_card"},
                       {"transactionId", "txn_<1>"},
                       {"status", "succeeded"},
                       {"customerId", kScript},
                       {"processedAt", "2026-11-29T14:03:08.000Z"}};
  auto r = renderer.Render(templates::kPaymentReceipt, payment);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, "Payment receipt for order 01JORDER");
  ExpectNoRawScript(r->html);
  EXPECT_NE(r->html.find(kEscapedScript), std::string::npos);
  EXPECT_NE(r->html.find("99.90"), std::string::npos);
  EXPECT_NE(r->html.find("credit_card"), std::string::npos);
  EXPECT_NE(r->html.find("txn_&lt;1&gt;"), std::string::npos);
  EXPECT_NE(r->html.find("01JPAY"), std::string::npos);
}

TEST(TemplateRenderer, StockAlertShowsProductNumbers) {
  TemplateRenderer renderer;
  json::object product{
      {"productId", "01JPROD"}, {"name", kScript}, {"sku", "SKU-1"}, {"stock", 10},
      {"reserved", 8},          {"available", 2},  {"minStock", 5},  {"category", "pens"}};
  auto r = renderer.Render(templates::kStockAlert, product);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, std::string("Low stock: ") + std::string(kScript) + " (SKU-1)");
  ExpectNoRawScript(r->html);
  EXPECT_NE(r->html.find(kEscapedScript), std::string::npos);
  EXPECT_NE(r->html.find("SKU-1"), std::string::npos);
  EXPECT_NE(r->html.find(">2</strong>"), std::string::npos);
  EXPECT_NE(r->html.find("minimum of 5"), std::string::npos);
}

TEST(TemplateRenderer, OrderFailedGivesTheReasonEscaped) {
  TemplateRenderer renderer;
  json::object order = Order();
  order["status"] = "failed";
  order["failureReason"] = "card_declined <b>";
  auto r = renderer.Render(templates::kOrderFailed, order);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->subject, "Your order 01JORDER could not be completed");
  ExpectNoRawScript(r->html);
  EXPECT_NE(r->html.find("card_declined &lt;b&gt;"), std::string::npos);
  json::object by_reason{{"orderId", "o"}, {"reason", "insufficient_stock"}};
  auto r2 = renderer.Render(templates::kOrderFailed, by_reason);
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(r2->html.find("insufficient_stock"), std::string::npos);
}

TEST(TemplateRenderer, MissingFilesAndUnknownNamesAreInternalErrors) {
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("shopflow_tpl_" + NewId());
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(
      std::filesystem::path(TemplateRenderer::DefaultDirectory()) / "stock-alert.html",
      dir / "stock-alert.html");
  {
    TemplateRenderer renderer(dir.string());
    auto verified = renderer.Verify();
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(verified.error().message.find("order-confirmation.html"), std::string::npos);
    EXPECT_EQ(verified.error().message.find("stock-alert.html"), std::string::npos);

    auto missing = renderer.Render(templates::kOrderConfirmation, Order());
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::kInternal);
    EXPECT_TRUE(renderer.Render(templates::kStockAlert, {}).ok());
    auto unknown = renderer.Render("nope", {});
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, ErrorCode::kInternal);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shopflow::notifications
