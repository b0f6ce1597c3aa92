#pragma once

// The broker-ceiling mode: what the local RabbitMQ itself sustains with shopflow's message
// settings, to set the orders mode's figures against.

#include <boost/json/object.hpp>
#include <string>

namespace shopflow::bench {

struct BrokerOptions {
  std::string url = "amqp://admin:admin123@localhost:5672/ecommerce";
  size_t size = 1024;     // message body bytes
  int publishers = 1;     // connections publishing with confirms
  int consumers = 1;      // connections consuming with manual acks
  int window = 256;       // unconfirmed publishes allowed per publisher (pipelining)
  int prefetch = 256;     // basic.qos per consumer
  double duration_s = 5;  // measured window
  double warmup_s = 1;    // run before the window opens
};

/// Publishes persistent messages to a scratch durable queue (declared for the run, deleted
/// after) from `publishers` confirm-mode channels while `consumers` ack each delivery by hand.
/// Reports confirmed publishes/s and acked deliveries/s over the window; "msgs_per_s" is the
/// lower of the two, a message being one publish and one delivery.
boost::json::object RunBrokerCeiling(const BrokerOptions& options);

}  // namespace shopflow::bench
