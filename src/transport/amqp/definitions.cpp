#include "transport/amqp/definitions.hpp"

#include <boost/json/array.hpp>
#include <utility>
#include <variant>

#include "transport/amqp/wire_message.hpp"

namespace shopflow {

json::object TopologyDefinitions(const Topology& topology, std::string vhost) {
  json::array exchanges;
  for (const ExchangeSpec& e : topology.exchanges) {
    exchanges.push_back(json::object{{"name", e.name},
                                     {"vhost", vhost},
                                     {"type", ExchangeKindName(e.kind)},
                                     {"durable", e.durable},
                                     {"auto_delete", false},
                                     {"internal", false},
                                     {"arguments", json::object{}}});
  }

  json::array queues;
  for (const QueueSpec& q : topology.queues) {
    json::object arguments;
    for (const amqp::QueueArgument& arg : amqp::QueueArguments(q)) {
      std::visit([&](const auto& value) { arguments[arg.name] = value; }, arg.value);
    }
    queues.push_back(json::object{{"name", q.name},
                                  {"vhost", vhost},
                                  {"durable", q.durable},
                                  {"auto_delete", false},
                                  {"arguments", std::move(arguments)}});
  }

  json::array bindings;
  for (const BindingSpec& b : topology.bindings) {
    bindings.push_back(
        json::object{{"source", b.source},
                     {"vhost", vhost},
                     {"destination", b.destination},
                     {"destination_type", b.destination_is_exchange ? "exchange" : "queue"},
                     {"routing_key", b.routing_key},
                     {"arguments", json::object{}}});
  }

  json::object vhost_entry{{"name", vhost}};
  return json::object{{"vhosts", json::array{std::move(vhost_entry)}},
                      {"exchanges", std::move(exchanges)},
                      {"queues", std::move(queues)},
                      {"bindings", std::move(bindings)}};
}

}  // namespace shopflow
