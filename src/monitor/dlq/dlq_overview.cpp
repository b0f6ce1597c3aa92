#include "monitor/dlq/dlq_overview.hpp"

#include <algorithm>
#include <map>

namespace shopflow::monitor {
namespace {

struct CauseGroup {
  std::string cause;
  int64_t count = 0;
  std::string example;
  size_t first_seen = 0;  // tie-break: the group met first (newest) comes first
};

json::array ByReason(const std::vector<DeadLetterRecord>& records) {
  std::map<std::string, CauseGroup> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    std::string cause = CauseOf(records[i].reason);
    auto [it, inserted] = groups.try_emplace(cause);
    if (inserted) {
      it->second.cause = std::move(cause);
      it->second.example = records[i].reason;
      it->second.first_seen = i;
    }
    ++it->second.count;
  }
  std::vector<CauseGroup> sorted;
  sorted.reserve(groups.size());
  for (auto& [cause, group] : groups) sorted.push_back(std::move(group));
  std::sort(sorted.begin(), sorted.end(), [](const CauseGroup& a, const CauseGroup& b) {
    return a.count != b.count ? a.count > b.count : a.first_seen < b.first_seen;
  });
  json::array out;
  for (auto& g : sorted) {
    out.push_back(
        json::object{{"reason", std::move(g.cause)}, {"count", g.count}, {"example", g.example}});
  }
  return out;
}

}  // namespace

json::object BuildOverview(const std::vector<DeadLetterRecord>& records, const Topology& topology,
                           const std::optional<std::string>& only_queue, const Page& page) {
  json::array queues;
  for (const auto& m : topology.modules) {
    if (m.dead_letter_queue.empty()) continue;
    if (only_queue && *only_queue != m.dead_letter_queue) continue;
    int64_t count = 0;
    json::array messages;
    for (const auto& r : records) {
      if (r.queue != m.dead_letter_queue) continue;
      if (count >= page.offset && count - page.offset < page.limit) {
        messages.push_back(r.ToApiJson());
      }
      ++count;
    }
    queues.push_back(json::object{{"queue", m.dead_letter_queue},
                                  {"originalQueue", m.queue},
                                  {"module", m.module},
                                  {"count", count},
                                  {"messages", std::move(messages)}});
  }
  return json::object{{"queues", std::move(queues)},
                      {"total", static_cast<int64_t>(records.size())},
                      {"byReason", ByReason(records)},
                      {"limit", page.limit},
                      {"offset", page.offset}};
}

}  // namespace shopflow::monitor
