#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/json.hpp"

namespace shopflow::monitor {

class RedrivePacer;

/// Called once each time the number of `dead` dead letters climbs past the alert threshold
/// (see DlqOptions::alert_threshold). Runs on the manager's worker thread, never on an I/O or bus
/// thread, so it may block briefly (e.g. store an email notification); an exception it throws is
/// logged and ignored. The alert object: {"type": "dlq_threshold_exceeded", "deadCount",
/// "threshold", "queues": [{"queue", "count"}], "message", "at"}.
using DlqAlertFn = std::function<void(const json::object& alert)>;

/// Typed settings of the dead-letter manager (built by the composition root from Settings).
struct DlqOptions {
  /// Settings::dlq_alert_threshold: an alert fires when the number of `dead` dead letters
  /// exceeds it (crossing upward) and is re-armed once the number is back at or below it.
  /// 0 disables the alert.
  int64_t alert_threshold = 10;
  /// Settings::redrive_rate: re-drives per second of POST /api/dlq/retry-all, shared by all
  /// concurrent runs. <= 0: unpaced.
  double redrive_rate = 50;
  /// retry-all `limit`: its default and its maximum.
  int64_t retry_all_default_limit = 100;
  int64_t retry_all_max_limit = 1000;
  /// Inbox consumer name under which dead-letter deliveries are recorded (redelivery dedupe).
  std::string consumer = "dlq-manager";
  /// How retry-all waits between messages; null: a steady_timer on the request's executor.
  /// Tests inject a virtual-time pacer.
  std::shared_ptr<RedrivePacer> pacer;
};

}  // namespace shopflow::monitor
