#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"

namespace shopflow::notifications {

inline constexpr std::string_view kNotificationsCollection = "notifications";

/// The channel a notification goes through (API.md "Notification".type).
enum class NotificationType { kEmail, kSms, kPush };
/// `pending` from the moment it is stored until its channel answered; then `sent` or `failed`.
enum class NotificationStatus { kPending, kSent, kFailed };

std::string_view TypeName(NotificationType type);
std::optional<NotificationType> ParseType(std::string_view name);
std::string_view StatusName(NotificationStatus status);
std::optional<NotificationStatus> ParseStatus(std::string_view name);

/// eventTrigger of notifications requested through the HTTP API.
inline constexpr std::string_view kApiTrigger = "api";

/// Well-known keys of Notification::metadata.
namespace metadata_keys {
inline constexpr std::string_view kCorrelationId = "correlationId";
/// messageId of the event that caused the notification (absent for API requests).
inline constexpr std::string_view kCausationId = "causationId";
inline constexpr std::string_view kOrderId = "orderId";
inline constexpr std::string_view kPaymentId = "paymentId";
inline constexpr std::string_view kProductId = "productId";
inline constexpr std::string_view kTemplate = "template";
inline constexpr std::string_view kFailureReason = "failureReason";
inline constexpr std::string_view kCreatedAt = "createdAt";  // RFC 3339
inline constexpr std::string_view kData = "data";            // a push notification's data
}  // namespace metadata_keys

/// One message to one recipient and what became of it. ToJson() is API.md's "Notification"
/// shape, which is also the stored document and the data of the NOTIFICATION_* events.
struct Notification {
  std::string notification_id;
  NotificationType type = NotificationType::kEmail;
  std::string recipient;  // email address, phone number or device/user token
  std::string subject;    // email subject or push title; "" for SMS
  std::string content;    // HTML email body, SMS text or push body
  NotificationStatus status = NotificationStatus::kPending;
  std::string event_trigger;  // the eventType that caused it, or "api"
  std::optional<TimePoint> sent_at;
  json::object metadata;

  /// Marks the channel's answer: `sent` with sentAt = now, or `failed` with
  /// metadata.failureReason = the error's message.
  void RecordOutcome(const Result<void>& outcome, TimePoint now);

  json::object ToJson() const;
  /// The data of its NOTIFICATION_* event: ToJson() with `content` replaced by `contentLength`
  /// (its size in bytes). A rendered email is kilobytes of HTML that every observer of the
  /// event (outbox, event log, live feed) would otherwise carry; the stored notification keeps it.
  json::object ToEventData() const;
  /// Reads a stored document; malformed → kInternal (stored data is trusted but checked).
  static Result<Notification> FromJson(const json::object& doc);
};

/// The event announcing a settled notification: NOTIFICATION_EMAIL_SENT / _SMS_SENT / _PUSH_SENT
/// when `sent`, NOTIFICATION_FAILED when `failed` ("" while `pending`).
std::string_view SettledEventType(const Notification& notification);

}  // namespace shopflow::notifications
