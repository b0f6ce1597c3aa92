#pragma once

// JSON <-> BSON for the MongoDB store. Pure (no server, no driver state), so every rule here is
// unit-tested without MongoDB. <bson/bson.h> is included only by the mongo module's sources.

#include <bson/bson.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/json.hpp"
#include "core/result.hpp"

namespace shopflow::mongo {

/// An owned, heap-allocated BSON document. (Not a std::unique_ptr<bson_t>: bson_t's alignment
/// attribute is dropped on template arguments, which GCC warns about.)
class BsonPtr {
 public:
  explicit BsonPtr(bson_t* doc = nullptr) : doc_(doc) {}
  BsonPtr(BsonPtr&& other) noexcept : doc_(std::exchange(other.doc_, nullptr)) {}
  BsonPtr& operator=(BsonPtr&& other) noexcept {
    std::swap(doc_, other.doc_);
    return *this;
  }
  ~BsonPtr() {
    if (doc_ != nullptr) bson_destroy(doc_);
  }
  bson_t* get() const { return doc_; }

 private:
  bson_t* doc_;
};

/// MongoDB nests documents at most 100 levels deep; deeper JSON is rejected, not truncated.
inline constexpr int kMaxBsonDepth = 100;

/// Field names reach MongoDB escaped, because the server and the driver refuse (or give a path
/// meaning to) keys containing '.', starting with '$', empty, or holding a NUL byte.
/// The encoding is reversible and leaves ordinary names untouched, so the seed's field names
/// ("customerId", "createdAt") are stored as they are:
///   '%' -> "%25", '.' -> "%2E", '$' -> "%24", NUL -> "%00", and the empty key -> "%".
std::string EncodeKey(std::string_view key);
/// The inverse of EncodeKey. A '%' not followed by two hex digits is kept literally (keys
/// written by other tools decode to themselves).
std::string DecodeKey(std::string_view key);

/// Appends every member of `object` to `out`, keys escaped. Types: null, bool, string, double
/// and int64 map to their BSON twins; a uint64 above INT64_MAX (BSON has no unsigned type)
/// becomes a Decimal128 holding the exact integer, which FromBson turns back into a uint64.
/// kValidationFailed when the JSON nests deeper than kMaxBsonDepth.
Result<void> AppendObject(bson_t* out, const json::object& object);
/// A new BSON document holding `object` (see AppendObject).
Result<BsonPtr> ToBson(const json::object& object);

/// The JSON object a BSON document holds, keys unescaped. Besides the types ToBson writes,
/// documents written by other tools are read too: int32 becomes an integer, a date becomes an
/// RFC 3339 string with milliseconds, an ObjectId its 24-digit hex string, undefined null, and a
/// non-integral Decimal128 a double. Any other BSON type (binary, regex, code, timestamp, ...)
/// is kInternal naming the field: silently dropping it would lose data.
Result<json::object> FromBson(const bson_t* doc);

/// The top-level field of a stored document holding its expiry date (a BSON date the TTL index
/// reads); it is the store's, never a document's own, and is dropped when a document is read.
inline constexpr const char* kExpiryField = "_ttl";
/// The time in `doc[field]` (an RFC 3339 string) as milliseconds since the Unix epoch, for the
/// TTL date; nullopt when `field` is empty, absent, not a string or not a valid time.
std::optional<int64_t> ExpiryMillis(const json::object& doc, std::string_view field);

/// The document as canonical extended JSON (for error messages and tests).
std::string DebugString(const bson_t* doc);

}  // namespace shopflow::mongo
