#include "core/json.hpp"

#include <algorithm>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace shopflow {

namespace {
// Recursion is bounded by max_depth, which the parser enforced already.
bool WithinArrayLimit(const json::value& value, size_t max_length) {
  if (value.is_array()) {
    const auto& array = value.get_array();
    if (array.size() > max_length) return false;
    for (const auto& item : array) {
      if (!WithinArrayLimit(item, max_length)) return false;
    }
  } else if (value.is_object()) {
    for (const auto& kv : value.get_object()) {
      if (!WithinArrayLimit(kv.value(), max_length)) return false;
    }
  }
  return true;
}
}  // namespace

Result<json::value> ParseJson(std::string_view text, JsonLimits limits) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = limits.max_depth;
  json::value value = json::parse(text, ec, {}, options);
  if (ec == json::error::too_deep) {
    return Error{ErrorCode::kMalformedJson,
                 "JSON is nested deeper than " + std::to_string(limits.max_depth) + " levels",
                 {}};
  }
  if (ec)
    return Error{ErrorCode::kMalformedJson, "request body is not valid JSON: " + ec.message(), {}};
  if (!WithinArrayLimit(value, limits.max_array_length)) {
    return Error{
        ErrorCode::kPayloadTooLarge,
        "JSON array has more than " + std::to_string(limits.max_array_length) + " elements",
        {}};
  }
  return value;
}

namespace {

bool NeedsEscapeByte(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\';
}

// Whether `text` holds a byte JSON escapes, eight bytes at a time: every string of every stored
// row, event and live frame passes here (a byte-by-byte scan was ~2 % of the process's CPU).
// For a word w, (w - 0x01..01 * n) & ~w & 0x80..80 is non-zero exactly when some byte of w is
// below n (n <= 128); XOR with a repeated byte turns "equals it" into "is zero", i.e. below 1.
bool NeedsEscape(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  const auto below = [](uint64_t w, uint64_t n) { return (w - kOnes * n) & ~w & kHighBits; };
  const char* p = text.data();
  size_t left = text.size();
  for (; left >= 8; p += 8, left -= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    if (below(w, 0x20) | below(w ^ (kOnes * '"'), 1) | below(w ^ (kOnes * '\\'), 1)) return true;
  }
  return std::any_of(p, p + left, NeedsEscapeByte);
}

// Most strings need no escaping: copy them straight in (json::serialize would build a
// temporary std::string per string and per key, a third of the cost of writing a document).
void AppendString(std::string& out, std::string_view text) {
  if (!NeedsEscape(text)) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += json::serialize(json::string_view(text.data(), text.size()));
  }
}

// The object and array overloads exist so that serializing one never goes through a
// json::value: that conversion copies the whole tree (every key and string allocated again),
// which was ~3 % of the process's CPU when every stored document was serialized that way.
void Append(std::string& out, const json::value& value);

void Append(std::string& out, const json::array& array) {
  out += '[';
  bool first = true;
  for (const auto& item : array) {
    if (!first) out += ',';
    first = false;
    Append(out, item);
  }
  out += ']';
}

void Append(std::string& out, const json::object& object) {
  out += '{';
  bool first = true;
  for (const auto& kv : object) {
    if (!first) out += ',';
    first = false;
    AppendString(out, kv.key());
    out += ':';
    Append(out, kv.value());
  }
  out += '}';
}

void Append(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(value.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(value.get_uint64());
      break;
    case json::kind::double_: {
      const double d = value.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, res.ptr);
      break;
    }
    case json::kind::string:
      AppendString(out, value.get_string());
      break;
    case json::kind::array:
      Append(out, value.get_array());
      break;
    case json::kind::object:
      Append(out, value.get_object());
      break;
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) { AppendString(out, text); }
void AppendJsonValue(std::string& out, const json::value& value) { Append(out, value); }
void AppendJsonObject(std::string& out, const json::object& object) { Append(out, object); }

std::string ToJsonText(const json::value& value) {
  std::string out;
  out.reserve(256);
  Append(out, value);
  return out;
}

std::string ToJsonText(const json::object& object) {
  std::string out;
  out.reserve(512);
  Append(out, object);
  return out;
}

std::string ToJsonText(const json::array& array) {
  std::string out;
  out.reserve(256);
  Append(out, array);
  return out;
}

std::string ToJsonText(const json::object& object, std::string_view key,
                       const json::value& borrowed) {
  std::string out;
  out.reserve(512);
  Append(out, object);
  out.pop_back();  // the closing brace
  if (!object.empty()) out += ',';
  AppendString(out, key);
  out += ':';
  Append(out, borrowed);
  out += '}';
  return out;
}

std::string GetString(const json::object& obj, std::string_view key, std::string_view fallback) {
  const auto* v = obj.if_contains(key);
  if (v && v->is_string()) return std::string(v->get_string());
  return std::string(fallback);
}

int64_t GetInt(const json::object& obj, std::string_view key, int64_t fallback) {
  const auto* v = obj.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) {
    // Converting a double outside int64's range is undefined behaviour (UBSan, found by
    // fuzz/envelope on a retryCount of 8e19): such a value is as unusable as a wrong type.
    const double d = v->get_double();
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return static_cast<int64_t>(d);
  }
  return fallback;
}

Money GetMoney(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  if (!v) return Money();
  return Money::FromJson(*v).value_or(Money());
}

const json::object* GetObject(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v ? v->if_object() : nullptr;
}

const json::array* GetArray(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v ? v->if_array() : nullptr;
}

// ---------------------------------------------------------------------------------------------

