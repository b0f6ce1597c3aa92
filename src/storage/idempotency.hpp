#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "storage/store.hpp"

namespace shopflow {

/// Idempotency-Key support (API.md "Conventions"): the first response to a key is stored in the
/// same transaction as the effect it describes; a repeat with the same request replays it, a
/// repeat with a different request is a conflict. Because the check and the record happen inside
/// one write transaction, concurrent repeats are serialized by the store and create nothing new.
inline constexpr std::string_view kIdempotencyCollection = "idempotency_keys";

CollectionSpec IdempotencyCollection();

/// A stable fingerprint of a request body (hex of a 64-bit FNV-1a over its compact JSON text).
std::string RequestFingerprint(const json::object& body);

struct StoredResponse {
  int status = 200;
  json::value body;
};

/// Inside a write: the stored response for (scope, key) when the fingerprint matches, nullopt
/// when the key is new, kConflict when the key was used with a different request.
Result<std::optional<StoredResponse>> FindIdempotentResponse(Transaction& txn,
                                                             std::string_view scope,
                                                             std::string_view key,
                                                             std::string_view fingerprint);
/// Inside the same write: remembers the response for (scope, key).
Result<void> RememberIdempotentResponse(Transaction& txn, std::string_view scope,
                                        std::string_view key, std::string_view fingerprint,
                                        const StoredResponse& response, TimePoint now);

/// Checks the Idempotency-Key header value: 1..255 printable ASCII characters.
Result<void> ValidateIdempotencyKey(std::string_view key);

}  // namespace shopflow
