#include "storage/idempotency.hpp"

#include <cstdio>

namespace shopflow {

CollectionSpec IdempotencyCollection() {
  // createdAt indexed: retention removes the oldest keys by it (storage/store_retention.hpp).
  return CollectionSpec{std::string(kIdempotencyCollection), {"createdAt"}, {}};
}

std::string RequestFingerprint(const json::object& body) {
  const std::string text = ToJsonText(body);
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

namespace {
std::string DocId(std::string_view scope, std::string_view key) {
  return std::string(scope) + ":" + std::string(key);
}
}  // namespace

Result<std::optional<StoredResponse>> FindIdempotentResponse(Transaction& txn,
                                                             std::string_view scope,
                                                             std::string_view key,
                                                             std::string_view fingerprint) {
  auto doc = txn.Get(kIdempotencyCollection, DocId(scope, key));
  if (!doc) return std::move(doc).error();
  if (!doc->has_value()) return std::optional<StoredResponse>();
  const json::object& stored = **doc;
  if (GetString(stored, "fingerprint") != fingerprint) {
    return ConflictError("Idempotency-Key " + std::string(key) +
                         " was already used with a different request");
  }
  StoredResponse response;
  response.status = static_cast<int>(GetInt(stored, "status", 200));
  if (const auto* body = stored.if_contains("body")) response.body = *body;
  return std::optional<StoredResponse>(std::move(response));
}

Result<void> RememberIdempotentResponse(Transaction& txn, std::string_view scope,
                                        std::string_view key, std::string_view fingerprint,
                                        const StoredResponse& response, TimePoint now) {
  json::object doc{{"key", key},
                   {"scope", scope},
                   {"fingerprint", fingerprint},
                   {"status", response.status},
                   {"body", response.body},
                   {"createdAt", FormatRfc3339(now)}};
  return txn.Insert(kIdempotencyCollection, DocId(scope, key), doc);
}

Result<void> ValidateIdempotencyKey(std::string_view key) {
  bool printable = !key.empty() && key.size() <= 255;
  for (unsigned char c : key) printable = printable && c >= 0x21 && c <= 0x7e;
  if (!printable) {
    return ValidationError("invalid Idempotency-Key",
                           {{"Idempotency-Key", "must be 1 to 255 printable ASCII characters"}});
  }
  return Ok();
}

}  // namespace shopflow
