#pragma once

#include <string>
#include <string_view>

#include "core/json.hpp"

namespace shopflow {

/// Writes one JSON object into `out` member by member, as ToJsonText would write the object
/// (compact, the same escapes and number forms), without building it first: the hot writers
/// (outbox rows and AMQP bodies, the message log's rows) spent as much building the object as
/// writing it. Members appear in call order; nothing checks for duplicate keys.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
  }
  void Number(std::string_view key, const json::value& value) {
    Key(key);
    AppendJsonValue(out_, value);
  }
  /// Starts a member whose value the caller appends to `out` next (e.g. a nested writer's).
  void Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendJsonString(out_, key);
    out_ += ':';
  }
  void Close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace shopflow
