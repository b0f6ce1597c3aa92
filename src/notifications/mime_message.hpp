#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace shopflow::notifications {

/// The header fields of one HTML email.
struct MailHeaders {
  std::string from;        // "addr" or "Name <addr>"
  std::string to;          // a bare address
  std::string subject;     // UTF-8; encoded as RFC 2047 words when not plain ASCII
  std::string message_id;  // without angle brackets, e.g. "01J...@shopflow"
  TimePoint date{};
};

/// A complete RFC 5322 / MIME message: the headers, then `html` as a text/html UTF-8 body in
/// quoted-printable (any line length, any bytes). CRLF line ends throughout; control
/// characters in header values are replaced by spaces, so no header can be injected.
std::string BuildHtmlMail(const MailHeaders& headers, std::string_view html);

/// RFC 2045 quoted-printable with CRLF hard breaks (any input line end becomes CRLF) and soft
/// breaks keeping lines within 76 characters. A '.' starting a line is encoded (=2E), so the
/// body never depends on SMTP dot-stuffing.
std::string EncodeQuotedPrintable(std::string_view text);

/// A header value: as is when printable ASCII, else RFC 2047 "=?UTF-8?B?...?=" words (split on
/// UTF-8 character boundaries, folded).
std::string EncodeHeaderText(std::string_view text);

/// RFC 5322 date in UTC, e.g. "Sun, 29 Nov 2026 14:03:07 +0000".
std::string FormatMailDate(TimePoint t);

/// The address of a mailbox: "shop@x.org" for both "shop@x.org" and "Shop <shop@x.org>".
std::string_view BareAddress(std::string_view mailbox);

/// True for "local@domain" with both parts non-empty, at most 254 bytes, and none of the
/// characters that would let it break out of an SMTP command or a header (controls, spaces,
/// '<', '>', ',', ';', '"', '\\'). Deliberately permissive otherwise (API.md asks for
/// "something@something").
bool LooksLikeEmailAddress(std::string_view address);

}  // namespace shopflow::notifications
