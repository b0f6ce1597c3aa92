#include "notifications/mime_message.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace shopflow::notifications {
namespace {

constexpr size_t kMaxEncodedLine = 76;  // RFC 2045, including the soft-break '='
constexpr char kHex[] = "0123456789ABCDEF";

std::string HeaderSafe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 32 || c == 127) c = ' ';
  }
  return out;
}

bool IsPlainAscii(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 32 || c > 126) return false;
  }
  return true;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    const bool two = i + 1 < bytes.size();
    if (two) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += two ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string EncodeQuotedPrintable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t line = 0;  // characters on the current encoded line
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      line = 0;
      continue;
    }
    // Break before any piece (at most 3 characters) that could overflow the line, so the
    // decision below about the line's first character is made on the final layout.
    if (line + 3 > kMaxEncodedLine - 1) {
      out += "=\r\n";
      line = 0;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const bool encode = c == '=' || c > 126 || (c < 32 && c != '\t') ||
                        ((c == ' ' || c == '\t') && line_end) || (c == '.' && line == 0);
    if (encode) {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 15];
      line += 3;
    } else {
      out += static_cast<char>(c);
      line += 1;
    }
  }
  return out;
}

std::string EncodeHeaderText(std::string_view text) {
  const std::string safe = HeaderSafe(text);
  if (IsPlainAscii(safe)) return safe;
  // Encoded words hold at most 75 characters: 45 input bytes become 60 base64 characters plus
  // the 12 of "=?UTF-8?B?" and "?=". A chunk never ends inside a UTF-8 sequence.
  constexpr size_t kChunk = 45;
  std::string out;
  size_t start = 0;
  while (start < safe.size()) {
    size_t end = std::min(start + kChunk, safe.size());
    while (end < safe.size() && end > start &&
           (static_cast<unsigned char>(safe[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (end == start) end = std::min(start + kChunk, safe.size());  // not UTF-8: cut anyway
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(std::string_view(safe).substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

std::string FormatMailDate(TimePoint t) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[static_cast<size_t>(utc.tm_wday) % 7], utc.tm_mday,
                kMonths[static_cast<size_t>(utc.tm_mon) % 12], utc.tm_year + 1900, utc.tm_hour,
                utc.tm_min, utc.tm_sec);
  return buffer;
}

std::string_view BareAddress(std::string_view mailbox) {
  const size_t open = mailbox.rfind('<');
  const size_t close = mailbox.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return mailbox.substr(open + 1, close - open - 1);
  }
  return mailbox;
}

bool LooksLikeEmailAddress(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  for (unsigned char c : address) {
    if (c <= 32 || c == 127 || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
        c == '\\') {
      return false;
    }
  }
  const size_t at = address.rfind('@');
  return at != std::string_view::npos && at > 0 && at + 1 < address.size();
}

std::string BuildHtmlMail(const MailHeaders& headers, std::string_view html) {
  std::string out;
  out.reserve(html.size() + html.size() / 8 + 512);
  out += "Date: " + FormatMailDate(headers.date) + "\r\n";
  out += "From: " + HeaderSafe(headers.from) + "\r\n";
  out += "To: " + HeaderSafe(headers.to) + "\r\n";
  out += "Subject: " + EncodeHeaderText(headers.subject) + "\r\n";
  if (!headers.message_id.empty()) {
    out += "Message-ID: <" + HeaderSafe(headers.message_id) + ">\r\n";
  }
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/html; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n";
  out += "\r\n";
  out += EncodeQuotedPrintable(html);
  out += "\r\n";
  return out;
}

}  // namespace shopflow::notifications
