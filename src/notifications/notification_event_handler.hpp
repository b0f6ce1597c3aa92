#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_bus.hpp"
#include "notifications/notification_service.hpp"

namespace shopflow::notifications {

/// The saga reactions of EVENTS.md step 5, for the notifications.events.queue consumer:
///
/// | event             | email                               | to                         |
/// |-------------------|-------------------------------------|----------------------------|
/// | ORDER_CREATED     | order-confirmation                  | the customer               |
/// | PAYMENT_SUCCEEDED | payment-receipt                     | the customer               |
/// | ORDER_FAILED      | order-failed (whatever the cause)   | the customer               |
/// | LOW_STOCK_ALERT   | stock-alert                         | options().alert_email      |
///
/// Anything else is acknowledged and ignored. The customer's address is data.metadata.email,
/// else data.metadata.customerEmail, else data.customerId (orders carry client metadata; without
/// an address the customerId is the recipient, which a recorded-only channel accepts and an
/// SMTP channel fails). An event with no recipient at all yields a `failed` notification.
///
/// Exactly once per messageId (NotificationService::DeliverOnce, inbox consumer
/// "notifications"); the notification's events are caused by the delivery. A channel failure
/// is a `failed` notification and an Ack: notifications never hold up or fail the order flow.
/// A template that cannot be rendered (a deployment problem) is Retry, ending in
/// dlq.notifications.send.failed for a later re-drive. An eventType of a version other than "1"
/// is dead-lettered, since guessing its shape could send nonsense.
///
/// Thread-safe (may run with concurrency > 1); blocking. `service` must outlive the handler.
class NotificationEventHandler {
 public:
  /// The queue the composition root subscribes Handle to.
  static constexpr std::string_view kQueue = "notifications.events.queue";

  explicit NotificationEventHandler(NotificationService& service);

  HandlerOutcome Handle(const Delivery& delivery);
  /// Handle for the deliveries of a batch consumer (EventBus::SubscribeBatch): the
  /// notifications they call for are stored in one transaction and settled in another
  /// (NotificationService::DeliverBatch). One outcome per delivery, in order.
  std::vector<HandlerOutcome> HandleBatch(std::span<const Delivery> deliveries);
  /// Handle as an EventHandler for EventBus::Subscribe; the handler must outlive it.
  EventHandler AsEventHandler();

 private:
  /// What `delivery` calls for: a draft to deliver, or an outcome decided without the store
  /// (ignored, dead-lettered, retried).
  std::optional<HandlerOutcome> Prepare(const Delivery& delivery,
                                        std::optional<Notification>& draft) const;

  NotificationService& service_;
};

/// The customer's address in an order or payment event's data (see NotificationEventHandler).
std::string CustomerRecipient(const json::object& data);

}  // namespace shopflow::notifications
