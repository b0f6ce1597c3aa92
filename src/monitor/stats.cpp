#include "monitor/stats.hpp"

#include <utility>

#include "events/event_types.hpp"
#include "storage/await.hpp"

namespace shopflow::monitor {
namespace asio = boost::asio;

namespace {

constexpr std::string_view kOrders = "orders";
constexpr std::string_view kPayments = "payments";
constexpr std::string_view kPaymentStatuses[] = {"requested", "processing", "succeeded", "failed",
                                                 "refunded"};

json::value Known(const std::optional<int64_t>& n) {
  return n ? json::value(*n) : json::value(nullptr);
}

std::optional<int64_t> Call(const std::function<int64_t()>& fn) {
  if (!fn) return std::nullopt;
  const int64_t n = fn();
  if (n < 0) return std::nullopt;
  return n;
}

std::optional<int64_t> CountWithStatus(ReadTransaction& txn, std::string_view collection,
                                       std::string_view status) {
  const FieldFilter filter{"status", FieldFilter::Op::kEq, std::string(status)};
  auto n = txn.Count(collection, std::span<const FieldFilter>(&filter, 1));
  if (!n) return std::nullopt;
  return *n;
}

}  // namespace

StatsCollector::StatsCollector(const Clock& clock, StatsSources sources)
    : clock_(clock), sources_(std::move(sources)) {}

void StatsCollector::OnPublished(std::span<const Envelope> batch) {
  int64_t alerts = 0;
  for (const auto& e : batch) {
    if (e.event_type == events::kLowStockAlert) ++alerts;
  }
  const auto n = static_cast<int64_t>(batch.size());
  published_.fetch_add(n, std::memory_order_relaxed);
  if (alerts > 0) low_stock_alerts_.fetch_add(alerts, std::memory_order_relaxed);
  window_.Add(RateWindow::Kind::kPublished, clock_.Now(), n);
}

void StatsCollector::OnHandled(const Delivery&, const HandlerOutcome& outcome,
                               std::chrono::nanoseconds took) {
  RateWindow::Kind kind = RateWindow::Kind::kConsumed;
  switch (outcome.kind) {
    case HandlerOutcome::Kind::kAck:
      consumed_.fetch_add(1, std::memory_order_relaxed);
      break;
    case HandlerOutcome::Kind::kRetry:
      kind = RateWindow::Kind::kFailed;
      failed_.fetch_add(1, std::memory_order_relaxed);
      break;
    case HandlerOutcome::Kind::kDeadLetter:
      kind = RateWindow::Kind::kDeadLettered;
      dead_lettered_.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  handled_ns_.fetch_add(took.count(), std::memory_order_relaxed);
  window_.Add(kind, clock_.Now(), 1, std::chrono::duration<double, std::milli>(took).count());
}

EventCounts StatsCollector::Totals() const {
  EventCounts c;
  c.published = published_.load(std::memory_order_relaxed);
  c.consumed = consumed_.load(std::memory_order_relaxed);
  c.failed = failed_.load(std::memory_order_relaxed);
  c.dead_lettered = dead_lettered_.load(std::memory_order_relaxed);
  c.handled = c.consumed + c.failed + c.dead_lettered;
  c.handled_ms = static_cast<double>(handled_ns_.load(std::memory_order_relaxed)) / 1e6;
  return c;
}

BusinessFigures StatsCollector::ReadBusinessFigures(ReadTransaction& txn) {
  BusinessFigures f;
  f.store_ok = true;
  f.pending_orders = CountWithStatus(txn, kOrders, "pending");
  f.paid_orders = CountWithStatus(txn, kOrders, "paid");
  for (auto status : kPaymentStatuses) {
    f.payments_by_status.emplace_back(std::string(status), CountWithStatus(txn, kPayments, status));
  }
  return f;
}

json::object StatsCollector::Snapshot() {
  BusinessFigures figures;
  if (sources_.store) {
    auto read = ReadAndWait(*sources_.store, [&](ReadTransaction& txn) -> Result<void> {
      figures = ReadBusinessFigures(txn);
      return Ok();
    });
    if (!read) figures = BusinessFigures{};
  }
  return Document(figures);
}

asio::awaitable<json::object> StatsCollector::AwaitSnapshot() {
  BusinessFigures figures;
  if (sources_.store) {
    auto read = co_await AwaitRead(*sources_.store, [&](ReadTransaction& txn) -> Result<void> {
      figures = ReadBusinessFigures(txn);
      return Ok();
    });
    if (!read) figures = BusinessFigures{};
  }
  co_return Document(figures);
}

json::object StatsCollector::Document(const BusinessFigures& figures) {
  const EventCounts total = Totals();
  const EventCounts minute = LastMinute();

  std::optional<int64_t> active;
  if (figures.pending_orders && figures.paid_orders) {
    active = *figures.pending_orders + *figures.paid_orders;
  }
  std::optional<int64_t> payments_total =
      figures.store_ok ? std::optional<int64_t>(0) : std::nullopt;
  json::object by_status;
  for (const auto& [status, n] : figures.payments_by_status) {
    by_status[status] = Known(n);
    if (!n) payments_total.reset();
    if (payments_total && n) *payments_total += *n;
  }
  std::optional<int64_t> alerts = sources_.inventory_alerts
                                      ? Call(sources_.inventory_alerts)
                                      : std::optional<int64_t>(low_stock_alerts_.load());

  json::array by_queue;
  int64_t queued = 0;
  std::optional<int64_t> consumers;
  if (sources_.queue_depths) {
    for (const auto& d : sources_.queue_depths->Get()) {
      queued += d.messages;
      if (d.consumers >= 0) consumers = consumers.value_or(0) + d.consumers;
      json::object q{{"queue", d.queue}, {"messages", d.messages}};
      q["consumers"] = d.consumers >= 0 ? json::value(d.consumers) : json::value(nullptr);
      by_queue.push_back(std::move(q));
    }
  }

  return json::object{
      {"timestamp", FormatRfc3339(clock_.Now())},
      {"totalMessages", total.published + total.handled},
      {"activeOrders", Known(active)},
      {"totalPayments", Known(payments_total)},
      {"inventoryAlerts", Known(alerts)},
      {"events", json::object{{"published", total.published},
                              {"consumed", total.consumed},
                              {"failed", total.failed},
                              {"deadLettered", total.dead_lettered},
                              {"published_per_minute", minute.published},
                              {"consumed_per_minute", minute.consumed},
                              {"failed_per_minute", minute.failed},
                              {"dead_lettered_per_minute", minute.dead_lettered},
                              {"average_processing_time", minute.AverageMs()},
                              {"average_processing_time_total", total.AverageMs()}}},
      {"orders", json::object{{"pending", Known(figures.pending_orders)},
                              {"paid", Known(figures.paid_orders)},
                              {"active", Known(active)}}},
      {"payments", json::object{{"total", Known(payments_total)}, {"byStatus", by_status}}},
      {"inventory", json::object{{"alerts", Known(alerts)}}},
      {"queues", json::object{{"total_messages", queued},
                              {"ready_messages", queued},
                              {"consumers", Known(consumers)},
                              {"byQueue", std::move(by_queue)}}},
      {"outbox", json::object{{"backlog", Known(Call(sources_.outbox_backlog))}}},
      {"dlq", json::object{{"size", Known(Call(sources_.dlq_size))}}},
      {"store", json::object{{"connected", figures.store_ok}}},
  };
}

std::vector<Route> StatsCollector::Routes() {
  return {{"GET", "/api/stats", [this](ApiRequest&) -> asio::awaitable<ApiResponse> {
             co_return JsonResponse(200, co_await AwaitSnapshot());
           }}};
}

}  // namespace shopflow::monitor
