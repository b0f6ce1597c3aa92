#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "events/envelope.hpp"
#include "events/event_bus.hpp"
#include "events/observed_event_bus.hpp"
#include "http/websocket_hub.hpp"

namespace shopflow::monitor {

/// Settings of a LiveFeed.
struct LiveFeedOptions {
  /// Period of stats_update frames and of health checks.
  std::chrono::milliseconds stats_interval{1000};
};

/// Produces a JSON document for a frame. Called on the feed's ticker thread only (never on an
/// HTTP I/O thread), once per tick, so it may block briefly (store or broker queries). An
/// exception is logged and that tick's frame is skipped.
using JsonSource = std::function<json::object()>;

/// The dashboard's live stream (seed.md "Dashboard Real-time", API.md "WS /ws"): turns what
/// the process observes into WebSocket frames and broadcasts them through a WebSocketHub.
///
///  - message_flow, one per published event (OnPublished) and one per handled delivery
///    (OnHandled): {type, eventType, status, data, timestamp, source, correlationId,
///    messageId, causationId}, status "published"; deliveries add queue, attempt, durationMs,
///    handledAt and reason (when not acknowledged), status "consumed" | "failed" |
///    "dead_lettered".
///  - stats_update every stats_interval: {type, ...stats source, timestamp}.
///  - system_health when the health document's `status` or `services` changed since the last
///    one sent (the first tick always sends): {type, ...health source, timestamp}.
///
/// Each frame is serialized once and the same bytes go to every client; with no client
/// connected, events cost nothing. The feed keeps no queue: bursts are bounded by the hub's
/// per-client queues (slow clients are dropped there). It registers the hub's connect hook so
/// that a new client first receives the latest stats_update and system_health, and its
/// interest parser (ParseFlowFilter) so that a client may ask for some message_flow frames
/// only: a frame no client wants is not even built.
///
/// Separate processes: the feed shows what the ObservedEventBus it observes sees, i.e. events
/// published and deliveries handled in the process that serves the dashboard; the composition
/// root also feeds it the publications, retries and dead letters of the other processes, read
/// from a tap on the broker (AmqpEventBus::SetTap).
///
/// Thread-safety: OnPublished/OnHandled may be called from any threads concurrently; Start,
/// Stop and destruction from one controlling thread. Lifetime: `hub` and `clock` must outlive
/// the feed; the feed must outlive the bus it observes (EventObserver contract) and be
/// stopped before the sources' referents go away.
/// A client's message_flow filter from its /ws target: `eventType` and `status`, each a
/// comma-separated list (or repeated), as in /api/messages; a frame passes when it matches both
/// given lists. Neither given: every frame. stats_update and system_health frames always pass.
/// kValidationFailed (the upgrade is refused with 400) for a status that does not exist.
Result<WebSocketHub::Interest> ParseFlowFilter(std::string_view target);

class LiveFeed final : public EventObserver {
 public:
  /// Does not start the ticker (Start()). `stats` and `health` may be empty (no such frames).
  LiveFeed(WebSocketHub& hub, JsonSource stats, JsonSource health,
           const Clock& clock = SystemClock::Instance(), LiveFeedOptions options = {});
  /// Stops the ticker and removes the hub's connect hook.
  ~LiveFeed() override;
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  /// Starts the ticker thread; its first tick runs at once. No-op while running.
  void Start();
  /// Stops and joins the ticker (promptly: it does not wait for the next tick). Idempotent;
  /// Start() may follow. Event frames keep flowing while stopped.
  void Stop();

  void OnPublished(std::span<const Envelope> batch) override;
  void OnHandled(const Delivery& delivery, const HandlerOutcome& outcome,
                 std::chrono::nanoseconds took) override;

  /// Frames serialized since construction (each once, whatever the number of clients).
  uint64_t frames_serialized() const { return frames_serialized_.load(); }

 private:
  struct Snapshot;  // the latest stats and health frames, shared with the hub's hook

  void TickerLoop();
  void Tick();
  json::object FlowFrame(const Envelope& envelope, std::string_view status) const;
  WebSocketHub::Frame Serialize(const json::object& frame);
  /// A message_flow frame: `frame` plus its "data" member, written without a copy.
  WebSocketHub::Frame Serialize(const json::object& frame, const json::object& data);

  WebSocketHub& hub_;
  const JsonSource stats_;
  const JsonSource health_;
  const Clock& clock_;
  const LiveFeedOptions options_;
  const std::shared_ptr<Snapshot> snapshot_;
  std::atomic<uint64_t> frames_serialized_{0};
  std::string last_health_key_;  // ticker thread only

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mutex_
  std::thread ticker_;
};

}  // namespace shopflow::monitor
