#pragma once

// The HTTP load modes of shopflow-bench: `orders` (POST /api/orders until each order is paid)
// and `get` (keep-alive GET /api/orders/:id throughput).

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

namespace shopflow::bench {

struct Target {
  std::string host = "127.0.0.1";
  uint16_t port = 3000;
};

struct OrdersOptions {
  /// Closed loop: this many orders in flight, each worker posting its next order once the
  /// previous one is paid. Ignored when `rate` > 0.
  int concurrency = 32;
  /// Open loop: orders started per second on a fixed schedule (latency counts from the
  /// scheduled start, so a stalled server is not hidden), over up to `connections` connections.
  double rate = 0;
  int connections = 64;
  /// Stop starting orders after this many (0: no limit) or this many seconds, whichever first.
  int64_t orders = 0;
  double duration_s = 10;
  int products = 8;
  /// How settlements are learned: "ws" (the /ws stream, with a slow sweep of polls as a safety
  /// net and full-speed polling if the stream drops) or "poll" (polling only).
  std::string settle = "ws";
  /// The stream's target in "ws" mode: by default only the frames that settle an order (a
  /// dashboard's whole stream, "/ws", costs the server ~12 % more CPU per order: 28 frames).
  std::string ws_target = "/ws?eventType=ORDER_CONFIRMED,ORDER_FAILED";
  /// Minimum time between the starts of two settlement scans when polling.
  int poll_interval_us = 1000;
  /// While the stream is up: one safety-net scan this often.
  int sweep_interval_ms = 1000;
  /// Orders not settled this long after the last one started count as timeouts.
  double settle_timeout_s = 60;
  /// After the last settlement, wait up to this long for the work the orders still cause
  /// (notifications, confirmations: queued messages and outbox rows) to drain, and report how
  /// long it took (0: do not wait). A closed loop measures "paid", which comes before that
  /// work; without the drain a short run overstates what the server sustains.
  double drain_timeout_s = 60;
  std::string card = "4111111111111111";
};

/// Runs the orders mode against `target`. The answer is the JSON report (without the server's
/// process figures, which the caller adds).
boost::json::object RunOrders(const Target& target, const OrdersOptions& options);

struct GetOptions {
  int connections = 64;
  int threads = 1;
  double duration_s = 5;
};

/// Creates one product and one order, then reads that order back as fast as `connections`
/// keep-alive connections allow.
boost::json::object RunGet(const Target& target, const GetOptions& options);

}  // namespace shopflow::bench
