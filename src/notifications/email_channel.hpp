#pragma once

#include <chrono>
#include <string>

#include "notifications/channel.hpp"

namespace shopflow::notifications {

struct EmailChannelOptions {
  /// smtp://host[:port] or smtps://[user:pass@]host[:port]; empty: record only.
  std::string smtp_url;
  std::string from = "shopflow@localhost";  // "addr" or "Name <addr>"
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{20000};
};

/// Email over SMTP (libcurl): one MIME message per Send with From/To/Subject/Date/Message-ID
/// headers and the content as a quoted-printable text/html body. Without an smtp_url it records
/// only: Send succeeds and nothing leaves the process (the stored notification is the record).
///
/// With SMTP, Send fails with kValidationFailed for a recipient that is not a plain address (so
/// nothing can be smuggled into the SMTP dialogue) and with kUnavailable when the server is
/// unreachable, times out or refuses. Thread-safe; blocking.
class EmailChannel final : public NotificationChannel {
 public:
  explicit EmailChannel(EmailChannelOptions options);
  Result<void> Send(const OutgoingMessage& message) override;
  bool RecordsOnly() const override { return options_.smtp_url.empty(); }

 private:
  const EmailChannelOptions options_;
};

}  // namespace shopflow::notifications
