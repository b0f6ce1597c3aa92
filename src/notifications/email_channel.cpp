#include "notifications/email_channel.hpp"

#include "notifications/curl_transfer.hpp"
#include "notifications/mime_message.hpp"

namespace shopflow::notifications {

EmailChannel::EmailChannel(EmailChannelOptions options) : options_(std::move(options)) {}

Result<void> EmailChannel::Send(const OutgoingMessage& message) {
  // Recording accepts any recipient: without SMTP, saga emails are addressed to the customerId
  // when the order carries no address, and the record is all there is to keep.
  if (options_.smtp_url.empty()) return Ok();
  if (!LooksLikeEmailAddress(message.recipient)) {
    return ValidationError("recipient '" + message.recipient + "' is not an email address");
  }
  const std::string from(BareAddress(options_.from));
  if (!LooksLikeEmailAddress(from)) {
    return UnavailableError("the configured sender '" + options_.from + "' is not an address");
  }
  MailHeaders headers{options_.from, message.recipient, message.subject,
                      message.notification_id + "@shopflow", std::chrono::system_clock::now()};
  SmtpSubmission submission{options_.smtp_url, from, message.recipient,
                            BuildHtmlMail(headers, message.content),
                            TransferLimits{options_.connect_timeout, options_.timeout}};
  return SubmitSmtp(submission);
}

}  // namespace shopflow::notifications
