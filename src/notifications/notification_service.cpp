#include "notifications/notification_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <stdexcept>

#include "core/ids.hpp"
#include "notifications/notification_requests.hpp"
#include "storage/await.hpp"
#include "storage/inbox_handler.hpp"

namespace shopflow::notifications {
namespace asio = boost::asio;

namespace {

constexpr int64_t kRetryPageSize = 500;
constexpr int64_t kMaxRetriedPerCall = 10'000;

// The event of a settled notification: caused by the delivery that asked for it, or (from the
// API or a retry) carrying the correlation and causation its metadata recorded.
Envelope SettledEvent(const Notification& n, const Envelope* cause, TimePoint now) {
  const std::string type(SettledEventType(n));
  return cause ? MakeCausedEvent(type, n.ToEventData(), std::string(NotificationService::kSource),
                                 *cause, now)
               : MakeEvent(type, n.ToEventData(), std::string(NotificationService::kSource),
                           GetString(n.metadata, metadata_keys::kCorrelationId),
                           GetString(n.metadata, metadata_keys::kCausationId), now);
}

// Stores a new notification and, when it is already settled, its event.
Result<void> InsertWithEvent(Transaction& txn, const Notification& n, const Envelope* cause,
                             TimePoint now) {
  if (auto ins = txn.Insert(kNotificationsCollection, n.notification_id, n.ToJson()); !ins) {
    return ins;
  }
  if (n.status == NotificationStatus::kPending) return Ok();
  return txn.AppendOutbox(SettledEvent(n, cause, now));
}

// Phase 2 as a write: settles the notification if it is still pending and appends its event.
// A notification someone else already settled is returned as it is, with no second event.
WriteFn SettleWrite(const std::string& id, const Result<void>& outcome, TimePoint now,
                    const Envelope* cause, std::optional<Notification>& out) {
  return [&id, &outcome, now, cause, &out](Transaction& txn) -> Result<void> {
    auto doc = txn.Get(kNotificationsCollection, id);
    if (!doc) return std::move(doc).error();
    if (!doc->has_value()) return NotFoundError("notification " + id + " not found");
    auto n = Notification::FromJson(**doc);
    if (!n) return std::move(n).error();
    if (n->status != NotificationStatus::kPending) {
      out = std::move(*n);
      return Ok();
    }
    n->RecordOutcome(outcome, now);
    if (auto rep = txn.Replace(kNotificationsCollection, id, n->ToJson()); !rep) return rep;
    if (auto ev = txn.AppendOutbox(SettledEvent(*n, cause, now)); !ev) return ev;
    out = std::move(*n);
    return Ok();
  };
}

}  // namespace

/// Marks a notification as being sent by this process (see RetryPending) for its scope.
class NotificationService::InFlight {
 public:
  InFlight(NotificationService& service, std::string id)
      : service_(service), id_(std::move(id)), claimed_(service_.Claim(id_)) {}
  ~InFlight() {
    if (claimed_) service_.Release(id_);
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  bool claimed() const { return claimed_; }

 private:
  NotificationService& service_;
  const std::string id_;
  const bool claimed_;
};

NotificationService::NotificationService(Store& store, const Clock& clock,
                                         NotificationsOptions options,
                                         NotificationChannels channels)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      channels_(std::move(channels)),
      renderer_(options_.templates_dir),
      send_pool_(std::make_unique<asio::thread_pool>(
          static_cast<size_t>(std::max(1, options_.send_threads)))) {
  if (!channels_.email || !channels_.sms || !channels_.push) {
    throw std::invalid_argument("NotificationService needs an email, an sms and a push channel");
  }
  if (auto templates = renderer_.Verify(); !templates) {
    spdlog::warn("notifications: {}", templates.error().message);
  }
}

NotificationService::~NotificationService() { send_pool_->join(); }

std::vector<CollectionSpec> NotificationService::Collections() {
  return {
      CollectionSpec{std::string(kNotificationsCollection), {"type", "status", "recipient"}, {}}};
}

asio::awaitable<Result<Notification>> NotificationService::SendEmail(
    const json::object& body, const RequestContext& context) {
  co_return co_await SendFromApi(ParseEmailRequest(body, renderer_), context);
}

asio::awaitable<Result<Notification>> NotificationService::SendSms(const json::object& body,
                                                                   const RequestContext& context) {
  co_return co_await SendFromApi(ParseSmsRequest(body), context);
}

asio::awaitable<Result<Notification>> NotificationService::SendPush(const json::object& body,
                                                                    const RequestContext& context) {
  co_return co_await SendFromApi(ParsePushRequest(body), context);
}

asio::awaitable<Result<Notification>> NotificationService::SendFromApi(
    Result<Notification> draft, const RequestContext& context) {
  if (!draft) co_return std::move(draft).error();
  Notification n = std::move(*draft);
  n.notification_id = NewId();
  n.metadata[metadata_keys::kCorrelationId] = context.correlation_id;
  n.metadata[metadata_keys::kCreatedAt] = FormatRfc3339(clock_.Now());
  InFlight in_flight(*this, n.notification_id);

  if (ChannelFor(n.type).RecordsOnly()) {
    // Nothing leaves the process: one write stores it sent, with its event.
    const TimePoint now = clock_.Now();
    n.RecordOutcome(Ok(), now);
    auto stored = co_await AwaitWrite(
        store_, [&n, now](Transaction& txn) { return InsertWithEvent(txn, n, nullptr, now); });
    if (!stored) co_return std::move(stored).error();
    co_return n;
  }

  auto stored = co_await AwaitWrite(store_, [&n](Transaction& txn) {
    return txn.Insert(kNotificationsCollection, n.notification_id, n.ToJson());
  });
  if (!stored) co_return std::move(stored).error();

  // The channel blocks (SMTP, webhooks): it runs on the send pool, and this coroutine resumes
  // on its own executor when it is done.
  Result<void> outcome = co_await asio::co_spawn(
      *send_pool_, [this, &n]() -> asio::awaitable<Result<void>> { co_return Transmit(n); },
      asio::use_awaitable);

  std::optional<Notification> settled;
  auto written = co_await AwaitWrite(
      store_, SettleWrite(n.notification_id, outcome, clock_.Now(), nullptr, settled));
  if (!written) {
    spdlog::error("notifications: {} was sent but could not be settled ({}); it stays pending",
                  n.notification_id, written.error().message);
    co_return std::move(written).error();
  }
  co_return std::move(*settled);
}

asio::awaitable<Result<NotificationPage>> NotificationService::List(NotificationFilter filter,
                                                                    Page page) {
  FindQuery query;
  if (filter.type) {
    query.filters.push_back({"type", FieldFilter::Op::kEq, std::string(TypeName(*filter.type))});
  }
  if (filter.status) {
    query.filters.push_back(
        {"status", FieldFilter::Op::kEq, std::string(StatusName(*filter.status))});
  }
  if (filter.recipient) {
    query.filters.push_back({"recipient", FieldFilter::Op::kEq, *filter.recipient});
  }
  query.limit = page.limit;
  query.offset = page.offset;
  query.newest_first = true;
  NotificationPage out;
  auto read = co_await AwaitRead(store_, [&](ReadTransaction& txn) -> Result<void> {
    auto found = txn.Find(kNotificationsCollection, query);
    if (!found) return std::move(found).error();
    out.total = found->total;
    for (const auto& doc : found->docs) {
      auto n = Notification::FromJson(doc);
      if (!n) return std::move(n).error();
      out.notifications.push_back(std::move(*n));
    }
    return Ok();
  });
  if (!read) co_return std::move(read).error();
  co_return out;
}

HandlerOutcome NotificationService::DeliverOnce(const Delivery& cause, Notification draft) {
  std::vector<std::optional<Notification>> drafts;
  drafts.emplace_back(std::move(draft));
  return DeliverBatch({&cause, 1}, std::move(drafts)).front();
}

std::vector<HandlerOutcome> NotificationService::DeliverBatch(
    std::span<const Delivery> causes, std::vector<std::optional<Notification>> drafts) {
  if (drafts.size() != causes.size()) {
    throw std::invalid_argument("DeliverBatch needs one draft (or nullopt) per cause");
  }
  const TimePoint now = clock_.Now();
  const std::string created_at = FormatRfc3339(now);
  std::deque<InFlight> in_flight;
  for (size_t i = 0; i < causes.size(); ++i) {
    if (!drafts[i]) continue;
    Notification& n = *drafts[i];
    n.notification_id = NewId();
    n.metadata[metadata_keys::kCorrelationId] = causes[i].envelope.metadata.correlation_id;
    n.metadata[metadata_keys::kCausationId] = causes[i].envelope.metadata.message_id;
    n.metadata[metadata_keys::kCreatedAt] = created_at;
    // A channel that only records has nothing to send: phase 1 stores the notification sent,
    // with its event, and phase 2 has nothing to do for it.
    if (n.status == NotificationStatus::kPending && ChannelFor(n.type).RecordsOnly()) {
      n.RecordOutcome(Ok(), now);
    }
    in_flight.emplace_back(*this, n.notification_id);
  }
  auto index_of = [causes](const Delivery& delivery) {
    return static_cast<size_t>(&delivery - causes.data());
  };

  // Phase 1: each fresh cause stores its notification (pending, or already settled with its
  // event) together with its inbox mark.
  std::vector<bool> fresh;
  std::vector<HandlerOutcome> outcomes = ApplyOnceBatch(
      store_, std::string(kConsumer), causes,
      [&](Transaction& txn, const Delivery& delivery) -> Result<void> {
        return InsertWithEvent(txn, *drafts[index_of(delivery)], &delivery.envelope, now);
      },
      [&](const Delivery& delivery) { return drafts[index_of(delivery)].has_value(); }, &fresh);

  // The channel, outside any transaction, for what phase 1 committed and left pending.
  struct Sent {
    size_t index;
    Result<void> outcome;
  };
  std::vector<Sent> sent;
  for (size_t i = 0; i < causes.size(); ++i) {
    if (!fresh[i] || drafts[i]->status != NotificationStatus::kPending) continue;
    sent.push_back({i, Transmit(*drafts[i])});
  }
  if (sent.empty()) return outcomes;

  // Phase 2. Acked whatever happens here: redelivering a cause would find it in the inbox and
  // send nothing. A notification left pending is settled by RetryPending (possibly sent twice).
  const TimePoint settled_at = clock_.Now();
  std::vector<std::optional<Notification>> settled(sent.size());
  auto together = WriteAndWait(store_, [&](Transaction& txn) -> Result<void> {
    for (size_t k = 0; k < sent.size(); ++k) {
      const Sent& s = sent[k];
      auto write = SettleWrite(drafts[s.index]->notification_id, s.outcome, settled_at,
                               &causes[s.index].envelope, settled[k]);
      if (auto w = write(txn); !w) return w;
    }
    return Ok();
  });
  if (together) return outcomes;
  for (const Sent& s : sent) {
    const std::string& id = drafts[s.index]->notification_id;
    if (auto one = SettleAndWait(id, s.outcome, &causes[s.index].envelope); !one) {
      spdlog::error("notifications: {} could not be settled ({}); it stays pending", id,
                    one.error().message);
    }
  }
  return outcomes;
}

Result<size_t> NotificationService::RetryPending() {
  std::vector<Notification> pending;
  auto read = ReadAndWait(store_, [&](ReadTransaction& txn) -> Result<void> {
    FindQuery query;
    query.filters.push_back(
        {"status", FieldFilter::Op::kEq, std::string(StatusName(NotificationStatus::kPending))});
    query.newest_first = false;
    query.limit = kRetryPageSize;
    while (query.offset < kMaxRetriedPerCall) {
      auto found = txn.Find(kNotificationsCollection, query);
      if (!found) return std::move(found).error();
      for (const auto& doc : found->docs) {
        auto n = Notification::FromJson(doc);
        if (!n) return std::move(n).error();
        pending.push_back(std::move(*n));
      }
      query.offset += kRetryPageSize;
      if (found->docs.empty() || query.offset >= found->total) break;
    }
    return Ok();
  });
  if (!read) return std::move(read).error();

  const TimePoint cutoff = clock_.Now() - options_.pending_retry_min_age;
  size_t settled_count = 0;
  for (const Notification& n : pending) {
    // Without a readable createdAt the age is unknown; such a record is old enough by
    // definition (this module always writes one).
    auto created = ParseRfc3339(GetString(n.metadata, metadata_keys::kCreatedAt));
    if (created && *created > cutoff) continue;
    InFlight in_flight(*this, n.notification_id);
    if (!in_flight.claimed()) continue;
    const Result<void> outcome = Transmit(n);
    auto settled = SettleAndWait(n.notification_id, outcome, nullptr);
    if (!settled) return std::move(settled).error();
    ++settled_count;
  }
  if (settled_count > 0) spdlog::info("notifications: resent {} pending", settled_count);
  return settled_count;
}

Result<void> NotificationService::Transmit(const Notification& notification) {
  // A channel is external code talking to external systems: whatever it throws becomes a
  // failed notification instead of escaping into the bus or the HTTP server.
  try {
    return ChannelFor(notification.type).Send(OutgoingMessage::From(notification));
  } catch (const std::exception& e) {
    return InternalError(std::string("channel failed: ") + e.what());
  } catch (...) {
    return InternalError("channel failed with an unknown exception");
  }
}

Result<Notification> NotificationService::SettleAndWait(const std::string& notification_id,
                                                        const Result<void>& outcome,
                                                        const Envelope* cause) {
  std::optional<Notification> settled;
  auto written =
      WriteAndWait(store_, SettleWrite(notification_id, outcome, clock_.Now(), cause, settled));
  if (!written) return std::move(written).error();
  return std::move(*settled);
}

NotificationChannel& NotificationService::ChannelFor(NotificationType type) {
  switch (type) {
    case NotificationType::kSms:
      return *channels_.sms;
    case NotificationType::kPush:
      return *channels_.push;
    case NotificationType::kEmail:
      break;
  }
  return *channels_.email;
}

bool NotificationService::Claim(const std::string& notification_id) {
  std::lock_guard lock(in_flight_mutex_);
  return in_flight_.insert(notification_id).second;
}

void NotificationService::Release(const std::string& notification_id) {
  std::lock_guard lock(in_flight_mutex_);
  in_flight_.erase(notification_id);
}

}  // namespace shopflow::notifications
