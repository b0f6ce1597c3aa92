#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api.hpp"
#include "core/clock.hpp"
#include "core/request_context.hpp"
#include "events/event_bus.hpp"
#include "notifications/channel.hpp"
#include "notifications/notification.hpp"
#include "notifications/notifications_options.hpp"
#include "notifications/template_renderer.hpp"
#include "storage/store.hpp"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace shopflow::notifications {

struct NotificationFilter {
  std::optional<NotificationType> type;
  std::optional<NotificationStatus> status;
  std::optional<std::string> recipient;
};

struct NotificationPage {
  std::vector<Notification> notifications;
  int64_t total = 0;
};

/// The notifications use cases: sending through the API, delivering what events call for,
/// listing the history, and resending what a crash left pending.
///
/// Every send has two phases, because a channel is blocking external I/O that must not run
/// inside a store transaction: (1) the notification is stored `pending` (for events, in the same
/// write as the inbox mark); then the channel is called outside any transaction; then (2) one
/// write stores `sent` or `failed` together with its NOTIFICATION_EMAIL_SENT / _SMS_SENT /
/// _PUSH_SENT or NOTIFICATION_FAILED event (outbox). A channel failure is an outcome, not an
/// error: the notification is stored `failed`, its event published, and nothing is retried. A
/// crash between the channel call and phase 2 leaves the notification `pending`; RetryPending
/// sends it again, so the outside world sees at least once (unavoidable with SMTP), while the
/// store and the events see each notification settled exactly once.
///
/// Thread-safe. `store` and `clock` must outlive the service; the service must outlive its
/// routes and event handler. Destruction waits for the channel calls in flight.
class NotificationService {
 public:
  /// The inbox consumer name of the saga reactions.
  static constexpr std::string_view kConsumer = "notifications";
  /// The event source of everything this module publishes.
  static constexpr std::string_view kSource = "notifications";

  /// Throws std::invalid_argument when a channel is missing (a wiring bug). Logs a warning when
  /// template files are missing (see templates().Verify()).
  NotificationService(Store& store, const Clock& clock, NotificationsOptions options,
                      NotificationChannels channels);
  ~NotificationService();
  NotificationService(const NotificationService&) = delete;
  NotificationService& operator=(const NotificationService&) = delete;

  /// The collection this module stores (for the store's schema): "notifications", indexed on
  /// type, status and recipient.
  static std::vector<CollectionSpec> Collections();

  /// POST /api/notifications/{email,sms,push}: validates `body` (nothing is written on bad
  /// input), then stores, sends and settles the notification as described above and returns it
  /// `sent` or `failed`. The channel runs on the service's own threads, never the caller's;
  /// the coroutine resumes on its own executor. Errors: kValidationFailed for bad input,
  /// kInternal when a template cannot be rendered, kUnavailable when the store is.
  boost::asio::awaitable<Result<Notification>> SendEmail(const json::object& body,
                                                         const RequestContext& context);
  boost::asio::awaitable<Result<Notification>> SendSms(const json::object& body,
                                                       const RequestContext& context);
  boost::asio::awaitable<Result<Notification>> SendPush(const json::object& body,
                                                        const RequestContext& context);
  /// GET /api/notifications: newest first.
  boost::asio::awaitable<Result<NotificationPage>> List(NotificationFilter filter, Page page);

  /// Delivers `draft` (type, recipient, subject, content, eventTrigger, metadata; no id), which
  /// `cause` calls for, exactly once per cause messageId: phase 1 runs through ApplyOnce with
  /// consumer kConsumer, so a redelivered cause sends nothing. A draft already `failed` (e.g.
  /// no recipient) is stored with its NOTIFICATION_FAILED event in phase 1 and sent nowhere.
  /// Events are caused by `cause` (MakeCausedEvent). Blocking: call it from a bus thread.
  /// Returns Ack once phase 1 committed, whatever the channel did; ApplyOnce's Retry or
  /// DeadLetter when phase 1 failed. If phase 2 fails the notification stays `pending` for
  /// RetryPending (logged).
  HandlerOutcome DeliverOnce(const Delivery& cause, Notification draft);

  /// DeliverOnce for the deliveries of a batch consumer: drafts[i] is what causes[i] calls for,
  /// or nullopt when it calls for nothing (acknowledged, nothing written). Phase 1 of all of
  /// them is one transaction (ApplyOnceBatch), then the channel is called for each fresh one in
  /// order, then phase 2 of all of them is one transaction (each on its own if that one fails).
  /// Two commits and two waits per batch instead of two per delivery; the guarantees are
  /// DeliverOnce's. Returns one outcome per cause, in order. `drafts` must be as long as
  /// `causes`.
  std::vector<HandlerOutcome> DeliverBatch(std::span<const Delivery> causes,
                                           std::vector<std::optional<Notification>> drafts);

  /// Sends again every notification left `pending` for at least
  /// options.pending_retry_min_age (by metadata.createdAt), skipping those this process has in
  /// flight, and settles each (with the correlation and causation ids it was stored with).
  /// Returns how many were settled. Blocking: the composition root calls it once at start-up,
  /// off the HTTP I/O threads (before or after the bus starts; it needs only the store).
  Result<size_t> RetryPending();

  const TemplateRenderer& templates() const { return renderer_; }
  const NotificationsOptions& options() const { return options_; }

 private:
  class InFlight;

  boost::asio::awaitable<Result<Notification>> SendFromApi(Result<Notification> draft,
                                                           const RequestContext& context);
  /// Calls the notification's channel; never throws.
  Result<void> Transmit(const Notification& notification);
  /// Phase 2 on the calling thread (blocking).
  Result<Notification> SettleAndWait(const std::string& notification_id,
                                     const Result<void>& outcome, const Envelope* cause);
  NotificationChannel& ChannelFor(NotificationType type);
  bool Claim(const std::string& notification_id);
  void Release(const std::string& notification_id);

  Store& store_;
  const Clock& clock_;
  const NotificationsOptions options_;
  NotificationChannels channels_;
  TemplateRenderer renderer_;

  std::mutex in_flight_mutex_;
  std::set<std::string, std::less<>> in_flight_;  // ids between phase 1 and phase 2 here

  std::unique_ptr<boost::asio::thread_pool> send_pool_;  // last: joined first
};

}  // namespace shopflow::notifications
