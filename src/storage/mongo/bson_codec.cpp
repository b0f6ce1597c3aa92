#include "storage/mongo/bson_codec.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/clock.hpp"

namespace shopflow::mongo {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// bson_append_* take an int length; keys and strings longer than that cannot be stored.
bool FitsLength(size_t size) { return size < static_cast<size_t>(std::numeric_limits<int>::max()); }

Result<void> AppendValue(bson_t* out, std::string_view key, const json::value& value, int depth);

Result<void> AppendMembers(bson_t* out, const json::object& object, int depth) {
  if (depth > kMaxBsonDepth) {
    return ValidationError("document nests deeper than MongoDB's limit of " +
                           std::to_string(kMaxBsonDepth) + " levels");
  }
  for (const auto& member : object) {
    const std::string key = EncodeKey(member.key());
    if (auto appended = AppendValue(out, key, member.value(), depth); !appended) return appended;
  }
  return Ok();
}

Result<void> AppendArray(bson_t* out, std::string_view key, const json::array& array, int depth) {
  if (depth + 1 > kMaxBsonDepth) {
    return ValidationError("document nests deeper than MongoDB's limit of " +
                           std::to_string(kMaxBsonDepth) + " levels");
  }
  bson_t child;
  if (!bson_append_array_begin(out, key.data(), static_cast<int>(key.size()), &child)) {
    return ValidationError("document is too large for BSON");
  }
  Result<void> result = Ok();
  uint32_t index = 0;
  for (const auto& item : array) {
    // BSON arrays are documents keyed "0", "1", ...
    const char* index_key = nullptr;
    char buffer[16];
    const size_t length = bson_uint32_to_string(index++, &index_key, buffer, sizeof buffer);
    result = AppendValue(&child, std::string_view(index_key, length), item, depth + 1);
    if (!result) break;
  }
  bson_append_array_end(out, &child);
  return result;
}

Result<void> AppendValue(bson_t* out, std::string_view key, const json::value& value, int depth) {
  if (!FitsLength(key.size())) return ValidationError("field name is too long for BSON");
  const char* k = key.data();
  const int klen = static_cast<int>(key.size());
  bool ok = true;
  switch (value.kind()) {
    case json::kind::null:
      ok = bson_append_null(out, k, klen);
      break;
    case json::kind::bool_:
      ok = bson_append_bool(out, k, klen, value.get_bool());
      break;
    case json::kind::int64:
      ok = bson_append_int64(out, k, klen, value.get_int64());
      break;
    case json::kind::uint64: {
      const uint64_t u = value.get_uint64();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        ok = bson_append_int64(out, k, klen, static_cast<int64_t>(u));
      } else {
        bson_decimal128_t dec;
        ok = bson_decimal128_from_string(std::to_string(u).c_str(), &dec) &&
             bson_append_decimal128(out, k, klen, &dec);
      }
      break;
    }
    case json::kind::double_:
      ok = bson_append_double(out, k, klen, value.get_double());
      break;
    case json::kind::string: {
      const json::string& s = value.get_string();
      if (!FitsLength(s.size())) return ValidationError("string is too long for BSON");
      ok = bson_append_utf8(out, k, klen, s.data(), static_cast<int>(s.size()));
      break;
    }
    case json::kind::array:
      return AppendArray(out, key, value.get_array(), depth);
    case json::kind::object: {
      bson_t child;
      if (!bson_append_document_begin(out, k, klen, &child)) {
        return ValidationError("document is too large for BSON");
      }
      auto appended = AppendMembers(&child, value.get_object(), depth + 1);
      bson_append_document_end(out, &child);
      return appended;
    }
  }
  if (!ok) return ValidationError("document is too large for BSON");
  return Ok();
}

// An integral Decimal128 ("18446744073709551615") comes back as the integer it holds; anything
// else as the nearest double. NaN and infinities have no JSON form.
Result<json::value> DecimalToJson(const bson_decimal128_t& dec, std::string_view key) {
  char text[BSON_DECIMAL128_STRING];
  bson_decimal128_to_string(&dec, text);
  const std::string_view view(text);
  const bool negative = view.starts_with('-');
  const std::string_view digits = negative ? view.substr(1) : view;
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
    if (!negative) {
      uint64_t u = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u);
      if (ec == std::errc() && end == digits.data() + digits.size()) {
        if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return json::value(static_cast<int64_t>(u));
        }
        return json::value(u);
      }
    } else {
      int64_t i = 0;
      auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), i);
      if (ec == std::errc() && end == view.data() + view.size()) return json::value(i);
    }
  }
  char* end = nullptr;
  const double d = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(d)) {
    return InternalError("field '" + std::string(key) + "' holds the Decimal128 " + text +
                         ", which has no JSON number form");
  }
  return json::value(d);
}

Result<json::object> ObjectFrom(bson_iter_t* iter, int depth);
Result<json::array> ArrayFrom(bson_iter_t* iter, int depth);

