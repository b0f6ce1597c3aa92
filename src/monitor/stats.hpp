#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "events/observed_event_bus.hpp"
#include "monitor/queue_depth_cache.hpp"
#include "monitor/rate_window.hpp"
#include "storage/store.hpp"

namespace shopflow::monitor {

/// Where StatsCollector reads what it does not count itself. Every member is optional;
/// functions must be thread-safe and quick, and return a negative number for "unknown".
struct StatsSources {
  Store* store = nullptr;                   // active orders, payments by status
  QueueDepthCache* queue_depths = nullptr;  // queue depths from the broker
  std::function<int64_t()> outbox_backlog;  // e.g. OutboxRelay::Backlog
  std::function<int64_t()> dlq_size;        // from the dead-letter manager
  /// Products at or below their minimum stock. When empty, the LOW_STOCK_ALERT events this
  /// process saw published are counted instead.
  std::function<int64_t()> inventory_alerts;
};

/// Figures read from the store (nullopt when unknown: store down, collection not declared).
struct BusinessFigures {
  bool store_ok = false;
  std::optional<int64_t> pending_orders;
  std::optional<int64_t> paid_orders;
  std::vector<std::pair<std::string, std::optional<int64_t>>> payments_by_status;
};

/// The system statistics of GET /api/stats and the dashboard's stats frames: totals since start
/// and per-minute rates (sliding 60 s window, by the injected Clock) of events published,
/// consumed, failed (kRetry) and dead-lettered (kDeadLetter) in this process, the average
/// handler time, plus business figures (active orders = pending + paid; payments by status),
/// inventory alerts, queue depths, outbox backlog and dead-letter count.
///
/// A snapshot costs a handful of indexed counts and cached queue depths: cheap enough once a
/// second. Thread-safe: the observer callbacks touch atomics and the window's short mutex.
/// Lifetime: `clock` and what `sources` points to outlive the collector.
class StatsCollector final : public EventObserver {
 public:
  StatsCollector(const Clock& clock, StatsSources sources = {});

  void OnPublished(std::span<const Envelope> batch) override;
  void OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds took) override;

  /// Counts since construction (no store access).
  EventCounts Totals() const;
  /// Counts over the last minute.
  EventCounts LastMinute() const { return window_.Sum(clock_.Now()); }

  /// The whole document, reading the store on the caller's thread (blocking; not for I/O
  /// threads): {timestamp, totalMessages, activeOrders, totalPayments, inventoryAlerts,
  /// events:{published, consumed, failed, deadLettered, published_per_minute,
  /// consumed_per_minute, failed_per_minute, dead_lettered_per_minute, average_processing_time
  /// (ms, last minute), average_processing_time_total}, orders:{pending, paid, active},
  /// payments:{total, byStatus}, inventory:{alerts}, queues:{total_messages, ready_messages,
  /// consumers, byQueue:[{queue, messages, consumers}]}, outbox:{backlog}, dlq:{size},
  /// store:{connected}}; unknown figures are null.
  json::object Snapshot();
  /// The same from a coroutine (the store read resumes on the caller's executor).
  boost::asio::awaitable<json::object> AwaitSnapshot();
  /// Snapshot as a function, for the dashboard stream.
  std::function<json::object()> SnapshotFunction() {
    return [this] { return Snapshot(); };
  }

  /// GET /api/stats. This object must outlive the routes.
  std::vector<Route> Routes();

  /// The figures the store knows, read in `txn`.
  static BusinessFigures ReadBusinessFigures(ReadTransaction& txn);

 private:
  json::object Document(const BusinessFigures& figures);

  const Clock& clock_;
  const StatsSources sources_;
  RateWindow window_;
  std::atomic<int64_t> published_{0};
  std::atomic<int64_t> consumed_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> dead_lettered_{0};
  std::atomic<int64_t> handled_ns_{0};
  std::atomic<int64_t> low_stock_alerts_{0};
};

}  // namespace shopflow::monitor
