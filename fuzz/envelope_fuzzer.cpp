// The event envelope codec (events/envelope.hpp): what a consumer does with a message body from
// the broker. Parse arbitrary bytes; an accepted envelope must survive serialize → parse
// unchanged, and serializing its metadata is then a fixed point (the second text equals the
// first).

#include <cstddef>
#include <cstdint>

#include "events/envelope.hpp"
#include "fuzz/support/fuzz_input.hpp"

namespace {

void CheckSame(const shopflow::Envelope& a, const shopflow::Envelope& b, std::string_view input) {
  using shopflow::fuzz::Check;
  Check(a.event_type == b.event_type, "eventType changed in a round trip", input);
  Check(shopflow::fuzz::SameJson(a.data, b.data), "data changed in a round trip", input);
  Check(a.metadata.message_id == b.metadata.message_id, "messageId changed", input);
  Check(a.metadata.source == b.metadata.source, "source changed", input);
  Check(a.metadata.correlation_id == b.metadata.correlation_id, "correlationId changed", input);
  Check(a.metadata.causation_id == b.metadata.causation_id, "causationId changed", input);
  Check(a.metadata.version == b.metadata.version, "version changed", input);
  Check(a.metadata.retry_count == b.metadata.retry_count, "retryCount changed", input);
  // Timestamps travel with millisecond precision (FormatRfc3339): finer digits of an incoming
  // message are dropped, the milliseconds must survive.
  Check(
      shopflow::ToUnixMillis(a.metadata.timestamp) == shopflow::ToUnixMillis(b.metadata.timestamp),
      "timestamp changed", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto first = ParseEnvelope(input);
  if (!first) {
    const auto code = first.error().code;
    fuzz::Check(code == ErrorCode::kMalformedJson || code == ErrorCode::kValidationFailed ||
                    code == ErrorCode::kPayloadTooLarge,
                "unexpected refusal", input);
    return 0;
  }
  const std::string text = SerializeEnvelope(*first);
  auto second = ParseEnvelope(text);
  fuzz::Check(second.ok(), "a serialized envelope does not parse back", text);
  CheckSame(*first, *second, input);
  // Everything but the event's data (doubles: see SameJson) serializes to the same text again.
  auto without_data = [](const Envelope& e) {
    auto copy = e;
    copy.data.clear();
    return SerializeEnvelope(copy);
  };
  fuzz::Check(without_data(*second) == without_data(*first), "serializing is not a fixed point",
              text);
  return 0;
}
