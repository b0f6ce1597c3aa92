#include "notifications/curl_transfer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

namespace shopflow::notifications {
namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init must run once before any handle exists; it is not guaranteed thread-safe on
// every libcurl build, so a once_flag serializes it. It is never cleaned up: other parts of the
// process may still use libcurl at exit.
bool GlobalInit() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return code == CURLE_OK;
}

Result<EasyHandle> NewEasy(std::string_view what) {
  if (!GlobalInit()) return UnavailableError(std::string(what) + ": libcurl failed to initialize");
  EasyHandle easy(curl_easy_init());
  if (!easy) return UnavailableError(std::string(what) + ": libcurl failed to create a handle");
  return easy;
}

// Options every transfer shares: bounded time, no signals (we run on worker threads), and the
// error text of the failure.
void SetCommonOptions(CURL* easy, const TransferLimits& limits, char* error_buffer) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(limits.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
}

Error Failure(std::string_view what, CURLcode code, const char* error_buffer) {
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  return UnavailableError(std::string(what) + " failed: " + detail);
}

struct UploadSource {
  std::string_view data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* source = static_cast<UploadSource*>(user);
  const size_t n = std::min(size * count, source->data.size() - source->offset);
  std::memcpy(buffer, source->data.data() + source->offset, n);
  source->offset += n;
  return n;
}

// Webhook answers are not used; they are drained so the connection completes normally.
size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

Result<void> SubmitSmtp(const SmtpSubmission& submission) {
  auto easy = NewEasy("smtp");
  if (!easy) return std::move(easy).error();
  CURL* h = easy->get();
  char error_buffer[CURL_ERROR_SIZE] = {};
  SetCommonOptions(h, submission.limits, error_buffer);
  const std::string from = "<" + submission.envelope_from + ">";
  Slist recipients(curl_slist_append(nullptr, ("<" + submission.recipient + ">").c_str()));
  if (!recipients) return UnavailableError("smtp: out of memory");
  UploadSource source{submission.message};
  curl_easy_setopt(h, CURLOPT_URL, submission.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadUpload);
  curl_easy_setopt(h, CURLOPT_READDATA, &source);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) return Failure("smtp delivery", code, error_buffer);
  return Ok();
}

Result<void> PostJson(const JsonPost& post) {
  auto easy = NewEasy("webhook");
  if (!easy) return std::move(easy).error();
  CURL* h = easy->get();
  char error_buffer[CURL_ERROR_SIZE] = {};
  SetCommonOptions(h, post.limits, error_buffer);
  Slist headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  if (!headers) return UnavailableError("webhook: out of memory");
  // libcurl 7.x asks for "100 Continue" before bodies over 1 KiB and stalls up to a second on
  // servers that do not answer it; the bodies here are small, so they go in one round trip.
  if (!curl_slist_append(headers.get(), "Expect:")) {
    return UnavailableError("webhook: out of memory");
  }
  curl_easy_setopt(h, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, post.json_body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.json_body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &DiscardBody);
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) return Failure("webhook POST", code, error_buffer);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    return UnavailableError("webhook POST answered HTTP " + std::to_string(status));
  }
  return Ok();
}

}  // namespace shopflow::notifications
