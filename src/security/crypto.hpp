#pragma once

#include <string>
#include <string_view>

namespace shopflow::security {

/// RFC 4648 section 5 base64url without padding (the JWT encoding).
std::string Base64UrlEncode(std::string_view bytes);
/// Decodes unpadded base64url; false on any character outside the alphabet, on padding, or on
/// a length that no encoding produces. Non-canonical trailing bits are rejected too, so one
/// token has exactly one spelling.
bool Base64UrlDecode(std::string_view text, std::string& out);

/// HMAC-SHA256 of `message` under `key` (32 raw bytes).
std::string HmacSha256(std::string_view key, std::string_view message);
/// SHA-256 of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view bytes);
/// Compares in time that depends only on the lengths (never on where the inputs differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace shopflow::security
