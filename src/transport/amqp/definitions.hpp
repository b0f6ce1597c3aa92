#pragma once

#include <string>

#include "core/json.hpp"
#include "events/topology.hpp"

namespace shopflow {

/// The topology as a RabbitMQ definitions document, for `rabbitmqctl import_definitions FILE`
/// or the management API's POST /api/definitions:
///
///   {"vhosts": [{"name": vhost}],
///    "exchanges": [{"name", "vhost", "type", "durable", "auto_delete": false,
///                   "internal": false, "arguments": {}}, ...],
///    "queues": [{"name", "vhost", "durable", "auto_delete": false,
///                "arguments": {"x-message-ttl": 86400000, ...}}, ...],
///    "bindings": [{"source", "vhost", "destination", "destination_type": "queue"|"exchange",
///                  "routing_key", "arguments": {}}, ...]}
///
/// Queue arguments come from the same function the transport declares with, so an imported
/// topology and a declared one are equivalent (a later declaration succeeds). No users or
/// permissions: the document carries no secret. Pure (no rabbitmq-c), thread-safe.
json::object TopologyDefinitions(const Topology& topology, std::string vhost = "ecommerce");

}  // namespace shopflow