Result<json::value> ValueFrom(const bson_iter_t* iter, int depth) {
  const std::string_view key(bson_iter_key(iter), bson_iter_key_len(iter));
  switch (bson_iter_type(iter)) {
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
      return json::value(nullptr);
    case BSON_TYPE_BOOL:
      return json::value(bson_iter_bool(iter));
    case BSON_TYPE_INT32:
      return json::value(static_cast<int64_t>(bson_iter_int32(iter)));
    case BSON_TYPE_INT64:
      return json::value(bson_iter_int64(iter));
    case BSON_TYPE_DOUBLE:
      return json::value(bson_iter_double(iter));
    case BSON_TYPE_UTF8: {
      uint32_t length = 0;
      const char* text = bson_iter_utf8(iter, &length);
      return json::value(json::string(std::string_view(text, length)));
    }
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t dec;
      bson_iter_decimal128(iter, &dec);
      return DecimalToJson(dec, key);
    }
    case BSON_TYPE_DATE_TIME:
      return json::value(FormatRfc3339(FromUnixMillis(bson_iter_date_time(iter))));
    case BSON_TYPE_OID: {
      char hex[25];
      bson_oid_to_string(bson_iter_oid(iter), hex);
      return json::value(json::string(hex));
    }
    case BSON_TYPE_DOCUMENT: {
      bson_iter_t child;
      if (!bson_iter_recurse(iter, &child)) {
        return InternalError("field '" + DecodeKey(key) + "' holds a corrupt document");
      }
      auto object = ObjectFrom(&child, depth + 1);
      if (!object) return std::move(object).error();
      return json::value(std::move(*object));
    }
    case BSON_TYPE_ARRAY: {
      bson_iter_t child;
      if (!bson_iter_recurse(iter, &child)) {
        return InternalError("field '" + DecodeKey(key) + "' holds a corrupt array");
      }
      auto array = ArrayFrom(&child, depth + 1);
      if (!array) return std::move(array).error();
      return json::value(std::move(*array));
    }
    default:
      return InternalError("field '" + DecodeKey(key) + "' holds BSON type 0x" +
                           std::string(1, kHex[(bson_iter_type(iter) >> 4) & 0xF]) +
                           std::string(1, kHex[bson_iter_type(iter) & 0xF]) +
                           ", which has no JSON equivalent");
  }
}

Result<json::object> ObjectFrom(bson_iter_t* iter, int depth) {
  if (depth > kMaxBsonDepth) return InternalError("stored document nests too deeply");
  json::object object;
  while (bson_iter_next(iter)) {
    auto value = ValueFrom(iter, depth);
    if (!value) return std::move(value).error();
    // Later duplicates win, as in JSON parsers; BSON written by this codec has none.
    object[DecodeKey(std::string_view(bson_iter_key(iter), bson_iter_key_len(iter)))] =
        std::move(*value);
  }
  return object;
}

Result<json::array> ArrayFrom(bson_iter_t* iter, int depth) {
  if (depth > kMaxBsonDepth) return InternalError("stored document nests too deeply");
  json::array array;
  while (bson_iter_next(iter)) {
    auto value = ValueFrom(iter, depth);
    if (!value) return std::move(value).error();
    array.push_back(std::move(*value));
  }
  return array;
}

}  // namespace

std::string EncodeKey(std::string_view key) {
  if (key.empty()) return "%";
  std::string out;
  out.reserve(key.size());
  for (const char c : key) {
    if (c == '%' || c == '.' || c == '$' || c == '\0') {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

std::string DecodeKey(std::string_view key) {
  if (key == "%") return "";
  std::string out;
  out.reserve(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '%' && i + 2 < key.size() && HexValue(key[i + 1]) >= 0 &&
        HexValue(key[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(key[i + 1]) * 16 + HexValue(key[i + 2]));
      i += 2;
    } else {
      out += key[i];
    }
  }
  return out;
}

Result<void> AppendObject(bson_t* out, const json::object& object) {
  return AppendMembers(out, object, 1);
}

Result<BsonPtr> ToBson(const json::object& object) {
  BsonPtr doc(bson_new());
  if (auto appended = AppendObject(doc.get(), object); !appended) {
    return std::move(appended).error();
  }
  return doc;
}

Result<json::object> FromBson(const bson_t* doc) {
  bson_iter_t iter;
  if (!bson_iter_init(&iter, doc)) return InternalError("stored document is not valid BSON");
  return ObjectFrom(&iter, 1);
}

std::string DebugString(const bson_t* doc) {
  size_t length = 0;
  char* text = bson_as_canonical_extended_json(doc, &length);
  if (text == nullptr) return "<invalid BSON>";
  std::string out(text, length);
  bson_free(text);
  return out;
}

std::optional<int64_t> ExpiryMillis(const json::object& doc, std::string_view field) {
  if (field.empty()) return std::nullopt;
  const auto* value = doc.if_contains(field);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  const auto at = ParseRfc3339(value->as_string());
  if (!at) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch()).count();
}

}  // namespace shopflow::mongo
