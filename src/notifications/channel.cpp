#include "notifications/channel.hpp"

#include "notifications/email_channel.hpp"
#include "notifications/webhook_channel.hpp"

namespace shopflow::notifications {

OutgoingMessage OutgoingMessage::From(const Notification& notification) {
  OutgoingMessage message;
  message.notification_id = notification.notification_id;
  message.type = notification.type;
  message.recipient = notification.recipient;
  message.subject = notification.subject;
  message.content = notification.content;
  if (const auto* data = GetObject(notification.metadata, metadata_keys::kData)) {
    message.data = *data;
  }
  return message;
}

NotificationChannels MakeChannels(const NotificationsOptions& options) {
  NotificationChannels channels;
  channels.email = std::make_unique<EmailChannel>(EmailChannelOptions{
      options.smtp_url, options.smtp_from, options.connect_timeout, options.send_timeout});
  channels.sms = std::make_unique<SmsChannel>(
      WebhookOptions{options.sms_webhook_url, options.connect_timeout, options.send_timeout});
  channels.push = std::make_unique<PushChannel>(
      WebhookOptions{options.push_webhook_url, options.connect_timeout, options.send_timeout});
  return channels;
}

}  // namespace shopflow::notifications
