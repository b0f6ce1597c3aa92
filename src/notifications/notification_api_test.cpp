#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "events/event_types.hpp"
#include "notifications/notification_routes.hpp"
#include "notifications/notifications_test_support.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::notifications {
namespace {

using testing::IsOk;

class NotificationApiTest : public testing::ServiceFixture {
 protected:
  void SetUp() override {
    ServiceFixture::SetUp();
    MakeService({}, clock_);
    routes_ = NotificationRoutes(*service_);
  }

  ApiResponse Call(ApiRequest request) {
    for (auto& route : routes_) {
      if (route.method == request.method && route.pattern == request.path) {
        return Run(route.handler(request));
      }
    }
    ADD_FAILURE() << "no route " << request.method << " " << request.path;
    return {};
  }

  ApiResponse Post(std::string path, std::string body,
                   std::string content_type = "application/json; charset=utf-8") {
    ApiRequest request;
    request.method = "POST";
    request.path = std::move(path);
    request.headers = {{"content-type", std::move(content_type)}};
    request.body = std::move(body);
    request.correlation_id = "corr-api";
    return Call(std::move(request));
  }

  ApiResponse Get(std::vector<std::pair<std::string, std::string>> query = {}) {
    ApiRequest request;
    request.method = "GET";
    request.path = "/api/notifications";
    request.query = std::move(query);
    request.correlation_id = "corr-list";
    return Call(std::move(request));
  }

  static const json::object& Body(const ApiResponse& response) { return response.body.as_object(); }

  static std::vector<std::string> ErrorFields(const ApiResponse& response) {
    std::vector<std::string> fields;
    const auto* error = GetObject(Body(response), "error");
    if (!error) return fields;
    if (const auto* details = GetArray(*error, "details")) {
      for (const auto& d : *details) fields.push_back(GetString(d.as_object(), "field"));
    }
    return fields;
  }

  /// The one stored notification is `n`, and the one event, of `type`, carries it.
  void ExpectStoredAndAnnounced(const json::object& n, std::string_view type) {
    auto stored = AllNotifications();
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].ToJson(), n);
    auto events = OutboxEvents();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].event_type, type);
    EXPECT_EQ(events[0].data, testing::EventDataOf(n));
    EXPECT_EQ(events[0].metadata.source, "notifications");
    EXPECT_EQ(events[0].metadata.correlation_id, "corr-api");
  }

  size_t ChannelCalls() {
    return email_->sent().size() + sms_->sent().size() + push_->sent().size();
  }

  shopflow::testing::FakeClock clock_;
  std::vector<Route> routes_;
};

