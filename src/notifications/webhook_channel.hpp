#pragma once

#include <chrono>
#include <string>

#include "notifications/channel.hpp"

namespace shopflow::notifications {

struct WebhookOptions {
  std::string url;  // http(s)://...; empty: record only
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{20000};
};

/// SMS through an HTTP gateway: POSTs {"notificationId", "to", "message"} as JSON to the
/// webhook; any non-2xx answer, a timeout or an unreachable host is kUnavailable. Without a URL
/// it records only (Send succeeds, nothing leaves the process). Thread-safe; blocking.
class SmsChannel final : public NotificationChannel {
 public:
  explicit SmsChannel(WebhookOptions options);
  Result<void> Send(const OutgoingMessage& message) override;
  bool RecordsOnly() const override { return options_.url.empty(); }

 private:
  const WebhookOptions options_;
};

/// Push notifications through an HTTP gateway: POSTs {"notificationId", "to", "title", "body",
/// "data"} as JSON; same failure rules and record-only mode as SmsChannel.
class PushChannel final : public NotificationChannel {
 public:
  explicit PushChannel(WebhookOptions options);
  Result<void> Send(const OutgoingMessage& message) override;
  bool RecordsOnly() const override { return options_.url.empty(); }

 private:
  const WebhookOptions options_;
};

}  // namespace shopflow::notifications
