#include "monitor/dlq/dlq_routes.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {

constexpr size_t kMaxMessageIdLength = 200;

Actor ActorOf(const ApiRequest& req) {
  // The authenticated principal when there is one (issue 8), else the client's address.
  if (req.principal.authenticated) return Actor{req.principal.sub, req.correlation_id};
  return Actor{req.client_address.empty() ? "api" : req.client_address, req.correlation_id};
}

bool IsBlank(const std::string& body) {
  return std::all_of(body.begin(), body.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

// A body that may be left out: blank means {}; anything else must be a JSON object.
Result<json::object> OptionalBody(const ApiRequest& req) {
  if (IsBlank(req.body)) return json::object{};
  return JsonObjectBody(req);
}

Error Merge(std::optional<Error> first, std::optional<Error> second) {
  if (!first) return std::move(*second);
  if (!second) return std::move(*first);
  for (auto& d : second->details) first->details.push_back(std::move(d));
  return std::move(*first);
}

// The message a path names, and the queue it is narrowed to (?queue=, or {queue} in `body`).
struct Target {
  std::string message_id;
  std::optional<std::string> queue;
};

Result<Target> TargetOf(const ApiRequest& req, const Topology& topology, const json::object& body) {
  Target target{std::string(req.Param("messageId")), std::nullopt};
  BodyReader r(body);
  if (target.message_id.empty() || target.message_id.size() > kMaxMessageIdLength) {
    r.Fail("messageId", "must be 1 to " + std::to_string(kMaxMessageIdLength) + " characters");
  }
  std::optional<std::string> queue = r.OptionalString("queue");
  if (auto q = req.Query("queue"); q && !q->empty()) queue = std::string(*q);
  if (queue) {
    target.queue = ResolveDeadLetterQueue(topology, *queue);
    if (!target.queue) r.Fail("queue", "is not a dead-letter queue, module queue or module");
  }
  r.RejectUnknownFields();
  if (auto done = r.Finish(); !done) return std::move(done).error();
  return target;
}

asio::awaitable<ApiResponse> ListDeadLetters(DeadLetterManager& manager, ApiRequest& req) {
  auto page = ReadPage(req);
  auto filter = FilterFromQuery(req, manager.topology());
  if (!page || !filter) {
    co_return ErrorResponse(Merge(page ? std::nullopt : std::optional<Error>(page.error()),
                                  filter ? std::nullopt : std::optional<Error>(filter.error())));
  }
  auto overview = co_await manager.Overview(std::move(*filter), *page);
  co_return ToResponse(overview);
}

asio::awaitable<ApiResponse> ListAudit(DeadLetterManager& manager, ApiRequest& req) {
  auto page = ReadPage(req);
  if (!page) co_return ErrorResponse(page.error());
  std::optional<std::string> action;
  if (auto a = req.Query("action"); a && !a->empty()) action = std::string(*a);
  auto rows = co_await manager.AuditLog(std::move(action), *page);
  if (!rows) co_return ErrorResponse(rows.error());
  co_return JsonResponse(200, std::move(*rows));
}

asio::awaitable<ApiResponse> RetryAll(DeadLetterManager& manager, ApiRequest& req) {
  auto body = OptionalBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto request = ParseRedriveAll(*body, manager.topology(), manager.options());
  if (!request) co_return ErrorResponse(request.error());
  auto result = co_await manager.RedriveAll(std::move(*request), ActorOf(req));
  co_return ToResponse(result);
}

asio::awaitable<ApiResponse> RetryOne(DeadLetterManager& manager, ApiRequest& req) {
  auto body = OptionalBody(req);
  if (!body) co_return ErrorResponse(body.error());
  auto target = TargetOf(req, manager.topology(), *body);
  if (!target) co_return ErrorResponse(target.error());
  auto result = co_await manager.Redrive(std::move(target->message_id), std::move(target->queue),
                                         ActorOf(req));
  co_return ToResponse(result);
}

asio::awaitable<ApiResponse> DiscardOne(DeadLetterManager& manager, ApiRequest& req) {
  auto target = TargetOf(req, manager.topology(), json::object{});
  if (!target) co_return ErrorResponse(target.error());
  auto result = co_await manager.Discard(std::move(target->message_id), std::move(target->queue),
                                         ActorOf(req));
  co_return ToResponse(result);
}

}  // namespace

std::vector<Route> DlqRoutes(DeadLetterManager& manager) {
  auto bind = [&manager](auto fn) -> ApiHandler {
    return [&manager, fn](ApiRequest& req) { return fn(manager, req); };
  };
  return {
      {"GET", "/api/dlq", bind(ListDeadLetters)},
      {"GET", "/api/dlq/audit", bind(ListAudit)},
      {"POST", "/api/dlq/retry-all", bind(RetryAll)},
      {"POST", "/api/dlq/:messageId/retry", bind(RetryOne)},
      {"DELETE", "/api/dlq/:messageId", bind(DiscardOne)},
  };
}

}  // namespace shopflow::monitor
