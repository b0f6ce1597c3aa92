#pragma once

#include <chrono>

namespace shopflow::payments {

/// Typed settings of the payments module (built by the composition root from Settings).
struct PaymentsOptions {
  /// How long the simulated gateway takes to answer a charge (SimulatedGateway's latency).
  /// 0: charges are decided inside the write that starts them (one transaction).
  std::chrono::milliseconds gateway_latency{0};
  /// pix and boleto payments `processing` for this long are confirmed (succeeded) by the
  /// worker; 0 disables it (only PUT /api/payments/:id/status confirms them).
  std::chrono::milliseconds auto_confirm_delay{0};
  /// A card payment `processing` for this long is considered stalled (its process died between
  /// the two phases of a charge) and is finished by recovery. Must exceed the gateway latency.
  std::chrono::milliseconds stall_timeout{30'000};
  /// A card payment whose charges the gateway keeps leaving unanswered (down, circuit open) is
  /// charged again with backoff until it is this old, then fails with failureReason
  /// "gateway_unavailable" (its order then fails and gives its stock back).
  std::chrono::milliseconds gateway_give_up{10 * 60'000};
  /// How often the worker scans for due confirmations and stalled payments (real time).
  std::chrono::milliseconds scan_interval{1'000};
};

}  // namespace shopflow::payments
