#pragma once

#include <memory>

#include "monitor/circuit_breaker.hpp"
#include "notifications/channel.hpp"

namespace shopflow {

/// A notification channel behind a circuit breaker: after repeated failures of the SMTP server
/// or a webhook, sends fail at once (a `failed` notification, "... circuit open") instead of
/// waiting for timeouts, until the cool-down lets a trial through. Thread-safe as the inner
/// channel is; the breaker must outlive it.
class GuardedChannel final : public notifications::NotificationChannel {
 public:
  GuardedChannel(std::unique_ptr<notifications::NotificationChannel> inner,
                 monitor::CircuitBreaker& breaker)
      : inner_(std::move(inner)), breaker_(breaker) {}

  Result<void> Send(const notifications::OutgoingMessage& message) override {
    return breaker_.Call([&] { return inner_->Send(message); });
  }
  /// The inner channel's: a guard adds no destination. (Not forwarding it made every e-mail of
  /// the embedded defaults, which only records, a pending row settled by a second write.)
  bool RecordsOnly() const override { return inner_->RecordsOnly(); }

 private:
  std::unique_ptr<notifications::NotificationChannel> inner_;
  monitor::CircuitBreaker& breaker_;
};

}  // namespace shopflow
