#pragma once

#include <string>

namespace shopflow {

/// What a use case needs to know about the request that caused it (for event metadata and
/// idempotency), without knowing about HTTP.
struct RequestContext {
  std::string correlation_id;
  std::string idempotency_key;  // "" when the client sent none
  std::string source = "api";
};

}  // namespace shopflow