TEST_F(NotificationApiTest, EmailWithContentIsSentStoredAndAnnounced) {
  auto response = Post("/api/notifications/email",
                       R"({"to":"ana@example.com","subject":"Hi","content":"<p>Hello</p>"})");
  ASSERT_EQ(response.status, 201) << ToJsonText(response.body);
  const json::object& n = Body(response);
  EXPECT_TRUE(IsWellFormedId(GetString(n, "notificationId")));
  EXPECT_EQ(GetString(n, "type"), "email");
  EXPECT_EQ(GetString(n, "recipient"), "ana@example.com");
  EXPECT_EQ(GetString(n, "subject"), "Hi");
  EXPECT_EQ(GetString(n, "content"), "<p>Hello</p>");
  EXPECT_EQ(GetString(n, "status"), "sent");
  EXPECT_EQ(GetString(n, "eventTrigger"), "api");
  EXPECT_EQ(GetString(n, "sentAt"), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(GetString(*GetObject(n, "metadata"), "correlationId"), "corr-api");

  ASSERT_EQ(email_->sent().size(), 1u);
  EXPECT_EQ(email_->sent()[0].recipient, "ana@example.com");
  EXPECT_EQ(email_->sent()[0].notification_id, GetString(n, "notificationId"));

  ExpectStoredAndAnnounced(n, events::kNotificationEmailSent);
}

TEST_F(NotificationApiTest, ARecordOnlyChannelStoresItSentWithItsEventInOneWrite) {
  sms_->SetRecordsOnly(true);
  const uint64_t writes_before = store_->Stats().writes_committed;
  auto response = Post("/api/notifications/sms", R"({"to":"+5511999990000","message":"Oi"})");
  ASSERT_EQ(response.status, 201) << ToJsonText(response.body);
  const json::object& n = Body(response);
  EXPECT_EQ(GetString(n, "status"), "sent");
  EXPECT_EQ(GetString(n, "sentAt"), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(store_->Stats().writes_committed - writes_before, 1u);
  EXPECT_TRUE(sms_->sent().empty());

  ExpectStoredAndAnnounced(n, events::kNotificationSmsSent);
}

TEST_F(NotificationApiTest, EmailWithTemplateIsRenderedWithItsDefaultSubject) {
  auto response = Post("/api/notifications/email", R"({"to":"ops@example.com",
      "template":"stock-alert",
      "data":{"name":"<Pen>","sku":"P-1","available":1,"minStock":3}})");
  ASSERT_EQ(response.status, 201) << ToJsonText(response.body);
  const json::object& n = Body(response);
  EXPECT_EQ(GetString(n, "subject"), "Low stock: <Pen> (P-1)");
  EXPECT_NE(GetString(n, "content").find("&lt;Pen&gt;"), std::string::npos);
  EXPECT_EQ(GetString(*GetObject(n, "metadata"), "template"), "stock-alert");
  ASSERT_EQ(email_->sent().size(), 1u);
  EXPECT_EQ(email_->sent()[0].content, GetString(n, "content"));

  auto custom = Post("/api/notifications/email", R"({"to":"ana@example.com",
      "template":"order-confirmation","subject":"Thanks!","data":{"orderId":"o1"}})");
  ASSERT_EQ(custom.status, 201);
  EXPECT_EQ(GetString(Body(custom), "subject"), "Thanks!");
}

TEST_F(NotificationApiTest, AFailingChannelGivesAFailedNotificationAndNotificationFailed) {
  email_->Fail(true);
  auto response =
      Post("/api/notifications/email", R"({"to":"ana@example.com","subject":"Hi","content":"x"})");
  ASSERT_EQ(response.status, 201);
  const json::object& n = Body(response);
  EXPECT_EQ(GetString(n, "status"), "failed");
  EXPECT_TRUE(n.at("sentAt").is_null());
  EXPECT_EQ(GetString(*GetObject(n, "metadata"), "failureReason"), "gateway refused (fake)");
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationFailed);
  EXPECT_EQ(events[0].data, testing::EventDataOf(n));
}

TEST_F(NotificationApiTest, AThrowingChannelIsAFailureNotAnException) {
  sms_->Throw(true);
  auto response = Post("/api/notifications/sms", R"({"to":"+5511999990000","message":"hi"})");
  ASSERT_EQ(response.status, 201);
  EXPECT_EQ(GetString(Body(response), "status"), "failed");
  EXPECT_NE(GetString(*GetObject(Body(response), "metadata"), "failureReason").find("exploded"),
            std::string::npos);
}

TEST_F(NotificationApiTest, SmsIsSentAndAnnounced) {
  auto response = Post("/api/notifications/sms", R"({"to":"+5511999990000","message":"Oi!"})");
  ASSERT_EQ(response.status, 201) << ToJsonText(response.body);
  const json::object& n = Body(response);
  EXPECT_EQ(GetString(n, "type"), "sms");
  EXPECT_EQ(GetString(n, "subject"), "");
  EXPECT_EQ(GetString(n, "content"), "Oi!");
  EXPECT_EQ(GetString(n, "status"), "sent");
  ASSERT_EQ(sms_->sent().size(), 1u);
  EXPECT_EQ(sms_->sent()[0].content, "Oi!");
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationSmsSent);
}

TEST_F(NotificationApiTest, PushCarriesItsDataAndIsAnnounced) {
  auto response = Post("/api/notifications/push",
                       R"({"to":"device-1","title":"Shipped","body":"On its way",
                           "data":{"orderId":"o1"}})");
  ASSERT_EQ(response.status, 201) << ToJsonText(response.body);
  const json::object& n = Body(response);
  EXPECT_EQ(GetString(n, "type"), "push");
  EXPECT_EQ(GetString(n, "subject"), "Shipped");
  EXPECT_EQ(GetString(n, "content"), "On its way");
  EXPECT_EQ(*GetObject(*GetObject(n, "metadata"), "data"), (json::object{{"orderId", "o1"}}));
  ASSERT_EQ(push_->sent().size(), 1u);
  EXPECT_EQ(push_->sent()[0].data, (json::object{{"orderId", "o1"}}));
  auto events = OutboxEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, events::kNotificationPushSent);
}

