#include "notifications/notification_event_handler.hpp"

#include <spdlog/spdlog.h>

#include "events/event_types.hpp"

namespace shopflow::notifications {
namespace {

struct Reaction {
  std::string_view template_name;
  bool to_operators = false;
};

std::optional<Reaction> ReactionTo(std::string_view event_type) {
  if (event_type == events::kOrderCreated) return Reaction{templates::kOrderConfirmation};
  if (event_type == events::kPaymentSucceeded) return Reaction{templates::kPaymentReceipt};
  if (event_type == events::kOrderFailed) return Reaction{templates::kOrderFailed};
  if (event_type == events::kLowStockAlert) return Reaction{templates::kStockAlert, true};
  return std::nullopt;
}

// Ids that make a notification findable from the business object it is about.
void CopyIds(const json::object& data, json::object& metadata) {
  for (std::string_view key :
       {metadata_keys::kOrderId, metadata_keys::kPaymentId, metadata_keys::kProductId}) {
    if (auto id = GetString(data, key); !id.empty()) metadata[key] = id;
  }
}

}  // namespace

std::string CustomerRecipient(const json::object& data) {
  if (const json::object* metadata = GetObject(data, "metadata")) {
    for (std::string_view key : {"email", "customerEmail"}) {
      if (auto address = GetString(*metadata, key); !address.empty()) return address;
    }
  }
  return GetString(data, "customerId");
}

NotificationEventHandler::NotificationEventHandler(NotificationService& service)
    : service_(service) {}

EventHandler NotificationEventHandler::AsEventHandler() {
  return [this](const Delivery& delivery) { return Handle(delivery); };
}

HandlerOutcome NotificationEventHandler::Handle(const Delivery& delivery) {
  return HandleBatch({&delivery, 1}).front();
}

std::vector<HandlerOutcome> NotificationEventHandler::HandleBatch(
    std::span<const Delivery> deliveries) {
  std::vector<std::optional<HandlerOutcome>> decided(deliveries.size());
  std::vector<std::optional<Notification>> drafts(deliveries.size());
  for (size_t i = 0; i < deliveries.size(); ++i) decided[i] = Prepare(deliveries[i], drafts[i]);
  std::vector<HandlerOutcome> outcomes = service_.DeliverBatch(deliveries, std::move(drafts));
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (decided[i]) outcomes[i] = std::move(*decided[i]);
  }
  return outcomes;
}

std::optional<HandlerOutcome> NotificationEventHandler::Prepare(
    const Delivery& delivery, std::optional<Notification>& draft_out) const {
  const Envelope& event = delivery.envelope;
  auto reaction = ReactionTo(event.event_type);
  if (!reaction) return HandlerOutcome::Ack();
  if (event.metadata.version != "1") {
    return HandlerOutcome::DeadLetter("unsupported version " + event.metadata.version + " of " +
                                      event.event_type);
  }

  auto rendered = service_.templates().Render(reaction->template_name, event.data);
  if (!rendered) {
    spdlog::error("notifications: {} {}: {}", event.event_type, event.metadata.message_id,
                  rendered.error().message);
    return HandlerOutcome::Retry(rendered.error().message);
  }

  Notification draft;
  draft.type = NotificationType::kEmail;
  draft.recipient =
      reaction->to_operators ? service_.options().alert_email : CustomerRecipient(event.data);
  draft.subject = std::move(rendered->subject);
  draft.content = std::move(rendered->html);
  draft.event_trigger = event.event_type;
  draft.metadata[metadata_keys::kTemplate] = reaction->template_name;
  CopyIds(event.data, draft.metadata);
  if (draft.recipient.empty()) {
    // Stored as failed (with its NOTIFICATION_FAILED event) so the gap is visible in the
    // history and to the monitor, rather than dead-lettering an event nobody can fix.
    draft.status = NotificationStatus::kFailed;
    draft.metadata[metadata_keys::kFailureReason] = reaction->to_operators
                                                        ? "no alert email address is configured"
                                                        : "the event names no customer to write to";
  }
  draft_out = std::move(draft);
  return std::nullopt;
}

}  // namespace shopflow::notifications
