#include "events/topology.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace shopflow {

std::string_view ExchangeKindName(ExchangeKind kind) {
  switch (kind) {
    case ExchangeKind::kTopic:
      return "topic";
    case ExchangeKind::kFanout:
      return "fanout";
    case ExchangeKind::kDirect:
      return "direct";
  }
  return "topic";
}

std::chrono::milliseconds RetryPolicy::DelayAfter(int failures) const {
  const double base =
      static_cast<double>(initial_delay.count()) * std::pow(multiplier, std::max(0, failures - 1));
  const double capped = std::min(base, static_cast<double>(max_delay.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(capped));
}

const ExchangeSpec* Topology::FindExchange(std::string_view name) const {
  for (const auto& e : exchanges) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const QueueSpec* Topology::FindQueue(std::string_view name) const {
  for (const auto& q : queues) {
    if (q.name == name) return &q;
  }
  return nullptr;
}

const ModuleQueues* Topology::FindModule(std::string_view module) const {
  for (const auto& m : modules) {
    if (m.module == module) return &m;
  }
  return nullptr;
}

const ModuleQueues* Topology::ModuleOfQueue(std::string_view queue) const {
  for (const auto& m : modules) {
    if (m.queue == queue || m.dead_letter_queue == queue ||
        std::find(m.retry_queues.begin(), m.retry_queues.end(), queue) != m.retry_queues.end()) {
      return &m;
    }
  }
  return nullptr;
}

namespace {

std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> words;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    words.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return words;
}

bool MatchWords(const std::vector<std::string_view>& p, size_t pi,
                const std::vector<std::string_view>& k, size_t ki) {
  while (pi < p.size()) {
    if (p[pi] == "#") {
      // '#' absorbs zero or more words: try every split point.
      for (size_t skip = ki; skip <= k.size(); ++skip) {
        if (MatchWords(p, pi + 1, k, skip)) return true;
      }
      return false;
    }
    if (ki >= k.size()) return false;
    if (p[pi] != "*" && p[pi] != k[ki]) return false;
    ++pi;
    ++ki;
  }
  return ki == k.size();
}

}  // namespace

bool TopicMatches(std::string_view pattern, std::string_view routing_key) {
  return MatchWords(Split(pattern), 0, Split(routing_key), 0);
}

std::vector<std::string> Topology::Route(std::string_view exchange,
                                         std::string_view routing_key) const {
  std::vector<std::string> queues_out;
  std::vector<std::string_view> visited;
  std::function<void(std::string_view)> visit = [&](std::string_view name) {
    if (std::find(visited.begin(), visited.end(), name) != visited.end()) return;
    visited.push_back(name);
    const ExchangeSpec* ex = FindExchange(name);
    if (!ex) return;
    for (const auto& b : bindings) {
      if (b.source != name) continue;
      bool match = false;
      switch (ex->kind) {
        case ExchangeKind::kFanout:
          match = true;
          break;
        case ExchangeKind::kDirect:
          match = b.routing_key == routing_key;
          break;
        case ExchangeKind::kTopic:
          match = TopicMatches(b.routing_key, routing_key);
          break;
      }
      if (!match) continue;
      if (b.destination_is_exchange) {
        visit(b.destination);
      } else if (std::find(queues_out.begin(), queues_out.end(), b.destination) ==
                 queues_out.end()) {
        queues_out.push_back(b.destination);
      }
    }
  };
  // The default exchange ("") routes straight to the queue named by the routing key.
  if (exchange.empty()) {
    if (FindQueue(routing_key)) queues_out.emplace_back(routing_key);
    return queues_out;
  }
  visit(exchange);
  return queues_out;
}

Topology DefaultTopology(const RetryPolicy& retry) {
  Topology t;
  t.retry = retry;
  t.exchanges = {{t.events_exchange, ExchangeKind::kTopic},
                 {t.notifications_exchange, ExchangeKind::kFanout},
                 {t.dead_letter_exchange, ExchangeKind::kDirect},
                 {t.retry_exchange, ExchangeKind::kDirect}};

  struct ModuleDef {
    const char* module;
    const char* dead_letter_queue;
  };
  const ModuleDef defs[] = {{"orders", "dlq.orders.created.failed"},
                            {"payments", "dlq.payments.process.failed"},
                            {"inventory", "dlq.inventory.reserve.failed"},
                            {"notifications", "dlq.notifications.send.failed"}};
  const int tiers = std::max(0, retry.max_attempts - 1);
  for (const auto& def : defs) {
    ModuleQueues m;
    m.module = def.module;
    m.queue = std::string(def.module) + ".events.queue";
    m.dead_letter_queue = def.dead_letter_queue;
    t.queues.push_back(QueueSpec{m.queue, QueueRole::kModule, m.module});
    for (int i = 1; i <= tiers; ++i) {
      // The delay is part of the name: a queue's TTL cannot change once declared, so a new
      // retry policy declares new tiers instead of failing against an existing broker.
      const auto delay = retry.DelayAfter(i);
      QueueSpec tier{"retry." + m.module + ".queue." + std::to_string(i) + "." +
                         std::to_string(delay.count()) + "ms",
                     QueueRole::kRetry, m.module};
      tier.message_ttl = delay;
      tier.dead_letter_exchange = "";          // the default exchange...
      tier.dead_letter_routing_key = m.queue;  // ...straight back into the module queue
      m.retry_queues.push_back(tier.name);
      t.bindings.push_back({t.retry_exchange, tier.name, false, tier.name});
      t.queues.push_back(std::move(tier));
    }
    QueueSpec dlq{m.dead_letter_queue, QueueRole::kDeadLetter, m.module};
    dlq.message_ttl = std::chrono::hours(24);
    t.queues.push_back(dlq);
    t.bindings.push_back({t.dead_letter_exchange, m.dead_letter_queue, false, m.queue});
    t.modules.push_back(std::move(m));
  }

  auto bind = [&](const std::string& queue, const char* key) {
    t.bindings.push_back({t.events_exchange, queue, false, key});
  };
  bind("orders.events.queue", "payment.*");
  bind("orders.events.queue", "inventory.*");
  bind("payments.events.queue", "order.created");
  bind("payments.events.queue", "order.cancelled");
  bind("payments.events.queue", "order.failed");
  bind("inventory.events.queue", "order.*");
  bind("inventory.events.queue", "payment.*");
  // Notifications hear the events they act on through the fanout exchange (EVENTS.md).
  t.bindings.push_back({t.notifications_exchange, "notifications.events.queue", false, ""});
  for (const char* key :
       {"order.created", "order.failed", "payment.succeeded", "inventory.low_stock"}) {
    t.bindings.push_back({t.events_exchange, t.notifications_exchange, true, key});
  }
  return t;
}

}  // namespace shopflow
