#include "monitor/live/live_feed.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/thread_name.hpp"
#include "events/message_status.hpp"
#include "http/request_target.hpp"

namespace shopflow::monitor {

struct LiveFeed::Snapshot {
  std::mutex mutex;
  WebSocketHub::Frame stats;   // guarded by mutex
  WebSocketHub::Frame health;  // guarded by mutex
};

namespace {

// A source's document, or nullopt when there is no source or it failed (logged).
std::optional<json::object> Query(const JsonSource& source, const char* what) {
  if (!source) return std::nullopt;
  try {
    return source();
  } catch (const std::exception& e) {
    spdlog::warn("live: the {} source failed: {}", what, e.what());
  } catch (...) {
    spdlog::warn("live: the {} source failed with a non-standard exception", what);
  }
  return std::nullopt;
}

// {"type": type, ...document, "timestamp": now unless the document has one}.
json::object DocumentFrame(std::string_view type, json::object document, TimePoint now) {
  json::object frame;
  frame["type"] = type;
  for (auto& member : document) {
    if (member.key() != "type") frame[member.key()] = std::move(member.value());
  }
  if (!frame.contains("timestamp")) frame["timestamp"] = FormatRfc3339(now);
  return frame;
}

// What identifies a health state: a change in anything else (uptime, counters, details of
// the modules) is not worth a frame.
std::string HealthKey(const json::object& health) {
  json::object key;
  const json::value* status = health.if_contains("status");
  const json::value* services = health.if_contains("services");
  key["status"] = status != nullptr ? *status : json::value(nullptr);
  key["services"] = services != nullptr ? *services : json::value(nullptr);
  return ToJsonText(key);
}

// A message_flow frame's topic for the hub's per-client filters: "status:eventType".
std::string FlowTopic(std::string_view event_type, std::string_view status) {
  std::string topic;
  topic.reserve(status.size() + 1 + event_type.size());
  topic.append(status).append(":").append(event_type);
  return topic;
}

// Adds the comma-separated, non-empty items of `list` to `into`.
void AddItems(std::string_view list, std::set<std::string, std::less<>>& into) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (!item.empty()) into.emplace(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

Result<WebSocketHub::Interest> ParseFlowFilter(std::string_view target) {
  auto parsed = ParseRequestTarget(target);
  if (!parsed) return std::move(parsed).error();
  auto event_types = std::make_shared<std::set<std::string, std::less<>>>();
  auto statuses = std::make_shared<std::set<std::string, std::less<>>>();
  bool filtered = false;
  for (const auto& [name, value] : parsed->query) {
    if (name == "eventType") {
      AddItems(value, *event_types);
      filtered = true;
    } else if (name == "status") {
      AddItems(value, *statuses);
      filtered = true;
    }
  }
  for (const auto& status : *statuses) {
    if (!IsMessageStatus(status)) {
      return ValidationError(
          "invalid stream filter",
          {{"status", "each must be one of published, consumed, failed, dead_lettered"}});
    }
  }
  if (!filtered) return WebSocketHub::Interest{};
  return WebSocketHub::Interest([event_types, statuses](std::string_view topic) {
    const auto colon = topic.find(':');
    if (colon == std::string_view::npos) return false;
    const std::string_view status = topic.substr(0, colon);
    const std::string_view event_type = topic.substr(colon + 1);
    return (statuses->empty() || statuses->contains(status)) &&
           (event_types->empty() || event_types->contains(event_type));
  });
}

LiveFeed::LiveFeed(WebSocketHub& hub, JsonSource stats, JsonSource health, const Clock& clock,
                   LiveFeedOptions options)
    : hub_(hub),
      stats_(std::move(stats)),
      health_(std::move(health)),
      clock_(clock),
      options_(options),
      snapshot_(std::make_shared<Snapshot>()) {
  // The hook runs on an HTTP I/O thread: it only copies the cached frames (no source call).
  hub_.SetOnConnect([snapshot = snapshot_](WebSocketHub::ClientId) {
    std::vector<WebSocketHub::Frame> frames;
    std::lock_guard lock(snapshot->mutex);
    if (snapshot->stats) frames.push_back(snapshot->stats);
    if (snapshot->health) frames.push_back(snapshot->health);
    return frames;
  });
  hub_.SetInterestParser(ParseFlowFilter);
}

LiveFeed::~LiveFeed() {
  Stop();
  hub_.SetOnConnect(nullptr);
  hub_.SetInterestParser(nullptr);
}

void LiveFeed::Start() {
  if (ticker_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  ticker_ = std::thread([this] {
    SetThreadName("live-feed");
    TickerLoop();
  });
}

void LiveFeed::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void LiveFeed::TickerLoop() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    Tick();
    lock.lock();
    // A fixed rate, without a burst of catch-up ticks after a slow source.
    next += options_.stats_interval;
    const auto now = std::chrono::steady_clock::now();
    if (next <= now) next = now + options_.stats_interval;
    wake_.wait_until(lock, next, [this] { return stop_; });
  }
}

void LiveFeed::Tick() {
  try {
    // The snapshot is updated before the broadcast, so a client connecting meanwhile gets
    // this state either way (the hub never lets a broadcast overtake the welcome frames).
    if (auto stats = Query(stats_, "stats")) {
      auto frame = Serialize(DocumentFrame("stats_update", std::move(*stats), clock_.Now()));
      {
        std::lock_guard lock(snapshot_->mutex);
        snapshot_->stats = frame;
      }
      hub_.Broadcast(std::move(frame));
    }
    if (auto health = Query(health_, "health")) {
      std::string key = HealthKey(*health);
      if (key != last_health_key_) {
        last_health_key_ = std::move(key);
        auto frame = Serialize(DocumentFrame("system_health", std::move(*health), clock_.Now()));
        {
          std::lock_guard lock(snapshot_->mutex);
          snapshot_->health = frame;
        }
        hub_.Broadcast(std::move(frame));
      }
    }
  } catch (const std::exception& e) {
    // Only allocation can fail here; the next tick tries again.
    spdlog::error("live: tick failed: {}", e.what());
  }
}

// Without the event's data: Serialize writes it in place (copying it into the frame first would
// allocate every key and string of it again, for every frame).
json::object LiveFeed::FlowFrame(const Envelope& envelope, std::string_view status) const {
  const EventMetadata& meta = envelope.metadata;
  json::object frame;
  frame["type"] = "message_flow";
  frame["eventType"] = envelope.event_type;
  frame["status"] = status;
  frame["timestamp"] = FormatRfc3339(meta.timestamp);
  frame["source"] = meta.source;
  frame["correlationId"] = meta.correlation_id;
  frame["messageId"] = meta.message_id;
  frame["causationId"] =
      meta.causation_id.empty() ? json::value(nullptr) : json::value(meta.causation_id);
  return frame;
}

WebSocketHub::Frame LiveFeed::Serialize(const json::object& frame) {
  frames_serialized_.fetch_add(1, std::memory_order_relaxed);
  return std::make_shared<const std::string>(ToJsonText(frame));
}

WebSocketHub::Frame LiveFeed::Serialize(const json::object& frame, const json::object& data) {
  frames_serialized_.fetch_add(1, std::memory_order_relaxed);
  return std::make_shared<const std::string>(ToJsonText(frame, "data", data));
}

void LiveFeed::OnPublished(std::span<const Envelope> batch) {
  // Nobody watching: no copy, no serialization (the observer runs on the publishing thread).
  if (hub_.client_count() == 0) return;
  try {
    for (const Envelope& envelope : batch) {
      // Built only if some client's filter lets it through.
      hub_.Broadcast(FlowTopic(envelope.event_type, message_status::kPublished), [&] {
        return Serialize(FlowFrame(envelope, message_status::kPublished), envelope.data);
      });
    }
  } catch (const std::exception& e) {
    spdlog::error("live: cannot build a message_flow frame: {}", e.what());
  }
}

void LiveFeed::OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                         std::chrono::nanoseconds took) {
  if (hub_.client_count() == 0) return;
  try {
    std::string_view status = message_status::kConsumed;
    switch (outcome.kind) {
      case HandlerOutcome::Kind::kAck:
        break;
      case HandlerOutcome::Kind::kRetry:
        status = message_status::kFailed;
        break;
      case HandlerOutcome::Kind::kDeadLetter:
        status = message_status::kDeadLettered;
        break;
    }
    hub_.Broadcast(FlowTopic(delivery.envelope.event_type, status), [&] {
      json::object frame = FlowFrame(delivery.envelope, status);
      frame["queue"] = delivery.queue;
      frame["attempt"] = delivery.attempt;
      frame["durationMs"] = std::chrono::duration<double, std::milli>(took).count();
      frame["handledAt"] = FormatRfc3339(clock_.Now());
      if (outcome.kind != HandlerOutcome::Kind::kAck) frame["reason"] = outcome.reason;
      return Serialize(frame, delivery.envelope.data);
    });
  } catch (const std::exception& e) {
    spdlog::error("live: cannot build a message_flow frame: {}", e.what());
  }
}

}  // namespace shopflow::monitor
