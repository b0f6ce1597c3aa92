#include "notifications/mime_message.hpp"

#include <gtest/gtest.h>

namespace shopflow::notifications {
namespace {

TEST(QuotedPrintable, KeepsPlainTextAndUsesCrlf) {
  EXPECT_EQ(EncodeQuotedPrintable("<p>Hello</p>\n<p>World</p>"), "<p>Hello</p>\r\n<p>World</p>");
  EXPECT_EQ(EncodeQuotedPrintable("a\r\nb"), "a\r\nb");
}

TEST(QuotedPrintable, EncodesEqualsNonAsciiTrailingSpaceAndLeadingDot) {
  EXPECT_EQ(EncodeQuotedPrintable("a=b"), "a=3Db");
  EXPECT_EQ(EncodeQuotedPrintable("p\xC3\xA3o"), "p=C3=A3o");
  EXPECT_EQ(EncodeQuotedPrintable("end \nx"), "end=20\r\nx");
  EXPECT_EQ(EncodeQuotedPrintable("a\n.\nb"), "a\r\n=2E\r\nb");
}

TEST(QuotedPrintable, SoftBreaksKeepLinesWithin76Characters) {
  const std::string long_line(300, 'x');
  const std::string encoded = EncodeQuotedPrintable(long_line);
  size_t start = 0;
  std::string decoded;
  while (start < encoded.size()) {
    size_t end = encoded.find("\r\n", start);
    if (end == std::string::npos) end = encoded.size();
    std::string line = encoded.substr(start, end - start);
    EXPECT_LE(line.size(), 76u);
    if (!line.empty() && line.back() == '=') line.pop_back();
    decoded += line;
    start = end + 2;
  }
  EXPECT_EQ(decoded, long_line);
}

TEST(HeaderText, AsciiStaysAndUtf8BecomesEncodedWords) {
  EXPECT_EQ(EncodeHeaderText("Your order 42"), "Your order 42");
  EXPECT_EQ(EncodeHeaderText("Pedido n\xC2\xBA 42"), "=?UTF-8?B?UGVkaWRvIG7CuiA0Mg==?=");
  const std::string long_utf8 = std::string(60, 'a') + "\xC3\xA7";
  const std::string encoded = EncodeHeaderText(long_utf8);
  EXPECT_NE(encoded.find("?=\r\n =?UTF-8?B?"), std::string::npos) << encoded;
}

TEST(HeaderText, LineBreaksCannotInjectHeaders) {
  EXPECT_EQ(EncodeHeaderText("Hi\r\nBcc: victim@example.com"), "Hi  Bcc: victim@example.com");
}

TEST(MailDate, IsRfc5322) {
  EXPECT_EQ(FormatMailDate(FromUnixMillis(1'795'000'000'123)), "Wed, 18 Nov 2026 11:06:40 +0000");
}

TEST(Addresses, BareAddressAndPlausibility) {
  EXPECT_EQ(BareAddress("Shop <shop@example.com>"), "shop@example.com");
  EXPECT_EQ(BareAddress("shop@example.com"), "shop@example.com");
  EXPECT_TRUE(LooksLikeEmailAddress("a@b"));
  EXPECT_TRUE(LooksLikeEmailAddress("first.last+tag@mail.example.com"));
  for (const char* bad :
       {"", "nobody", "@example.com", "a@", "a b@c", "a@b>\r\nRCPT TO:<x@y", "<a@b>", "a@b,c@d"}) {
    EXPECT_FALSE(LooksLikeEmailAddress(bad)) << bad;
  }
}

TEST(HtmlMail, HasHeadersAndAQuotedPrintableHtmlBody) {
  const std::string mail = BuildHtmlMail(
      {"Shop <shop@example.com>", "ana@example.com", "Hello", "id1@shopflow", FromUnixMillis(0)},
      "<p>x=1</p>");
  EXPECT_EQ(mail,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
            "From: Shop <shop@example.com>\r\n"
            "To: ana@example.com\r\n"
            "Subject: Hello\r\n"
            "Message-ID: <id1@shopflow>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "<p>x=3D1</p>\r\n");
}

}  // namespace
}  // namespace shopflow::notifications
