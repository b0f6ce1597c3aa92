#include "storage/mongo/mongo_url.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

namespace shopflow::mongo {
namespace {

// The driver logs to stderr by default; its messages go to the process log instead (its
// "info" chatter at debug level).
void ForwardDriverLog(mongoc_log_level_t level, const char* domain, const char* message, void*) {
  switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
      spdlog::error("mongoc {}: {}", domain, message);
      break;
    case MONGOC_LOG_LEVEL_WARNING:
      spdlog::warn("mongoc {}: {}", domain, message);
      break;
    case MONGOC_LOG_LEVEL_TRACE:
      break;
    default:
      spdlog::debug("mongoc {}: {}", domain, message);
      break;
  }
}

}  // namespace

void InitDriver() {
  static std::once_flag once;
  std::call_once(once, [] {
    mongoc_log_set_handler(ForwardDriverLog, nullptr);
    mongoc_init();
  });
}

std::string RedactMongoUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t authority = scheme + 3;
  // The userinfo ends at the last '@' before the path: passwords may contain '@' only
  // percent-encoded, but a raw one must not leak either.
  const size_t path = url.find('/', authority);
  const std::string_view head = url.substr(
      authority, path == std::string_view::npos ? std::string_view::npos : path - authority);
  const size_t at = head.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = head.find(':');
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  std::string out(url.substr(0, authority + colon + 1));
  out += "***";
  out += url.substr(authority + at);
  return out;
}

bool IsValidDatabaseName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  return name.find_first_of("/\\. \"$*<>:|?") == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<MongoUrl> ParseMongoUrl(std::string_view url) {
  InitDriver();  // the URI parser needs the driver initialized
  const std::string redacted = RedactMongoUrl(url);
  if (!url.starts_with("mongodb://") && !url.starts_with("mongodb+srv://")) {
    return ValidationError("MONGODB_URL must start with mongodb:// or mongodb+srv://",
                           {{"MONGODB_URL", "is not a MongoDB URL: " + redacted}});
  }
  bson_error_t error;
  UriPtr uri(mongoc_uri_new_with_error(std::string(url).c_str(), &error));
  if (!uri) {
    return ValidationError("MONGODB_URL is not a valid MongoDB URL: " + std::string(error.message),
                           {{"MONGODB_URL", error.message}});
  }
  const struct {
    const char* option;
    int32_t value;
  } defaults[] = {
      {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, kDefaultServerSelectionTimeoutMs},
      {MONGOC_URI_CONNECTTIMEOUTMS, kDefaultConnectTimeoutMs},
      {MONGOC_URI_SOCKETTIMEOUTMS, kDefaultSocketTimeoutMs},
  };
  for (const auto& d : defaults) {
    if (!mongoc_uri_has_option(uri.get(), d.option)) {
      mongoc_uri_set_option_as_int32(uri.get(), d.option, d.value);
    }
  }
  const char* db = mongoc_uri_get_database(uri.get());
  std::string database = db != nullptr && *db != '\0' ? db : std::string(kDefaultDatabase);
  if (!IsValidDatabaseName(database)) {
    return ValidationError("MONGODB_URL names an unusable database '" + database + "'",
                           {{"MONGODB_URL",
                             "database name must be 1-63 characters without "
                             "/\\. \"$*<>:|?"}});
  }
  return MongoUrl{std::move(uri), std::move(database), redacted};
}

}  // namespace shopflow::mongo
