// The JSON request decoding every body goes through (core/json.hpp): ParseJson with the request
// limits, then a BodyReader reading every kind of field the API declares. Checked: parse →
// serialize → parse is the identity; the limits hold (depth, array length); the reader never
// throws, reports what it refused as details, and Finish() agrees with has_errors().

#include <cstddef>
#include <cstdint>

#include "core/json.hpp"
#include "fuzz/support/fuzz_input.hpp"

namespace {

size_t Depth(const shopflow::json::value& v) {
  size_t deepest = 0;
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) deepest = std::max(deepest, Depth(kv.value()));
    return deepest + 1;
  }
  if (const auto* a = v.if_array()) {
    for (const auto& item : *a) deepest = std::max(deepest, Depth(item));
    return deepest + 1;
  }
  return 0;
}

size_t LongestArray(const shopflow::json::value& v) {
  size_t longest = 0;
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) longest = std::max(longest, LongestArray(kv.value()));
  } else if (const auto* a = v.if_array()) {
    longest = a->size();
    for (const auto& item : *a) longest = std::max(longest, LongestArray(item));
  }
  return longest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow;
  using fuzz::Check;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const JsonLimits limits;
  auto parsed = ParseJson(input, limits);
  if (!parsed) {
    const auto code = parsed.error().code;
    Check(code == ErrorCode::kMalformedJson || code == ErrorCode::kPayloadTooLarge,
          "unexpected refusal", input);
    Check(!parsed.error().message.empty(), "a refusal without a message", input);
    return 0;
  }
  Check(Depth(*parsed) <= limits.max_depth, "depth limit not enforced", input);
  Check(LongestArray(*parsed) <= limits.max_array_length, "array limit not enforced", input);

  const std::string text = ToJsonText(*parsed);
  auto again = ParseJson(text, limits);
  Check(again.ok(), "serialized JSON does not parse back", text);
  Check(fuzz::SameJson(*again, *parsed), "parse → serialize → parse changed the value", text);

  const auto* obj = parsed->if_object();
  if (!obj) return 0;
  // Field names a body might carry, read as every type the API uses.
  BodyReader r(*obj);
  (void)r.RequiredString("name", 200);
  (void)r.OptionalString("description", 20);
  (void)r.RequiredInt("quantity", 1, 10'000);
  (void)r.OptionalInt("limit", -5, 5);
  (void)r.RequiredMoney("price", Money(), Money::FromCents(100'000'000));
  (void)r.OptionalMoney("amount", Money::FromCents(-100), Money::FromCents(100));
  if (const auto* items = r.RequiredArray("items", 1, 3)) {
    for (size_t i = 0; i < items->size(); ++i) {
      if (!(*items)[i].is_object()) continue;
      BodyReader item((*items)[i].get_object(), "items[" + std::to_string(i) + "]");
      (void)item.RequiredString("productId", 64);
      (void)item.RequiredInt("quantity", 1, 10'000);
      item.RejectUnknownFields();
      r.Merge(std::move(item));
    }
  }
  (void)r.OptionalObject("metadata");
  r.Ignore("total");
  r.RejectIfPresent("createdAt");
  r.RejectUnknownFields();
  auto done = r.Finish();
  Check(done.ok() == !r.has_errors(), "Finish() disagrees with has_errors()", input);
  if (!done) {
    Check(done.error().code == ErrorCode::kValidationFailed, "not validation_failed", input);
    Check(!done.error().details.empty(), "validation_failed without details", input);
    for (const auto& d : done.error().details) {
      // (The field may be "": a body may carry a key named "", reported as unknown.)
      Check(!d.issue.empty(), "a detail without an issue", input);
    }
  }
  return 0;
}
