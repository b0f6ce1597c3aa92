#include "monitor/saga_timeline.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "events/event_types.hpp"
#include "monitor/message_log.hpp"

namespace shopflow::monitor {
namespace {

/// The fields of one row the ordering looks at.
struct RowInfo {
  std::string at;  // createdAt (RFC 3339 with fixed milliseconds: sorts as a string)
  std::string id;
  std::string message_id;
  std::string status;
  std::string causation_id;
  std::string source;
  std::string module;
  std::string queue;
  int64_t attempt = 0;
};

RowInfo InfoOf(const json::object& row) {
  RowInfo r;
  r.at = GetString(row, "createdAt");
  r.id = GetString(row, "id");
  r.message_id = GetString(row, "messageId");
  r.status = GetString(row, "status");
  r.causation_id = GetString(row, "causationId");
  r.source = GetString(row, "source");
  r.module = GetString(row, "module");
  r.queue = GetString(row, "queue");
  r.attempt = GetInt(row, "attempt");
  return r;
}

bool IsFinal(std::string_view status) {
  return status == message_status::kConsumed || status == message_status::kDeadLettered;
}

/// The causal-order graph of the rows: edges a -> b mean "a is shown before b".
class RowGraph {
 public:
  explicit RowGraph(std::vector<RowInfo> rows)
      : rows_(std::move(rows)), successors_(rows_.size()), indegree_(rows_.size(), 0) {}

  bool Earlier(size_t a, size_t b) const {
    return std::tie(rows_[a].at, rows_[a].id, a) < std::tie(rows_[b].at, rows_[b].id, b);
  }

  /// Whether `candidate` rather than `current` is the row after which a module went on with an
  /// event: the earliest consumption, else (no consumption yet) the latest attempt.
  bool Completes(size_t candidate, size_t current) const {
    const bool c = rows_[candidate].status == message_status::kConsumed;
    const bool b = rows_[current].status == message_status::kConsumed;
    if (c != b) return c;
    return c ? Earlier(candidate, current) : Earlier(current, candidate);
  }

  void Edge(size_t from, size_t to) {
    if (from == to) return;
    successors_[from].push_back(to);
    ++indegree_[to];
  }

  void Build() {
    std::map<std::string, size_t> first_published;
    std::map<std::string, std::vector<size_t>> handled;                // messageId -> rows
    std::map<std::string, std::string> causation;                      // messageId -> causationId
    std::map<std::string, std::string> source;                         // messageId -> publisher
    std::map<std::pair<std::string, std::string>, size_t> completion;  // (messageId, module)
    std::map<std::pair<std::string, std::string>, std::vector<size_t>> attempts;

    for (size_t i = 0; i < rows_.size(); ++i) {
      const RowInfo& r = rows_[i];
      if (!r.causation_id.empty()) causation.emplace(r.message_id, r.causation_id);
      if (!r.source.empty()) source.emplace(r.message_id, r.source);
      if (r.status == message_status::kPublished) {
        auto [it, inserted] = first_published.emplace(r.message_id, i);
        if (!inserted && Earlier(i, it->second)) it->second = i;
        continue;
      }
      handled[r.message_id].push_back(i);
      attempts[{r.message_id, r.queue}].push_back(i);
      // The row after which the module went on: its consumption, else its latest attempt.
      auto [it, inserted] = completion.emplace(std::make_pair(r.message_id, r.module), i);
      if (!inserted && Completes(i, it->second)) it->second = i;
    }

    // Publication before everything else that happened to the event.
    for (size_t i = 0; i < rows_.size(); ++i) {
      auto it = first_published.find(rows_[i].message_id);
      if (it != first_published.end()) Edge(it->second, i);
    }
    // Attempts of one delivery in attempt order (clocks may disagree; attempt numbers do not).
    for (auto& [key, list] : attempts) {
      std::sort(list.begin(), list.end(), [&](size_t a, size_t b) {
        if (rows_[a].attempt != rows_[b].attempt) return rows_[a].attempt < rows_[b].attempt;
        return Earlier(a, b);
      });
      for (size_t k = 1; k < list.size(); ++k) Edge(list[k - 1], list[k]);
    }
    // An event after the row of its cause that produced it.
    std::set<std::string> events;
    for (const auto& r : rows_) events.insert(r.message_id);
    for (const auto& message_id : events) {
      auto cause = causation.find(message_id);
      if (cause == causation.end()) continue;
      std::optional<size_t> from;
      if (auto s = source.find(message_id); s != source.end()) {
        if (auto c = completion.find({cause->second, s->second}); c != completion.end()) {
          from = c->second;
        }
      }
      if (!from) {
        if (auto p = first_published.find(cause->second); p != first_published.end()) {
          from = p->second;
        } else if (auto h = handled.find(cause->second); h != handled.end()) {
          from = *std::min_element(h->second.begin(), h->second.end(),
                                   [&](size_t a, size_t b) { return Earlier(a, b); });
        }
      }
      if (!from) continue;
      if (auto p = first_published.find(message_id); p != first_published.end()) {
        Edge(*from, p->second);
      } else {
        for (size_t row : handled[message_id]) Edge(*from, row);
      }
    }
  }

