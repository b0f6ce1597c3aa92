#pragma once

#include <chrono>
#include <string>

#include "core/result.hpp"

namespace shopflow::notifications {

/// The two libcurl transfers this module makes, behind an interface free of curl types
/// (<curl/curl.h> is included only by curl_transfer.cpp). Both block the calling thread for at
/// most `timeout`, are thread-safe (one easy handle per call) and report every failure as
/// kUnavailable naming the cause; neither throws.

struct TransferLimits {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{20000};
};

/// One message through an SMTP (or SMTPS) server: MAIL FROM `envelope_from`, RCPT TO
/// `recipient`, DATA `message` (a complete RFC 5322 message with CRLF line ends; libcurl does the
/// dot-stuffing).
struct SmtpSubmission {
  std::string url;  // smtp://host[:port] or smtps://...
  std::string envelope_from;
  std::string recipient;
  std::string message;
  TransferLimits limits;
};
Result<void> SubmitSmtp(const SmtpSubmission& submission);

/// POSTs `json_body` (Content-Type: application/json) to an http(s) URL; any answer other than
/// 2xx is a failure. Redirects are not followed.
struct JsonPost {
  std::string url;
  std::string json_body;
  TransferLimits limits;
};
Result<void> PostJson(const JsonPost& post);

}  // namespace shopflow::notifications
