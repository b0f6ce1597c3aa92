#pragma once

// MONGODB_URL parsing for the MongoDB store: the driver's own parser plus the defaults shopflow
// adds (bounded timeouts, the "ecommerce" database). Needs no server; unit-tested.

#include <mongoc/mongoc.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace shopflow::mongo {

struct UriDeleter {
  void operator()(mongoc_uri_t* uri) const { mongoc_uri_destroy(uri); }
};
using UriPtr = std::unique_ptr<mongoc_uri_t, UriDeleter>;

/// Defaults applied when the URL does not set the option itself: without them the driver waits
/// 30 s to select a server and forever on a silent socket, so a dead server would hang start-up
/// and every request that reaches the store.
inline constexpr int32_t kDefaultServerSelectionTimeoutMs = 5'000;
inline constexpr int32_t kDefaultConnectTimeoutMs = 5'000;
inline constexpr int32_t kDefaultSocketTimeoutMs = 30'000;
/// The seed's database, used when the URL names none.
inline constexpr std::string_view kDefaultDatabase = "ecommerce";

struct MongoUrl {
  UriPtr uri;            // with the defaults above applied
  std::string database;  // from the URL path, or kDefaultDatabase
  std::string redacted;  // the URL with its password replaced by "***", for logs and errors
};

/// mongoc_init once per process, with the driver's log routed to spdlog. ParseMongoUrl calls it.
void InitDriver();

/// Parses a mongodb:// or mongodb+srv:// URL. kValidationFailed (field "MONGODB_URL") naming the
/// problem when the URL is malformed or its database name is not usable.
Result<MongoUrl> ParseMongoUrl(std::string_view url);

/// The URL with the password (between "user:" and '@') replaced by "***"; unchanged without one.
std::string RedactMongoUrl(std::string_view url);

/// Whether `name` is usable as a MongoDB database name (1-63 bytes, none of /\. "$*<>:|?).
bool IsValidDatabaseName(std::string_view name);

}  // namespace shopflow::mongo
