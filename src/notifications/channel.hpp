#pragma once

#include <memory>
#include <string>

#include "core/json.hpp"
#include "core/result.hpp"
#include "notifications/notification.hpp"
#include "notifications/notifications_options.hpp"

namespace shopflow::notifications {

/// What a channel is asked to deliver (built from a stored Notification).
struct OutgoingMessage {
  std::string notification_id;
  NotificationType type = NotificationType::kEmail;
  std::string recipient;
  std::string subject;  // email subject / push title; "" for SMS
  std::string content;  // HTML email body / SMS text / push body
  json::object data;    // push data; empty otherwise

  static OutgoingMessage From(const Notification& notification);
};

/// One way of reaching people (email, SMS, push).
///
/// Send blocks until the message was handed over (or recorded) or failed, bounded by the
/// channel's timeouts. It is never called inside a store write transaction nor on an HTTP I/O
/// thread. Failures are values (kUnavailable for an unreachable or refusing server, kValidation
/// for a message the channel cannot express); implementations do not throw (callers still catch,
/// defensively). Implementations are thread-safe: Send may run concurrently.
class NotificationChannel {
 public:
  virtual ~NotificationChannel() = default;
  virtual Result<void> Send(const OutgoingMessage& message) = 0;

  /// True when Send has no effect outside this process (no gateway configured: the stored
  /// notification is the record). The service then stores such a notification as sent, with its
  /// event, in the write that stores it, instead of storing it pending and settling it after
  /// Send in a second write: with nothing external, there is nothing to lose between the two.
  virtual bool RecordsOnly() const { return false; }
};

/// One channel per NotificationType; none may be null.
struct NotificationChannels {
  std::unique_ptr<NotificationChannel> email;
  std::unique_ptr<NotificationChannel> sms;
  std::unique_ptr<NotificationChannel> push;
};

/// The production channels for `options`: SMTP or recorded-only email, webhook or recorded-only
/// SMS and push.
NotificationChannels MakeChannels(const NotificationsOptions& options);

}  // namespace shopflow::notifications
