#include "notifications/notification_requests.hpp"

#include <algorithm>

#include "notifications/mime_message.hpp"

namespace shopflow::notifications {
namespace {

constexpr size_t kMaxAddress = 254;  // RFC 5321 path limit
constexpr size_t kMaxSubject = 200;
constexpr size_t kMaxHtml = 100'000;  // an email body; the HTTP layer caps requests anyway
constexpr size_t kMaxSmsTo = 64;
constexpr size_t kMaxSms = 1600;  // ten concatenated SMS segments
constexpr size_t kMaxPushTo = 256;
constexpr size_t kMaxPushBody = 4000;
constexpr size_t kMaxTemplateData = 16 * 1024;
constexpr size_t kMaxPushData = 4 * 1024;

bool HasControlCharacters(std::string_view text, bool allow_line_breaks) {
  return std::any_of(text.begin(), text.end(), [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    if (allow_line_breaks && (c == '\n' || c == '\r' || c == '\t')) return false;
    return c < 32 || c == 127;
  });
}

// Single-line fields end up in mail headers or gateway payloads: a line break there could
// inject headers, so it is refused rather than silently replaced.
void RequireSingleLine(BodyReader& r, std::string_view field,
                       const std::optional<std::string>& value) {
  if (value && HasControlCharacters(*value, false)) {
    r.Fail(field, "must not contain control characters or line breaks");
  }
}

void RejectServerFields(BodyReader& r) {
  for (const char* field :
       {"notificationId", "type", "recipient", "status", "eventTrigger", "sentAt"}) {
    r.RejectIfPresent(field, "is set by the server");
  }
}

std::string KnownTemplateList() {
  std::string out;
  for (auto name : TemplateRenderer::Names()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Present and not null (BodyReader treats an explicit null as absent for optional fields).
bool Present(const json::object& body, std::string_view field) {
  const json::value* v = body.if_contains(field);
  return v && !v->is_null();
}

Notification Draft(NotificationType type, std::string to, std::string subject,
                   std::string content) {
  Notification n;
  n.type = type;
  n.recipient = std::move(to);
  n.subject = std::move(subject);
  n.content = std::move(content);
  n.status = NotificationStatus::kPending;
  n.event_trigger = std::string(kApiTrigger);
  return n;
}

}  // namespace

Result<Notification> ParseEmailRequest(const json::object& body, const TemplateRenderer& renderer) {
  BodyReader r(body);
  auto to = r.RequiredString("to", kMaxAddress);
  auto subject = r.OptionalString("subject", kMaxSubject);
  auto content = r.OptionalString("content", kMaxHtml);
  auto template_name = r.OptionalString("template", 64);
  const json::object* data = r.OptionalObject("data");
  RejectServerFields(r);
  r.RejectUnknownFields();

  if (to && !LooksLikeEmailAddress(*to)) r.Fail("to", "must be an email address");
  RequireSingleLine(r, "subject", subject);
  const bool has_content = Present(body, "content");
  const bool has_template = Present(body, "template");
  if (has_content && has_template) {
    r.Fail("template", "cannot be combined with content: send either content or a template");
  } else if (!has_content && !has_template) {
    r.Fail("content", "is required (or send a template with its data instead)");
  } else if (has_content) {
    if (!Present(body, "subject")) r.Fail("subject", "is required with content");
    if (Present(body, "data")) r.Fail("data", "is only accepted with a template");
  } else {
    if (template_name && !TemplateRenderer::IsKnown(*template_name)) {
      r.Fail("template", "must be one of " + KnownTemplateList());
    }
    if (!Present(body, "data")) r.Fail("data", "is required with a template");
    if (data && ToJsonText(*data).size() > kMaxTemplateData) {
      r.Fail("data", "must be at most 16 KiB");
    }
  }
  if (auto valid = r.Finish(); !valid) return std::move(valid).error();

  if (content) return Draft(NotificationType::kEmail, *to, *subject, *content);
  auto rendered = renderer.Render(*template_name, *data);
  if (!rendered) return std::move(rendered).error();
  Notification n = Draft(NotificationType::kEmail, *to, subject.value_or(rendered->subject),
                         std::move(rendered->html));
  n.metadata[metadata_keys::kTemplate] = *template_name;
  return n;
}

Result<Notification> ParseSmsRequest(const json::object& body) {
  BodyReader r(body);
  auto to = r.RequiredString("to", kMaxSmsTo);
  auto message = r.RequiredString("message", kMaxSms);
  RejectServerFields(r);
  r.RejectUnknownFields();
  RequireSingleLine(r, "to", to);
  if (message && HasControlCharacters(*message, true)) {
    r.Fail("message", "must not contain control characters");
  }
  if (auto valid = r.Finish(); !valid) return std::move(valid).error();
  return Draft(NotificationType::kSms, *to, "", *message);
}

Result<Notification> ParsePushRequest(const json::object& body) {
  BodyReader r(body);
  auto to = r.RequiredString("to", kMaxPushTo);
  auto title = r.RequiredString("title", kMaxSubject);
  auto text = r.RequiredString("body", kMaxPushBody);
  const json::object* data = r.OptionalObject("data");
  RejectServerFields(r);
  r.RejectUnknownFields();
  RequireSingleLine(r, "to", to);
  RequireSingleLine(r, "title", title);
  if (data && ToJsonText(*data).size() > kMaxPushData) r.Fail("data", "must be at most 4 KiB");
  if (auto valid = r.Finish(); !valid) return std::move(valid).error();
  Notification n = Draft(NotificationType::kPush, *to, *title, *text);
  if (data) n.metadata[metadata_keys::kData] = *data;
  return n;
}

}  // namespace shopflow::notifications
