#pragma once

// How every thread of the RabbitMQ transport (publisher, consumers, the tap) opens its
// connection and paces its reconnections. Internal to src/transport/amqp.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>

#include "transport/amqp/amqp_event_bus.hpp"
#include "transport/amqp/amqp_wrappers.hpp"

namespace shopflow::amqp {

// Exponential backoff with jitter for reconnection attempts.
class Backoff {
 public:
  Backoff(const AmqpBusOptions& options, uint64_t seed) : options_(options), rng_(seed) {}

  std::chrono::milliseconds Next() {
    const double base = std::min(
        static_cast<double>(options_.reconnect_initial_delay.count()) * std::pow(2.0, failures_),
        static_cast<double>(options_.reconnect_max_delay.count()));
    ++failures_;
    const double jitter = std::clamp(options_.reconnect_jitter, 0.0, 1.0);
    const double factor =
        jitter > 0 ? std::uniform_real_distribution<double>(1 - jitter, 1 + jitter)(rng_) : 1.0;
    return std::chrono::milliseconds(static_cast<int64_t>(base * factor));
  }
  void Reset() { failures_ = 0; }

 private:
  const AmqpBusOptions& options_;
  std::mt19937_64 rng_;
  int failures_ = 0;
};

inline ConnectionOptions ConnectionOptionsFor(const AmqpBusOptions& options, std::string name) {
  ConnectionOptions out;
  out.name = std::move(name);
  out.heartbeat = options.heartbeat;
  out.connect_timeout = options.connect_timeout;
  out.rpc_timeout = options.operation_timeout;
  return out;
}

}  // namespace shopflow::amqp
