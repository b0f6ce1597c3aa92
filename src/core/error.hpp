#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shopflow {

/// The closed set of expected failures. Each maps to exactly one HTTP status and one wire code
/// (API.md "Errors"); see ErrorCodeName and HttpStatusFor.
enum class ErrorCode {
  kValidationFailed,
  kMalformedJson,
  kUnauthorized,
  kForbidden,
  kNotFound,
  kMethodNotAllowed,
  kConflict,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kRateLimited,
  kUnavailable,
  kInternal,
};

/// The wire name of a code, e.g. "validation_failed".
std::string_view ErrorCodeName(ErrorCode code);
/// The HTTP status a code is answered with, e.g. 400.
int HttpStatusFor(ErrorCode code);

/// One problem with one input field; `field` is a path such as "items[1].quantity".
struct ErrorDetail {
  std::string field;
  std::string issue;

  bool operator==(const ErrorDetail&) const = default;
};

/// An expected failure, carried as a value (never thrown).
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<ErrorDetail> details;
};

Error ValidationError(std::string message, std::vector<ErrorDetail> details = {});
Error NotFoundError(std::string message);
Error ConflictError(std::string message);
Error UnavailableError(std::string message);
Error InternalError(std::string message);

}  // namespace shopflow
