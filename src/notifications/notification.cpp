#include "notifications/notification.hpp"

#include <array>
#include <utility>

#include "events/event_types.hpp"

namespace shopflow::notifications {
namespace {

constexpr std::array<std::pair<NotificationType, std::string_view>, 3> kTypeNames{{
    {NotificationType::kEmail, "email"},
    {NotificationType::kSms, "sms"},
    {NotificationType::kPush, "push"},
}};

constexpr std::array<std::pair<NotificationStatus, std::string_view>, 3> kStatusNames{{
    {NotificationStatus::kPending, "pending"},
    {NotificationStatus::kSent, "sent"},
    {NotificationStatus::kFailed, "failed"},
}};

}  // namespace

std::string_view TypeName(NotificationType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  return "email";
}

std::optional<NotificationType> ParseType(std::string_view name) {
  for (const auto& [t, n] : kTypeNames) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::string_view StatusName(NotificationStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "pending";
}

std::optional<NotificationStatus> ParseStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

void Notification::RecordOutcome(const Result<void>& outcome, TimePoint now) {
  if (outcome) {
    status = NotificationStatus::kSent;
    sent_at = now;
    metadata.erase(metadata_keys::kFailureReason);
  } else {
    status = NotificationStatus::kFailed;
    sent_at.reset();
    metadata[metadata_keys::kFailureReason] = outcome.error().message;
  }
}

namespace {
// The document's members in API order, with `body` (content or its length) under `body_key`.
json::object Members(const Notification& n, std::string_view body_key, json::value body) {
  return json::object{
      {"notificationId", n.notification_id},
      {"type", TypeName(n.type)},
      {"recipient", n.recipient},
      {"subject", n.subject},
      {body_key, std::move(body)},
      {"status", StatusName(n.status)},
      {"eventTrigger", n.event_trigger},
      {"sentAt", n.sent_at ? json::value(FormatRfc3339(*n.sent_at)) : json::value()},
      {"metadata", n.metadata}};
}
}  // namespace

json::object Notification::ToJson() const {
  return Members(*this, "content", json::value(content));
}

json::object Notification::ToEventData() const {
  return Members(*this, "contentLength", json::value(content.size()));
}

Result<Notification> Notification::FromJson(const json::object& doc) {
  Notification n;
  n.notification_id = GetString(doc, "notificationId");
  if (n.notification_id.empty()) return InternalError("stored notification has no notificationId");
  auto type = ParseType(GetString(doc, "type"));
  auto status = ParseStatus(GetString(doc, "status"));
  if (!type || !status) {
    return InternalError("stored notification " + n.notification_id + " has a bad type or status");
  }
  n.type = *type;
  n.status = *status;
  n.recipient = GetString(doc, "recipient");
  n.subject = GetString(doc, "subject");
  n.content = GetString(doc, "content");
  n.event_trigger = GetString(doc, "eventTrigger");
  if (auto sent = GetString(doc, "sentAt"); !sent.empty()) n.sent_at = ParseRfc3339(sent);
  if (const auto* metadata = GetObject(doc, "metadata")) n.metadata = *metadata;
  return n;
}

std::string_view SettledEventType(const Notification& notification) {
  switch (notification.status) {
    case NotificationStatus::kPending:
      return "";
    case NotificationStatus::kFailed:
      return events::kNotificationFailed;
    case NotificationStatus::kSent:
      break;
  }
  switch (notification.type) {
    case NotificationType::kEmail:
      return events::kNotificationEmailSent;
    case NotificationType::kSms:
      return events::kNotificationSmsSent;
    case NotificationType::kPush:
      return events::kNotificationPushSent;
  }
  return events::kNotificationFailed;
}

}  // namespace shopflow::notifications
