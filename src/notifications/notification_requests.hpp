#pragma once

#include "core/json.hpp"
#include "core/result.hpp"
#include "notifications/notification.hpp"
#include "notifications/template_renderer.hpp"

namespace shopflow::notifications {

/// Validation of the POST /api/notifications/* bodies (API.md "Notifications"). Each returns a
/// draft: a `pending` notification with type, recipient, subject, content, eventTrigger "api"
/// and request metadata, but no id yet; or kValidationFailed naming every problem (unknown
/// fields included). Pure functions, thread-safe.

/// {to, subject, content} or {to, template, data, subject?}: `to` must look like an email
/// address, content and template exclude each other, template must be a known one (the error
/// lists them) and is rendered here (a render failure is kInternal).
Result<Notification> ParseEmailRequest(const json::object& body, const TemplateRenderer& renderer);
/// {to, message}
Result<Notification> ParseSmsRequest(const json::object& body);
/// {to, title, body, data?}; data is kept in metadata.data and sent along.
Result<Notification> ParsePushRequest(const json::object& body);

}  // namespace shopflow::notifications
