#pragma once

// The tap of AmqpEventBus (see AmqpEventBus::SetTap). Internal to src/transport/amqp.

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "core/result.hpp"
#include "transport/amqp/amqp_event_bus.hpp"
#include "transport/amqp/amqp_wrappers.hpp"
#include "transport/amqp/reconnect_policy.hpp"
#include "transport/amqp/wire_message.hpp"

namespace shopflow {

/// One thread that, while its `wanted` predicate holds, keeps a connection consuming a private
/// queue bound to the events exchange (every routing key) and to every binding of the retry and
/// dead-letter exchanges, and turns the copies other bus instances put there into observer
/// calls. Copies are consumed without acknowledgements: a monitor may miss some (the queue is
/// bounded and drops its oldest), it must never hold anyone back.
class AmqpEventBus::Tap {
 public:
  Tap(AmqpEventBus& bus, EventObserver* observer, std::function<bool()> wanted, uint64_t seed);
  void Start();
  void Join();

 private:
  void Run();
  /// Opens the tap connection and consumes until the tap is no longer wanted (→ Ok), the bus
  /// stops (→ Ok) or the connection fails (→ its error).
  Result<void> Watch();
  void Dispatch(const amqp::InboundMessage& message);
  bool Wanted() const;

  AmqpEventBus& bus_;
  EventObserver* const observer_;
  const std::function<bool()> wanted_;
  amqp::Backoff backoff_;
  std::thread thread_;
};

}  // namespace shopflow
