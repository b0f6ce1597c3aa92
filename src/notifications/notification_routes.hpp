#pragma once

#include <vector>

#include "core/api.hpp"
#include "notifications/notification_service.hpp"

namespace shopflow::notifications {

/// The /api/notifications routes of API.md:
///   POST /api/notifications/email  {to, subject, content} | {to, template, data, subject?} → 201
///   POST /api/notifications/sms    {to, message}                                           → 201
///   POST /api/notifications/push   {to, title, body, data?}                                → 201
///   GET  /api/notifications        ?type=&status=&recipient=&limit=&offset=  (newest first)
/// A 201 carries the notification `sent` or `failed`, as its channel answered. `service` must
/// outlive the routes.
std::vector<Route> NotificationRoutes(NotificationService& service);

}  // namespace shopflow::notifications
