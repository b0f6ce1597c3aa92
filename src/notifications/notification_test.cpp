#include "notifications/notification.hpp"

#include <gtest/gtest.h>

#include "events/event_types.hpp"

namespace shopflow::notifications {
namespace {

Notification Sample() {
  Notification n;
  n.notification_id = "01JNOTIFICATION0000000000";
  n.type = NotificationType::kSms;
  n.recipient = "+5511999990000";
  n.content = "hello";
  n.event_trigger = "api";
  n.metadata = {{"correlationId", "c1"}};
  return n;
}

TEST(Notification, DocumentHasExactlyTheApiShape) {
  const json::object doc = Sample().ToJson();
  std::vector<std::string> keys;
  for (const auto& kv : doc) keys.emplace_back(kv.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"notificationId", "type", "recipient", "subject", "content",
                                      "status", "eventTrigger", "sentAt", "metadata"}));
  EXPECT_EQ(doc.at("type"), "sms");
  EXPECT_EQ(doc.at("status"), "pending");
  EXPECT_TRUE(doc.at("sentAt").is_null());
}

TEST(Notification, EventDataIsTheDocumentWithTheContentsLengthInsteadOfTheContent) {
  Notification n = Sample();
  n.content = "Seu pedido chegou \xC3\xA0s 10h";  // 25 bytes, 24 characters
  n.RecordOutcome(Ok(), FromUnixMillis(1'795'000'000'123));
  json::object expected = n.ToJson();
  expected.erase("content");
  expected["contentLength"] = 25;
  EXPECT_EQ(n.ToEventData(), expected);
  EXPECT_FALSE(n.ToEventData().contains("content"));
}

TEST(Notification, RoundTripsThroughItsDocument) {
  Notification n = Sample();
  n.RecordOutcome(Ok(), FromUnixMillis(1'795'000'000'123));
  const json::object doc = n.ToJson();
  EXPECT_EQ(doc.at("sentAt"), "2026-11-18T11:06:40.123Z");
  auto back = Notification::FromJson(doc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), doc);
}

TEST(Notification, RecordOutcomeSetsStatusSentAtAndFailureReason) {
  Notification n = Sample();
  n.RecordOutcome(UnavailableError("smtp down"), FromUnixMillis(5));
  EXPECT_EQ(n.status, NotificationStatus::kFailed);
  EXPECT_FALSE(n.sent_at.has_value());
  EXPECT_EQ(n.metadata.at("failureReason"), "smtp down");
  EXPECT_EQ(SettledEventType(n), events::kNotificationFailed);
  n.RecordOutcome(Ok(), FromUnixMillis(5));
  EXPECT_EQ(n.status, NotificationStatus::kSent);
  EXPECT_FALSE(n.metadata.contains("failureReason"));
}

TEST(Notification, SettledEventTypeFollowsTypeAndStatus) {
  Notification n = Sample();
  EXPECT_EQ(SettledEventType(n), "");
  n.status = NotificationStatus::kSent;
  n.type = NotificationType::kEmail;
  EXPECT_EQ(SettledEventType(n), events::kNotificationEmailSent);
  n.type = NotificationType::kSms;
  EXPECT_EQ(SettledEventType(n), events::kNotificationSmsSent);
  n.type = NotificationType::kPush;
  EXPECT_EQ(SettledEventType(n), events::kNotificationPushSent);
}

TEST(Notification, StoredGarbageIsAnInternalError) {
  EXPECT_EQ(Notification::FromJson({}).error().code, ErrorCode::kInternal);
  json::object doc = Sample().ToJson();
  doc["status"] = "lost";
  EXPECT_EQ(Notification::FromJson(doc).error().code, ErrorCode::kInternal);
}

TEST(Notification, NamesParseBothWays) {
  for (auto type : {NotificationType::kEmail, NotificationType::kSms, NotificationType::kPush}) {
    EXPECT_EQ(ParseType(TypeName(type)), type);
  }
  for (auto status :
       {NotificationStatus::kPending, NotificationStatus::kSent, NotificationStatus::kFailed}) {
    EXPECT_EQ(ParseStatus(StatusName(status)), status);
  }
  EXPECT_FALSE(ParseType("fax").has_value());
  EXPECT_FALSE(ParseStatus("SENT").has_value());
}

}  // namespace
}  // namespace shopflow::notifications
