#include "monitor/message_routes.hpp"

#include <set>
#include <utility>

#include "monitor/message_log.hpp"
#include "monitor/message_log_ring.hpp"
#include "monitor/saga_timeline.hpp"
#include "storage/await.hpp"

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {

std::vector<FieldFilter> FiltersOf(const MessageFilter& f) {
  std::vector<FieldFilter> out;
  auto eq = [&](const char* field, const std::string& value) {
    if (!value.empty()) out.push_back(FieldFilter{field, FieldFilter::Op::kEq, value});
  };
  eq("eventType", f.event_type);
  eq("correlationId", f.correlation_id);
  eq("status", f.status);
  eq("orderId", f.order_id);
  eq("messageId", f.message_id);
  if (f.since) {
    out.push_back(FieldFilter{"createdAt", FieldFilter::Op::kGte, FormatRfc3339(*f.since)});
  }
  return out;
}

Result<std::vector<json::object>> FindRows(ReadTransaction& txn, FieldFilter filter) {
  FindQuery query;
  query.filters.push_back(std::move(filter));
  query.limit = MessageQueries::kMaxTimelineRows;
  query.newest_first = false;
  query.count_total = false;  // only the rows are wanted
  auto page = FindInLog(txn, query);
  if (!page) return std::move(page).error();
  return std::move(page->docs);
}

}  // namespace

Result<MessageFilter> ReadMessageFilter(const ApiRequest& request) {
  MessageFilter f;
  std::vector<ErrorDetail> details;
  auto text = [&](const char* name, std::string& into) {
    if (auto v = request.Query(name)) into = std::string(*v);
  };
  text("eventType", f.event_type);
  text("correlationId", f.correlation_id);
  text("status", f.status);
  text("orderId", f.order_id);
  text("messageId", f.message_id);
  if (!f.status.empty() && !IsMessageStatus(f.status)) {
    details.push_back({"status", "must be one of published, consumed, failed, dead_lettered"});
  }
  if (auto since = request.Query("since")) {
    f.since = ParseRfc3339(*since);
    if (!f.since) details.push_back({"since", "must be an RFC 3339 time"});
  }
  if (!details.empty()) return ValidationError("invalid message filter", std::move(details));
  return f;
}

MessageQueries::MessageQueries(Store& store, Topology topology)
    : store_(store), topology_(std::move(topology)) {}

asio::awaitable<Result<MessagePage>> MessageQueries::List(MessageFilter filter, Page page) {
  MessagePage out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    FindQuery query;
    query.filters = FiltersOf(filter);
    query.limit = page.limit;
    query.offset = page.offset;
    query.newest_first = true;
    auto found = FindInLog(txn, query);
    if (!found) return std::move(found).error();
    out.rows = std::move(found->docs);
    out.total = found->total;
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

asio::awaitable<Result<json::object>> MessageQueries::Timeline(std::string order_id) {
  std::optional<Result<json::object>> out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    out = TimelineIn(txn, order_id);
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return std::move(*out);
}

Result<json::object> MessageQueries::TimelineNow(const std::string& order_id) {
  std::optional<Result<json::object>> out;
  auto read = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
    out = TimelineIn(txn, order_id);
    return Ok();
  });
  if (!read) return std::move(read).error();
  return std::move(*out);
}

Result<json::object> MessageQueries::TimelineIn(ReadTransaction& txn,
                                                const std::string& order_id) const {
  auto own = FindRows(txn, FieldFilter{"orderId", FieldFilter::Op::kEq, order_id});
  if (!own) return std::move(own).error();
  if (own->empty()) return NotFoundError("no event is known for order " + order_id);

  std::vector<json::object> rows = std::move(*own);
  std::set<std::string> row_ids;
  std::set<std::string> message_ids;
  std::set<std::string> correlations;
  for (const auto& row : rows) {
    row_ids.insert(GetString(row, "id"));
    message_ids.insert(GetString(row, "messageId"));
    if (auto c = GetString(row, "correlationId"); !c.empty()) correlations.insert(std::move(c));
  }
  // Events of the saga whose data names no order (notifications, say): same correlation, no
  // orderId, and caused, directly or not, by one of the order's events.
  constexpr size_t kMaxCorrelations = 4;
  std::vector<json::object> candidates;
  size_t looked = 0;
  for (const auto& c : correlations) {
    if (looked++ == kMaxCorrelations) break;
    auto found = FindRows(txn, FieldFilter{"correlationId", FieldFilter::Op::kEq, c});
    if (!found) return std::move(found).error();
    for (auto& row : *found) {
      if (!row_ids.contains(GetString(row, "id")) && GetString(row, "orderId").empty()) {
        candidates.push_back(std::move(row));
      }
    }
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (auto& row : candidates) {
      if (row.empty() || !message_ids.contains(GetString(row, "causationId"))) continue;
      grew = message_ids.insert(GetString(row, "messageId")).second || grew;
      rows.push_back(std::move(row));
      row = json::object();  // taken
    }
  }
  return BuildTimeline(order_id, std::move(rows), topology_);
}

std::vector<Route> MessageRoutes(MessageQueries& queries) {
  MessageQueries* q = &queries;
  return {
      {"GET", "/api/messages",
       [q](ApiRequest& req) -> asio::awaitable<ApiResponse> {
         auto page = ReadPage(req);
         if (!page) co_return ErrorResponse(page.error());
         auto filter = ReadMessageFilter(req);
         if (!filter) co_return ErrorResponse(filter.error());
         auto found = co_await q->List(std::move(*filter), *page);
         if (!found) co_return ErrorResponse(found.error());
         json::array data;
         for (auto& row : found->rows) data.emplace_back(std::move(row));
         co_return JsonResponse(200, ListBody(std::move(data), found->total, *page));
       }},
      {"GET", "/api/orders/:id/timeline",
       [q](ApiRequest& req) -> asio::awaitable<ApiResponse> {
         auto timeline = co_await q->Timeline(std::string(req.Param("id")));
         co_return ToResponse(timeline);
       }},
  };
}

}  // namespace shopflow::monitor
