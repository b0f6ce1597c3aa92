#include "core/error.hpp"

namespace shopflow {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidationFailed:
      return "validation_failed";
    case ErrorCode::kMalformedJson:
      return "malformed_json";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kValidationFailed:
      return 400;
    case ErrorCode::kMalformedJson:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

Error ValidationError(std::string message, std::vector<ErrorDetail> details) {
  return Error{ErrorCode::kValidationFailed, std::move(message), std::move(details)};
}
Error NotFoundError(std::string message) {
  return Error{ErrorCode::kNotFound, std::move(message), {}};
}
Error ConflictError(std::string message) {
  return Error{ErrorCode::kConflict, std::move(message), {}};
}
Error UnavailableError(std::string message) {
  return Error{ErrorCode::kUnavailable, std::move(message), {}};
}
Error InternalError(std::string message) {
  return Error{ErrorCode::kInternal, std::move(message), {}};
}

}  // namespace shopflow