struct BadRequest {
  std::string path;
  std::string body;
  std::vector<std::string> fields;  // expected detail fields (validation_failed only)
};

TEST_F(NotificationApiTest, BadBodiesAreRejectedNamingTheFieldsAndWriteNothing) {
  const std::string long_subject(201, 's');
  const std::string long_sms(1601, 'm');
  const std::vector<BadRequest> cases = {
      {"/api/notifications/email", "{}", {"to", "content"}},
      {"/api/notifications/email", R"({"to":"not-an-email","subject":"s","content":"c"})", {"to"}},
      {"/api/notifications/email", R"({"to":"a@","subject":"s","content":"c"})", {"to"}},
      {"/api/notifications/email", R"({"to":5,"subject":"s","content":"c"})", {"to"}},
      {"/api/notifications/email", R"({"to":"a@b.c","content":"c"})", {"subject"}},
      {"/api/notifications/email", R"({"to":"a@b.c","subject":"s","content":"   "})", {"content"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","subject":"s","content":"c","template":"stock-alert","data":{}})",
       {"template"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","template":"invoice","data":{}})",
       {"template"}},
      {"/api/notifications/email", R"({"to":"a@b.c","template":"stock-alert"})", {"data"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","template":"stock-alert","data":[]})",
       {"data"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","subject":"s","content":"c","data":{}})",
       {"data"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","subject":"s","content":"c","cc":"x"})",
       {"cc"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","subject":"s","content":"c","status":"sent","notificationId":"x"})",
       {"notificationId", "status"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","subject":"s\r\nBcc: x@y.z","content":"c"})",
       {"subject"}},
      {"/api/notifications/email",
       R"({"to":"a@b.c","subject":")" + long_subject + R"(","content":"c"})",
       {"subject"}},
      {"/api/notifications/sms", "{}", {"to", "message"}},
      {"/api/notifications/sms", R"({"to":"+1","message":")" + long_sms + R"("})", {"message"}},
      {"/api/notifications/sms", R"({"to":"+1","message":"m","extra":1})", {"extra"}},
      {"/api/notifications/sms", R"({"to":"+1\n2","message":"m"})", {"to"}},
      {"/api/notifications/push", R"({"to":"d","title":"t"})", {"body"}},
      {"/api/notifications/push", R"({"to":"d","title":"t","body":"b","data":"x"})", {"data"}},
      {"/api/notifications/push", R"({"to":"d","title":"t","body":"b","badge":1})", {"badge"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path + " " + c.body.substr(0, 120));
    auto response = Post(c.path, c.body);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(GetString(*GetObject(Body(response), "error"), "code"), "validation_failed");
    EXPECT_EQ(ErrorFields(response), c.fields);
  }
  EXPECT_TRUE(AllNotifications().empty());
  EXPECT_TRUE(OutboxEvents().empty());
  EXPECT_EQ(ChannelCalls(), 0u);
}

TEST_F(NotificationApiTest, AnUnknownTemplateListsTheKnownOnes) {
  auto response =
      Post("/api/notifications/email", R"({"to":"a@b.c","template":"../../etc/passwd","data":{}})");
  ASSERT_EQ(response.status, 400);
  const auto& details = GetObject(Body(response), "error")->at("details").as_array();
  ASSERT_EQ(details.size(), 1u);
  EXPECT_EQ(GetString(details[0].as_object(), "issue"),
            "must be one of order-confirmation, payment-receipt, stock-alert, order-failed");
}

TEST_F(NotificationApiTest, MalformedJsonWrongTypesAndMediaTypesWriteNothing) {
  for (const char* path :
       {"/api/notifications/email", "/api/notifications/sms", "/api/notifications/push"}) {
    SCOPED_TRACE(path);
    auto malformed = Post(path, R"({"to": )");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(GetString(*GetObject(Body(malformed), "error"), "code"), "malformed_json");
    auto not_object = Post(path, "[1,2]");
    EXPECT_EQ(not_object.status, 400);
    EXPECT_EQ(GetString(*GetObject(Body(not_object), "error"), "code"), "validation_failed");
    auto text = Post(path, R"({"to":"a@b.c"})", "text/plain");
    EXPECT_EQ(text.status, 415);
    EXPECT_EQ(GetString(*GetObject(Body(text), "error"), "code"), "unsupported_media_type");
  }
  EXPECT_TRUE(AllNotifications().empty());
  EXPECT_TRUE(OutboxEvents().empty());
  EXPECT_EQ(ChannelCalls(), 0u);
}

TEST_F(NotificationApiTest, ListFiltersAndPaginatesNewestFirst) {
  ASSERT_EQ(
      Post("/api/notifications/email", R"({"to":"a@x.io","subject":"1","content":"c"})").status,
      201);
  ASSERT_EQ(Post("/api/notifications/sms", R"({"to":"+1","message":"2"})").status, 201);
  email_->Fail(true);
  ASSERT_EQ(
      Post("/api/notifications/email", R"({"to":"b@x.io","subject":"3","content":"c"})").status,
      201);
  email_->Fail(false);
  ASSERT_EQ(Post("/api/notifications/push", R"({"to":"d1","title":"4","body":"b"})").status, 201);
  ASSERT_EQ(
      Post("/api/notifications/email", R"({"to":"a@x.io","subject":"5","content":"c"})").status,
      201);
  ASSERT_EQ(Post("/api/notifications/sms", R"({"to":"+2","message":"6"})").status, 201);

  auto subjects_or_content = [](const ApiResponse& r) {
    std::string out;
    for (const auto& item : Body(r).at("data").as_array()) {
      const auto& n = item.as_object();
      out += GetString(n, "type") == "sms" ? GetString(n, "content") : GetString(n, "subject");
    }
    return out;
  };
  auto all = Get();
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(GetInt(Body(all), "total"), 6);
  EXPECT_EQ(GetInt(Body(all), "limit"), 50);
  EXPECT_EQ(GetInt(Body(all), "offset"), 0);
  EXPECT_EQ(subjects_or_content(all), "654321");

  EXPECT_EQ(subjects_or_content(Get({{"type", "email"}})), "531");
  EXPECT_EQ(subjects_or_content(Get({{"type", "sms"}})), "62");
  EXPECT_EQ(subjects_or_content(Get({{"status", "failed"}})), "3");
  EXPECT_EQ(subjects_or_content(Get({{"status", "sent"}, {"type", "push"}})), "4");
  EXPECT_EQ(subjects_or_content(Get({{"recipient", "a@x.io"}})), "51");
  EXPECT_EQ(subjects_or_content(Get({{"status", "pending"}})), "");

  auto page = Get({{"limit", "2"}, {"offset", "1"}});
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(GetInt(Body(page), "total"), 6);
  EXPECT_EQ(GetInt(Body(page), "limit"), 2);
  EXPECT_EQ(GetInt(Body(page), "offset"), 1);
  EXPECT_EQ(subjects_or_content(page), "54");
  EXPECT_EQ(subjects_or_content(Get({{"limit", "2"}, {"offset", "5"}})), "1");
}

TEST_F(NotificationApiTest, ListRejectsUnknownFilterValuesAndBadPages) {
  auto bad_type = Get({{"type", "fax"}});
  EXPECT_EQ(bad_type.status, 400);
  EXPECT_EQ(ErrorFields(bad_type), (std::vector<std::string>{"type"}));
  auto bad_status = Get({{"status", "delivered"}});
  EXPECT_EQ(bad_status.status, 400);
  EXPECT_EQ(ErrorFields(bad_status), (std::vector<std::string>{"status"}));
  auto both = Get({{"type", "x"}, {"status", "y"}});
  EXPECT_EQ(ErrorFields(both), (std::vector<std::string>{"type", "status"}));
  EXPECT_EQ(Get({{"limit", "0"}}).status, 400);
  EXPECT_EQ(Get({{"limit", "501"}}).status, 400);
  EXPECT_EQ(Get({{"offset", "-1"}}).status, 400);
}

}  // namespace
}  // namespace shopflow::notifications
