#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "core/result.hpp"

namespace shopflow {

namespace json = boost::json;

/// Limits applied to every parsed document (security: bounded depth and size).
struct JsonLimits {
  size_t max_depth = 32;  // deeper → kMalformedJson (400) naming the limit
  /// Elements of any one array; longer → kPayloadTooLarge (413). No endpoint takes more than a
  /// few hundred items; the bound keeps a small body from becoming a large allocation.
  size_t max_array_length = 10'000;
};

/// Parses text into a JSON value; malformed text → kMalformedJson with the parser's reason;
/// limits as above.
Result<json::value> ParseJson(std::string_view text, JsonLimits limits = {});
/// Serializes compactly; doubles in their shortest round-trip form ("19.99", not "1.999E1").
std::string ToJsonText(const json::value& value);
/// The same for an object or an array, without copying it into a json::value first.
std::string ToJsonText(const json::object& object);
std::string ToJsonText(const json::array& array);
/// `object` with one more member, `key`: `borrowed`, written after its own members without
/// being copied into it (event data in frames and envelopes: copying a json::object allocates
/// every key and string again). `key` must not be one of object's keys.
std::string ToJsonText(const json::object& object, std::string_view key,
                       const json::value& borrowed);

/// Appends JSON text to `out` as ToJsonText writes it, for a writer that builds a document's
/// text member by member instead of building the document first (the message log's rows).
void AppendJsonString(std::string& out, std::string_view text);
void AppendJsonValue(std::string& out, const json::value& value);
void AppendJsonObject(std::string& out, const json::object& object);

/// Convenience accessors that tolerate absence and wrong types (for trusted, stored documents).
std::string GetString(const json::object& obj, std::string_view key,
                      std::string_view fallback = "");
int64_t GetInt(const json::object& obj, std::string_view key, int64_t fallback = 0);
Money GetMoney(const json::object& obj, std::string_view key);
const json::object* GetObject(const json::object& obj, std::string_view key);
const json::array* GetArray(const json::object& obj, std::string_view key);

/// Reads and validates an untrusted request body field by field, collecting every problem as an
/// ErrorDetail instead of stopping at the first. Typical use:
///
///   BodyReader r(body);
///   auto name = r.RequiredString("name");
///   auto stock = r.OptionalInt("stock", 0, 1'000'000'000);
///   r.RejectUnknownFields();
///   if (auto done = r.Finish(); !done) return done.error();
///
/// Each accessor remembers the field as known for RejectUnknownFields().
class BodyReader {
 public:
  explicit BodyReader(const json::object& obj, std::string prefix = "");

  std::optional<std::string> RequiredString(std::string_view field, size_t max_length = 200);
  std::optional<std::string> OptionalString(std::string_view field, size_t max_length = 200);
  std::optional<int64_t> RequiredInt(std::string_view field, int64_t min, int64_t max);
  std::optional<int64_t> OptionalInt(std::string_view field, int64_t min, int64_t max);
  std::optional<Money> RequiredMoney(std::string_view field, Money min, Money max);
  std::optional<Money> OptionalMoney(std::string_view field, Money min, Money max);
  const json::array* RequiredArray(std::string_view field, size_t min_items, size_t max_items);
  const json::object* OptionalObject(std::string_view field);
  /// Marks a field as accepted (and ignored) without reading it.
  void Ignore(std::string_view field);
  /// Marks a field as known but not writable: its presence is an error.
  void RejectIfPresent(std::string_view field, std::string_view why = "is read-only");
  /// Every field not read, ignored or rejected so far becomes an "unknown field" detail.
  void RejectUnknownFields();

  /// Adds a problem found by the caller (cross-field checks).
  void Fail(std::string_view field, std::string issue);
  /// Appends problems collected by a nested reader (array items).
  void Merge(BodyReader&& nested);
  bool has_errors() const { return !details_.empty(); }
  const std::vector<ErrorDetail>& details() const { return details_; }
  /// kValidationFailed naming every problem, or ok.
  Result<void> Finish() const;

 private:
  const json::value* Find(std::string_view field, bool required);
  std::string Path(std::string_view field) const;

  const json::object& obj_;
  std::string prefix_;
  std::vector<std::string> known_;
  std::vector<ErrorDetail> details_;
};

}  // namespace shopflow
