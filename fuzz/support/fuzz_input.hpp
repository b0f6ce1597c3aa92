#pragma once

// Shared by the fuzz targets: splitting an input into a selector and a payload, and the checks
// every HTTP answer must pass whatever the input (API.md "Errors": bad input is a clear JSON
// error with a 4xx status, never a crash and never a 500).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "core/api.hpp"
#include "core/json.hpp"

namespace shopflow::fuzz {

/// Stops the run with a message: libFuzzer treats the abort as a crash and saves the input.
[[noreturn]] inline void Fail(std::string_view what, std::string_view detail = "") {
  std::fprintf(stderr, "fuzz invariant broken: %.*s %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void Check(bool condition, std::string_view what, std::string_view detail = "") {
  if (!condition) Fail(what, detail);
}

/// An input whose first byte picks one of `choices` things to do with the rest. Seeds start with
/// an ASCII digit ('0' picks the first), which keeps the corpus files readable.
struct Selected {
  size_t choice = 0;
  std::string_view payload;
};

inline Selected Select(const uint8_t* data, size_t size, size_t choices) {
  if (size == 0) return {0, {}};
  const auto first = static_cast<uint8_t>(data[0] - '0');
  return {first % choices, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

/// JSON equality where numbers compare by value: ToJsonText writes a double in its shortest form
/// ("1" for 1.0), which reads back as an integer; both are the same JSON number.
/// A non-finite double (a literal like 1e999) is written as null, on purpose. Doubles may differ
/// in the last bits: Boost.JSON 1.81 parses decimal text to a double within an ulp or so, not
/// always to the nearest one (1e-320 → "1e-320" → a neighbour), which shopflow does not control.
inline bool SameJson(const json::value& a, const json::value& b) {
  if (a.is_double() && !std::isfinite(a.get_double())) return b.is_null();
  if (b.is_double() && !std::isfinite(b.get_double())) return a.is_null();
  if (a.is_number() && b.is_number()) {
    if (!a.is_double() && !b.is_double()) return a == b;  // int64 and uint64 compare by value
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    if (x == y) return true;
    if (std::signbit(x) != std::signbit(y)) return false;
    int64_t bx = 0;
    int64_t by = 0;
    std::memcpy(&bx, &x, sizeof x);
    std::memcpy(&by, &y, sizeof y);
    return std::llabs(bx - by) <= 4;  // ulps apart
  }
  if (a.kind() != b.kind()) return false;
  if (const auto* oa = a.if_object()) {
    const auto& ob = b.get_object();
    if (oa->size() != ob.size()) return false;
    for (const auto& kv : *oa) {
      const auto* other = ob.if_contains(kv.key());
      if (!other || !SameJson(kv.value(), *other)) return false;
    }
    return true;
  }
  if (const auto* aa = a.if_array()) {
    const auto& ab = b.get_array();
    if (aa->size() != ab.size()) return false;
    for (size_t i = 0; i < aa->size(); ++i) {
      if (!SameJson((*aa)[i], ab[i])) return false;
    }
    return true;
  }
  return a == b;
}

/// The answer of a route handler to an arbitrary body: a JSON document, a status the API uses,
/// never a 5xx (a 500 means a handler threw or a use case failed on input it should have
/// refused), and for a 4xx the error shape of API.md.
inline void CheckAnswer(const ApiResponse& answer, std::string_view input) {
  if (answer.status < 200 || answer.status >= 500) {
    std::fprintf(stderr, "status %d, body %s\n", answer.status, ToJsonText(answer.body).c_str());
    Fail("handler answered a status outside 2xx-4xx for input", input);
  }
  if (answer.raw_body) return;
  const std::string text = ToJsonText(answer.body);
  auto reparsed = ParseJson(text);
  Check(reparsed.ok(), "the answer does not parse back", text);
  if (answer.status < 400) return;
  const auto* obj = answer.body.if_object();
  Check(obj != nullptr, "error answer is not an object", text);
  const auto* error = GetObject(*obj, "error");
  Check(error != nullptr, "error answer has no error object", text);
  Check(!GetString(*error, "code").empty(), "error has no code", text);
  Check(!GetString(*error, "message").empty(), "error has no message", text);
  if (const auto* details = error->if_contains("details")) {
    Check(details->is_array(), "error details is not an array", text);
  }
}

}  // namespace shopflow::fuzz
