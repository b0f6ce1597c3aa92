#pragma once

#include <array>
#include <string_view>

namespace shopflow {

/// What happened to one event, as the event log's rows (`/api/messages`) and the dashboard's
/// `message_flow` frames name it. A handler's retry is "failed" and its dead-letter
/// "dead_lettered" (also a retry asked for on the last attempt).
namespace message_status {
inline constexpr std::string_view kPublished = "published";
inline constexpr std::string_view kConsumed = "consumed";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kDeadLettered = "dead_lettered";
inline constexpr std::array kAll = {kPublished, kConsumed, kFailed, kDeadLettered};
}  // namespace message_status

/// True for one of the message_status names.
constexpr bool IsMessageStatus(std::string_view status) {
  for (auto s : message_status::kAll) {
    if (s == status) return true;
  }
  return false;
}

}  // namespace shopflow