  /// Kahn's algorithm, the earliest ready row first; rows left in a cycle come last, by time.
  std::vector<size_t> Order() {
    auto later = [this](size_t a, size_t b) { return Earlier(b, a); };
    std::priority_queue<size_t, std::vector<size_t>, decltype(later)> ready(later);
    for (size_t i = 0; i < rows_.size(); ++i) {
      if (indegree_[i] == 0) ready.push(i);
    }
    std::vector<size_t> out;
    std::vector<bool> emitted(rows_.size(), false);
    while (!ready.empty()) {
      const size_t i = ready.top();
      ready.pop();
      out.push_back(i);
      emitted[i] = true;
      for (size_t next : successors_[i]) {
        if (--indegree_[next] == 0) ready.push(next);
      }
    }
    if (out.size() < rows_.size()) {
      std::vector<size_t> rest;
      for (size_t i = 0; i < rows_.size(); ++i) {
        if (!emitted[i]) rest.push_back(i);
      }
      std::sort(rest.begin(), rest.end(), [this](size_t a, size_t b) { return Earlier(a, b); });
      out.insert(out.end(), rest.begin(), rest.end());
    }
    return out;
  }

 private:
  std::vector<RowInfo> rows_;
  std::vector<std::vector<size_t>> successors_;
  std::vector<int> indegree_;
};

json::object TimelineEntry(const json::object& row) {
  json::object e{{"messageId", GetString(row, "messageId")},
                 {"eventType", GetString(row, "eventType")},
                 {"module", GetString(row, "module")},
                 {"source", GetString(row, "source")},
                 {"status", GetString(row, "status")},
                 {"causationId", GetString(row, "causationId")},
                 {"correlationId", GetString(row, "correlationId")},
                 {"at", GetString(row, "createdAt")}};
  for (const char* field : {"queue", "attempt", "durationMs", "reason"}) {
    if (const auto* v = row.if_contains(field)) e[field] = *v;
  }
  return e;
}

/// What the saga still lacks to have reached an end (EVENTS.md "The order saga").
std::vector<std::string> MissingSteps(const std::set<std::string, std::less<>>& seen) {
  auto has = [&](std::string_view type) { return seen.contains(type); };
  std::vector<std::string> missing;
  auto need = [&](std::string_view type) {
    if (!has(type)) missing.emplace_back(type);
  };
  if (has(events::kOrderCancelled) || has(events::kOrderFailed)) {
    if (has(events::kInventoryReserved)) need(events::kInventoryReleased);
    if (has(events::kPaymentSucceeded)) {
      need(events::kPaymentRefunded);
    } else if (has(events::kPaymentRequested) && !has(events::kPaymentFailed) &&
               !has(events::kPaymentRefunded)) {
      missing.emplace_back(events::kPaymentFailed);
    }
    return missing;
  }
  if (!has(events::kOrderConfirmed)) {
    need(events::kOrderCreated);
    need(events::kInventoryReserved);
    need(events::kPaymentSucceeded);
    need(events::kOrderConfirmed);
  }
  need(events::kInventoryConfirmed);
  return missing;
}

/// Deliveries the topology promises that have no final row yet: "EVENT -> queue".
std::vector<std::string> DeliveriesInFlight(const std::vector<json::object>& rows,
                                            const Topology& topology) {
  std::map<std::string, std::pair<std::string, std::string>> published;  // id -> (type, key)
  std::set<std::pair<std::string, std::string>> settled;                 // (id, queue)
  for (const auto& row : rows) {
    const std::string id = GetString(row, "messageId");
    const std::string status = GetString(row, "status");
    if (status == message_status::kPublished) {
      std::string key = GetString(row, "routingKey");
      const std::string type = GetString(row, "eventType");
      if (key.empty()) key = std::string(RoutingKeyFor(type).value_or(""));
      published.emplace(id, std::make_pair(type, std::move(key)));
    } else if (IsFinal(status)) {
      settled.emplace(id, GetString(row, "queue"));
    }
  }
  std::vector<std::string> out;
  for (const auto& [id, event] : published) {
    if (event.second.empty()) continue;
    for (const auto& queue : topology.Route(topology.events_exchange, event.second)) {
      if (!settled.contains({id, queue})) out.push_back(event.first + " -> " + queue);
    }
  }
  return out;
}

}  // namespace

std::vector<json::object> CausalOrder(std::vector<json::object> rows) {
  std::vector<RowInfo> infos;
  infos.reserve(rows.size());
  for (const auto& row : rows) infos.push_back(InfoOf(row));
  RowGraph graph(std::move(infos));
  graph.Build();
  std::vector<json::object> out;
  out.reserve(rows.size());
  for (size_t i : graph.Order()) out.push_back(std::move(rows[i]));
  return out;
}

json::object BuildTimeline(std::string_view order_id, std::vector<json::object> rows,
                           const Topology& topology) {
  rows = CausalOrder(std::move(rows));
  json::array entries;
  std::set<std::string, std::less<>> seen;
  std::string started, last;
  for (const auto& row : rows) {
    entries.push_back(TimelineEntry(row));
    seen.insert(GetString(row, "eventType"));
    const std::string at = GetString(row, "createdAt");
    if (started.empty() || at < started) started = at;
    if (at > last) last = at;
  }
  std::vector<std::string> pending = MissingSteps(seen);
  for (auto& d : DeliveriesInFlight(rows, topology)) pending.push_back(std::move(d));

  json::object timeline{{"orderId", order_id},
                        {"events", std::move(entries)},
                        {"settled", pending.empty()},
                        {"startedAt", started},
                        {"lastEventAt", last}};
  if (!pending.empty()) {
    json::array steps;
    for (auto& p : pending) steps.emplace_back(std::move(p));
    timeline["pendingSteps"] = std::move(steps);
  }
  return timeline;
}

}  // namespace shopflow::monitor
