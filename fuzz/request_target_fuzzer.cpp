// ParseRequestTarget (percent-decoding of the path, the segments and the query) and
// IsAcceptableCorrelationId, on arbitrary bytes.
// Checked: an accepted target is origin-form (starts with '/'); nothing decoded holds a NUL;
// without an encoded '/', "/" + the segments joined by '/' is the decoded path; an accepted
// correlation id is 1..128 printable ASCII characters without spaces; the plain-path shortcut
// answers exactly what the general (Boost.URL) parse answers.

#include <cstddef>
#include <cstdint>

#include "fuzz/support/fuzz_input.hpp"
#include "http/request_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow;
  using fuzz::Check;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (IsAcceptableCorrelationId(input)) {
    Check(!input.empty() && input.size() <= 128, "correlation id length", input);
    for (char c : input) Check(c > 0x20 && c < 0x7F, "correlation id character", input);
  }

  auto parsed = ParseRequestTarget(input);
  auto general = ParseRequestTargetGeneral(input);
  Check(parsed.ok() == general.ok(), "the plain-path shortcut and the general parse disagree",
        input);
  if (parsed && general) {
    Check(parsed->path == general->path && parsed->segments == general->segments &&
              parsed->query == general->query,
          "the plain-path shortcut and the general parse disagree", input);
  }
  if (!parsed) {
    Check(parsed.error().code == ErrorCode::kValidationFailed, "refusal is not a 400", input);
    return 0;
  }
  Check(input.starts_with('/'), "accepted a target that is not origin-form", input);
  Check(parsed->path.starts_with('/'), "decoded path does not start with '/'", input);
  Check(parsed->path.find('\0') == std::string::npos, "NUL in the path", input);
  for (const auto& s : parsed->segments) Check(s.find('\0') == std::string::npos, "NUL", input);
  for (const auto& [k, v] : parsed->query) {
    Check(k.find('\0') == std::string::npos && v.find('\0') == std::string::npos, "NUL", input);
  }

  const std::string_view path_part = input.substr(0, input.find('?'));
  bool encoded_slash = false;
  for (size_t i = 0; i + 2 < path_part.size(); ++i) {
    if (path_part[i] == '%' && path_part[i + 1] == '2' && (path_part[i + 2] | 0x20) == 'f') {
      encoded_slash = true;
    }
  }
  if (!encoded_slash) {
    std::string joined;
    for (const auto& s : parsed->segments) joined += "/" + s;
    if (joined.empty()) joined = "/";
    Check(joined == parsed->path || joined + "/" == parsed->path,
          "segments do not add up to the path", input);
  }
  return 0;
}
