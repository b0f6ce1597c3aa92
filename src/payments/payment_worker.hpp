#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "payments/gateway.hpp"
#include "payments/payment_processor.hpp"
#include "payments/payments_options.hpp"
#include "storage/store.hpp"

namespace shopflow::payments {

/// Background upkeep of payments left `processing`, found by scanning the store (FindQuery on
/// status) and timed by the injected Clock against each payment's createdAt:
///
/// - stalled card payments (processing for at least options.stall_timeout: their process died
///   between the two phases of a charge) are finished with the answer the gateway gave for them
///   (PaymentGateway::Lookup). When the gateway knows none the charge never reached it, and
///   since payments keeps no card number it cannot be sent again: the payment fails with
///   failureReason "processing_interrupted" (nothing was captured);
/// - payments whose last charge the gateway left unanswered (GatewayResult kUnavailable:
///   down, timed out, circuit open) are charged again once their metadata's gatewayRetryAt is
///   due (backoff of PaymentProcessor), with the kept card token and the same payment id; after
///   options.gateway_give_up an unanswered charge fails the payment with "gateway_unavailable";
/// - pix and boleto payments processing for at least options.auto_confirm_delay (when > 0) are
///   confirmed: succeeded, PAYMENT_SUCCEEDED.
///
/// Due payments are settled in chunks of up to 64: their charges go to the gateway together
/// (the waits overlap), then one write applies the answers, re-checking each payment's status,
/// so the worker may race the saga, the API or another process's worker safely. A charge that
/// throws leaves its payment for the next scan. Events carry the payment's
/// correlationId (metadata) and no causationId.
///
/// Lifetime and threads: store, gateway and clock must outlive the worker. Start() runs one
/// thread that scans every options.scan_interval (and on Wake()); Stop() (also run by the
/// destructor) joins it; Start and Stop are called by one owner thread. Wake is thread-safe.
/// RecoverStalled/ConfirmDue/RunOnce may be called from any thread that may block (they wait
/// for the store), concurrently with the worker's thread.
class PaymentWorker {
 public:
  PaymentWorker(Store& store, PaymentGateway& gateway, const Clock& clock, PaymentsOptions options);
  ~PaymentWorker();
  PaymentWorker(const PaymentWorker&) = delete;
  PaymentWorker& operator=(const PaymentWorker&) = delete;

  /// Finishes stalled card payments (see above). Returns how many payments it changed; a store
  /// failure is returned (payments changed before it stay changed).
  Result<int> RecoverStalled();
  /// Confirms due pix/boleto payments; 0 when auto-confirm is disabled.
  Result<int> ConfirmDue();
  /// Both.
  Result<int> RunOnce();

  /// Starts the scanning thread. Calling it again, or after Stop, does nothing.
  void Start();
  /// Asks the thread to scan now (e.g. after a test advanced a fake clock).
  void Wake();
  /// Stops and joins the thread; a scan in progress finishes its current write first.
  /// Idempotent.
  void Stop();

 private:
  enum class Job { kRecover, kConfirm };
  Result<int> Scan(Job job);
  void Run();

  const PaymentsOptions options_;
  PaymentProcessor processor_;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace shopflow::payments
