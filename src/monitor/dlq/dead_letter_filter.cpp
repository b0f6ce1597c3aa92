#include "monitor/dlq/dead_letter_filter.hpp"

#include <algorithm>
#include <cctype>

namespace shopflow::monitor {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr size_t kMaxFilterLength = 200;

// The checks shared by the query string and the body: each problem goes to `fail`.
template <class Fail>
void CheckTimes(const DeadLetterFilter& filter, Fail fail) {
  if (filter.since && filter.until && *filter.since > *filter.until) {
    fail("since", "must not be later than until");
  }
}

std::string QueueIssue(const Topology& topology) {
  std::string names;
  for (const auto& m : topology.modules) {
    if (!names.empty()) names += ", ";
    names += m.dead_letter_queue;
  }
  return "must be a dead-letter queue (" + names + "), its module queue or its module";
}

}  // namespace

std::vector<FieldFilter> DeadLetterFilter::StoreFilters() const {
  std::vector<FieldFilter> filters;
  if (status) filters.push_back({"status", FieldFilter::Op::kEq, std::string(StatusName(*status))});
  if (queue) filters.push_back({"queue", FieldFilter::Op::kEq, *queue});
  if (event_type) filters.push_back({"eventType", FieldFilter::Op::kEq, *event_type});
  if (since) filters.push_back({"lastFailure", FieldFilter::Op::kGte, FormatRfc3339(*since)});
  if (until) filters.push_back({"lastFailure", FieldFilter::Op::kLte, FormatRfc3339(*until)});
  return filters;
}

bool DeadLetterFilter::MatchesReason(std::string_view text) const {
  if (!reason) return true;
  return Lower(text).find(Lower(*reason)) != std::string::npos;
}

json::object DeadLetterFilter::ToJson() const {
  json::object out;
  if (queue) out["queue"] = *queue;
  if (event_type) out["eventType"] = *event_type;
  if (reason) out["reason"] = *reason;
  if (since) out["since"] = FormatRfc3339(*since);
  if (until) out["until"] = FormatRfc3339(*until);
  if (status) out["status"] = StatusName(*status);
  return out;
}

std::optional<std::string> ResolveDeadLetterQueue(const Topology& topology, std::string_view name) {
  for (const auto& m : topology.modules) {
    if (m.dead_letter_queue.empty()) continue;
    if (m.dead_letter_queue == name || m.queue == name || m.module == name) {
      return m.dead_letter_queue;
    }
  }
  return std::nullopt;
}

Result<DeadLetterFilter> FilterFromQuery(const ApiRequest& request, const Topology& topology) {
  DeadLetterFilter filter;
  filter.status = DeadLetterStatus::kDead;
  std::vector<ErrorDetail> details;
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    auto value = request.Query(name);
    if (!value || value->empty()) return std::nullopt;
    if (value->size() > kMaxFilterLength) {
      details.push_back({std::string(name),
                         "must be at most " + std::to_string(kMaxFilterLength) + " characters"});
      return std::nullopt;
    }
    return std::string(*value);
  };
  auto time = [&](std::string_view name) -> std::optional<TimePoint> {
    auto value = text(name);
    if (!value) return std::nullopt;
    auto parsed = ParseRfc3339(*value);
    if (!parsed) details.push_back({std::string(name), "must be an RFC 3339 time"});
    return parsed;
  };

  if (auto queue = text("queue")) {
    filter.queue = ResolveDeadLetterQueue(topology, *queue);
    if (!filter.queue) details.push_back({"queue", QueueIssue(topology)});
  }
  filter.event_type = text("eventType");
  filter.reason = text("reason");
  filter.since = time("since");
  filter.until = time("until");
  if (auto status = text("status")) {
    if (*status == "all") {
      filter.status.reset();
    } else {
      filter.status = ParseDeadLetterStatus(*status);
      if (!filter.status) {
        details.push_back({"status", "must be one of " + std::string(kStatusList) + ", all"});
      }
    }
  }
  CheckTimes(filter, [&](std::string_view field, std::string issue) {
    details.push_back({std::string(field), std::move(issue)});
  });
  if (!details.empty()) return ValidationError("invalid query parameters", std::move(details));
  return filter;
}

Result<RedriveAllRequest> ParseRedriveAll(const json::object& body, const Topology& topology,
                                          const DlqOptions& options) {
  RedriveAllRequest request;
  request.filter.status = DeadLetterStatus::kDead;
  request.limit = options.retry_all_default_limit;
  BodyReader r(body);

  if (auto queue = r.OptionalString("queue", kMaxFilterLength)) {
    request.filter.queue = ResolveDeadLetterQueue(topology, *queue);
    if (!request.filter.queue) r.Fail("queue", QueueIssue(topology));
  }
  request.filter.event_type = r.OptionalString("eventType", kMaxFilterLength);
  request.filter.reason = r.OptionalString("reason", kMaxFilterLength);
  for (auto [field, target] :
       {std::pair{"since", &request.filter.since}, std::pair{"until", &request.filter.until}}) {
    if (auto value = r.OptionalString(field, kMaxFilterLength)) {
      *target = ParseRfc3339(*value);
      if (!*target) r.Fail(field, "must be an RFC 3339 time");
    }
  }
  // BodyReader has no boolean accessor: read it by hand and mark it known.
  r.Ignore("dryRun");
  if (const json::value* dry_run = body.if_contains("dryRun"); dry_run && !dry_run->is_null()) {
    if (dry_run->is_bool()) {
      request.dry_run = dry_run->get_bool();
    } else {
      r.Fail("dryRun", "must be a boolean");
    }
  }
  if (auto limit = r.OptionalInt("limit", 1, options.retry_all_max_limit)) request.limit = *limit;
  CheckTimes(request.filter,
             [&](std::string_view field, std::string issue) { r.Fail(field, std::move(issue)); });
  r.RejectUnknownFields();
  if (auto done = r.Finish(); !done) return std::move(done).error();
  return request;
}

}  // namespace shopflow::monitor
