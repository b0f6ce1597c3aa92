#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/result.hpp"
#include "events/topology.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// Filters of GET /api/messages; empty strings match anything.
struct MessageFilter {
  std::string event_type;
  std::string correlation_id;
  std::string status;  // a message_status name
  std::string order_id;
  std::string message_id;
  std::optional<TimePoint> since;  // createdAt >= since
};

/// Reads `eventType`, `correlationId`, `status`, `orderId`, `messageId` and `since` (RFC 3339)
/// from the query string. An unparsable `since` or an unknown `status` → kValidationFailed
/// naming the field. Other parameters are left to the caller (pagination).
Result<MessageFilter> ReadMessageFilter(const ApiRequest& request);

/// One page of event-log rows.
struct MessagePage {
  std::vector<json::object> rows;
  int64_t total = 0;
};

/// Read side of the event log written by MessageLogger. Thread-safe (it only reads the store).
/// Lifetime: `store` outlives the queries.
class MessageQueries {
 public:
  /// Most rows one timeline reads per query (by orderId, and per correlationId).
  static constexpr int64_t kMaxTimelineRows = 2'000;

  MessageQueries(Store& store, Topology topology);

  /// Rows matching `filter`, newest first. Resumes on the caller's executor (see AwaitRead).
  boost::asio::awaitable<Result<MessagePage>> List(MessageFilter filter, Page page);

  /// The saga timeline of one order (see BuildTimeline): every row whose orderId is
  /// `order_id`, plus the rows of the same correlationIds without an orderId that descend
  /// (causationId) from them (e.g. notifications), in causal order. kNotFound when the log
  /// knows no row of that order.
  boost::asio::awaitable<Result<json::object>> Timeline(std::string order_id);

  /// Timeline on a thread that may block (tests, tools).
  Result<json::object> TimelineNow(const std::string& order_id);

 private:
  Result<json::object> TimelineIn(ReadTransaction& txn, const std::string& order_id) const;

  Store& store_;
  const Topology topology_;
};

/// GET /api/messages (list shape {data,total,limit,offset}) and GET /api/orders/:id/timeline.
/// `queries` must outlive the routes.
std::vector<Route> MessageRoutes(MessageQueries& queries);

}  // namespace shopflow::monitor