BodyReader::BodyReader(const json::object& obj, std::string prefix)
    : obj_(obj), prefix_(std::move(prefix)) {}

std::string BodyReader::Path(std::string_view field) const {
  return prefix_.empty() ? std::string(field) : prefix_ + "." + std::string(field);
}

const json::value* BodyReader::Find(std::string_view field, bool required) {
  known_.emplace_back(field);
  const json::value* v = obj_.if_contains(field);
  if (v && v->is_null() && !required) return nullptr;  // explicit null == absent when optional
  if (!v || v->is_null()) {
    if (required) Fail(field, "is required");
    return nullptr;
  }
  return v;
}

void BodyReader::Fail(std::string_view field, std::string issue) {
  details_.push_back(ErrorDetail{Path(field), std::move(issue)});
}

void BodyReader::Merge(BodyReader&& nested) {
  for (auto& d : nested.details_) details_.push_back(std::move(d));
}

namespace {
std::optional<std::string> CheckString(BodyReader& r, std::string_view field, const json::value& v,
                                       size_t max_length) {
  if (!v.is_string()) {
    r.Fail(field, "must be a string");
    return std::nullopt;
  }
  std::string s(v.get_string());
  const bool blank =
      std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
  if (blank) {
    r.Fail(field, "must not be empty");
    return std::nullopt;
  }
  if (s.size() > max_length) {
    r.Fail(field, "must be at most " + std::to_string(max_length) + " characters");
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> CheckInt(BodyReader& r, std::string_view field, const json::value& v,
                                int64_t min, int64_t max) {
  int64_t n;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    r.Fail(field, "must be at most " + std::to_string(max));
    return std::nullopt;
  } else if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
             std::fabs(v.get_double()) < 9e15) {
    n = static_cast<int64_t>(v.get_double());
  } else {
    r.Fail(field, "must be an integer");
    return std::nullopt;
  }
  if (n < min) {
    r.Fail(field, "must be at least " + std::to_string(min));
    return std::nullopt;
  }
  if (n > max) {
    r.Fail(field, "must be at most " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<Money> CheckMoney(BodyReader& r, std::string_view field, const json::value& v,
                                Money min, Money max) {
  if (!v.is_number()) {
    r.Fail(field, "must be a number");
    return std::nullopt;
  }
  auto m = Money::FromJson(v);
  if (!m) {
    r.Fail(field, "must have at most 2 decimal places");
    return std::nullopt;
  }
  if (*m < min || *m > max) {
    r.Fail(field, "is out of range");
    return std::nullopt;
  }
  return m;
}
}  // namespace

std::optional<std::string> BodyReader::RequiredString(std::string_view field, size_t max_length) {
  const auto* v = Find(field, true);
  return v ? CheckString(*this, field, *v, max_length) : std::nullopt;
}
std::optional<std::string> BodyReader::OptionalString(std::string_view field, size_t max_length) {
  const auto* v = Find(field, false);
  return v ? CheckString(*this, field, *v, max_length) : std::nullopt;
}
std::optional<int64_t> BodyReader::RequiredInt(std::string_view field, int64_t min, int64_t max) {
  const auto* v = Find(field, true);
  return v ? CheckInt(*this, field, *v, min, max) : std::nullopt;
}
std::optional<int64_t> BodyReader::OptionalInt(std::string_view field, int64_t min, int64_t max) {
  const auto* v = Find(field, false);
  return v ? CheckInt(*this, field, *v, min, max) : std::nullopt;
}
std::optional<Money> BodyReader::RequiredMoney(std::string_view field, Money min, Money max) {
  const auto* v = Find(field, true);
  return v ? CheckMoney(*this, field, *v, min, max) : std::nullopt;
}
std::optional<Money> BodyReader::OptionalMoney(std::string_view field, Money min, Money max) {
  const auto* v = Find(field, false);
  return v ? CheckMoney(*this, field, *v, min, max) : std::nullopt;
}

const json::array* BodyReader::RequiredArray(std::string_view field, size_t min_items,
                                             size_t max_items) {
  const auto* v = Find(field, true);
  if (!v) return nullptr;
  if (!v->is_array()) {
    Fail(field, "must be an array");
    return nullptr;
  }
  const auto& arr = v->get_array();
  if (arr.size() < min_items) {
    Fail(field, "must have at least " + std::to_string(min_items) + " item(s)");
    return nullptr;
  }
  if (arr.size() > max_items) {
    Fail(field, "must have at most " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return &arr;
}

const json::object* BodyReader::OptionalObject(std::string_view field) {
  const auto* v = Find(field, false);
  if (!v) return nullptr;
  if (!v->is_object()) {
    Fail(field, "must be an object");
    return nullptr;
  }
  return &v->get_object();
}

void BodyReader::Ignore(std::string_view field) { known_.emplace_back(field); }

void BodyReader::RejectIfPresent(std::string_view field, std::string_view why) {
  known_.emplace_back(field);
  if (obj_.contains(field)) Fail(field, std::string(why));
}

void BodyReader::RejectUnknownFields() {
  for (const auto& kv : obj_) {
    const std::string_view key = kv.key();
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      Fail(key, "is not a known field");
    }
  }
}

Result<void> BodyReader::Finish() const {
  if (details_.empty()) return Ok();
  std::string message = "invalid request: ";
  for (size_t i = 0; i < details_.size(); ++i) {
    if (i) message += "; ";
    message += details_[i].field + " " + details_[i].issue;
  }
  return ValidationError(std::move(message), details_);
}

}  // namespace shopflow
