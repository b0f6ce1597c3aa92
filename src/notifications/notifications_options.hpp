#pragma once

#include <chrono>
#include <string>

namespace shopflow::notifications {

/// Everything the notifications module is configured with. The composition root fills it from
/// Settings (smtp_url, smtp_from, sms_webhook_url, push_webhook_url, alert_email,
/// templates_dir); the rest keeps its defaults unless a deployment needs otherwise.
struct NotificationsOptions {
  /// SMTP server, e.g. "smtp://mail.example.com:25" or "smtps://user:pass@host:465".
  /// Empty: emails are recorded only (stored `sent`, nothing leaves the process).
  std::string smtp_url;
  /// The sender: a bare address ("shop@example.com") or "Name <shop@example.com>".
  std::string smtp_from = "shopflow@localhost";
  /// HTTP(S) endpoints that receive a JSON POST per SMS / push notification; empty: recorded only.
  std::string sms_webhook_url;
  std::string push_webhook_url;
  /// Where LOW_STOCK_ALERT emails go (the operators' address).
  std::string alert_email = "operators@localhost";
  /// Directory holding the *.html email templates; empty: the built-in ones
  /// (TemplateRenderer::DefaultDirectory(), the source tree's templates/ baked in at build time).
  std::string templates_dir;

  /// Limits of one channel call (connect, and the whole SMTP dialogue or HTTP exchange).
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds send_timeout{20000};
  /// Threads that run blocking channel calls for API requests (HTTP I/O threads never block).
  int send_threads = 2;
  /// RetryPending() only resends notifications left `pending` for at least this long, so that it
  /// never races a send another process (or this one) still has in flight.
  std::chrono::milliseconds pending_retry_min_age{60000};
};

}  // namespace shopflow::notifications
