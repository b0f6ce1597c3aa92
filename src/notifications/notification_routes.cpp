#include "notifications/notification_routes.hpp"

namespace shopflow::notifications {
namespace asio = boost::asio;

namespace {

using SendFn = asio::awaitable<Result<Notification>> (NotificationService::*)(
    const json::object&, const RequestContext&);

asio::awaitable<ApiResponse> Send(NotificationService& service, SendFn send, ApiRequest& req) {
  auto body = JsonObjectBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto sent = co_await (service.*send)(*body, ContextOf(req));
  if (!sent) co_return ErrorResponse(sent.error());
  co_return JsonResponse(201, sent->ToJson());
}

asio::awaitable<ApiResponse> ListNotifications(NotificationService& service, ApiRequest& req) {
  auto page = ReadPage(req);
  if (!page) co_return ErrorResponse(page.error());
  NotificationFilter filter;
  std::vector<ErrorDetail> problems;
  if (auto type = req.Query("type")) {
    filter.type = ParseType(*type);
    if (!filter.type) problems.push_back({"type", "must be one of email, sms, push"});
  }
  if (auto status = req.Query("status")) {
    filter.status = ParseStatus(*status);
    if (!filter.status) problems.push_back({"status", "must be one of sent, failed, pending"});
  }
  if (!problems.empty()) {
    co_return ErrorResponse(ValidationError("invalid query parameters", std::move(problems)));
  }
  if (auto recipient = req.Query("recipient")) filter.recipient = std::string(*recipient);
  auto found = co_await service.List(std::move(filter), *page);
  if (!found) co_return ErrorResponse(found.error());
  json::array data;
  for (const auto& n : found->notifications) data.push_back(n.ToJson());
  co_return JsonResponse(200, ListBody(std::move(data), found->total, *page));
}

}  // namespace

std::vector<Route> NotificationRoutes(NotificationService& service) {
  auto send = [&service](SendFn fn) -> ApiHandler {
    return [&service, fn](ApiRequest& req) { return Send(service, fn, req); };
  };
  return {
      {"POST", "/api/notifications/email", send(&NotificationService::SendEmail)},
      {"POST", "/api/notifications/sms", send(&NotificationService::SendSms)},
      {"POST", "/api/notifications/push", send(&NotificationService::SendPush)},
      {"GET", "/api/notifications",
       [&service](ApiRequest& req) { return ListNotifications(service, req); }},
  };
}

}  // namespace shopflow::notifications
