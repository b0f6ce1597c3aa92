#include "notifications/webhook_channel.hpp"

#include "notifications/curl_transfer.hpp"

namespace shopflow::notifications {
namespace {

Result<void> Post(const WebhookOptions& options, const json::object& payload) {
  if (options.url.empty()) return Ok();
  return PostJson(JsonPost{options.url, ToJsonText(payload),
                           TransferLimits{options.connect_timeout, options.timeout}});
}

}  // namespace

SmsChannel::SmsChannel(WebhookOptions options) : options_(std::move(options)) {}

Result<void> SmsChannel::Send(const OutgoingMessage& message) {
  return Post(options_, json::object{{"notificationId", message.notification_id},
                                     {"to", message.recipient},
                                     {"message", message.content}});
}

PushChannel::PushChannel(WebhookOptions options) : options_(std::move(options)) {}

Result<void> PushChannel::Send(const OutgoingMessage& message) {
  return Post(options_, json::object{{"notificationId", message.notification_id},
                                     {"to", message.recipient},
                                     {"title", message.subject},
                                     {"body", message.content},
                                     {"data", message.data}});
}

}  // namespace shopflow::notifications
