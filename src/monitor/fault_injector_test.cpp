#include "monitor/fault_injector.hpp"

#include <gtest/gtest.h>

#include "monitor/monitor_test_support.hpp"
#include "tests/support/fake_clock.hpp"

namespace shopflow::monitor {
namespace {

using testing::BodyOf;
using testing::CallRoute;

class FaultInjectorTest : public ::testing::Test {
 protected:
  shopflow::testing::FakeClock clock_;
  FaultInjector faults_{clock_, {"orders", "payments"}};
  int handled_ = 0;
  EventHandler handler_ = faults_.Wrap("payments", [this](const Delivery&) {
    ++handled_;
    return HandlerOutcome::Ack();
  });
  Delivery delivery_;
};

TEST_F(FaultInjectorTest, WithoutAFaultDeliveriesReachTheModule) {
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(handled_, 1);
}

TEST_F(FaultInjectorTest, FailModeRetriesWithoutRunningTheModuleUntilCleared) {
  ASSERT_TRUE(faults_.Set("payments", FaultMode::kFail));
  const HandlerOutcome outcome = handler_(delivery_);
  EXPECT_EQ(outcome.kind, HandlerOutcome::Kind::kRetry);
  EXPECT_NE(outcome.reason.find("injected fault"), std::string::npos);
  EXPECT_EQ(handled_, 0);
  ASSERT_TRUE(faults_.Clear("payments"));
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(handled_, 1);
}

TEST_F(FaultInjectorTest, RejectModeDeadLettersAtOnce) {
  ASSERT_TRUE(faults_.Set("payments", FaultMode::kReject));
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kDeadLetter);
  EXPECT_EQ(handled_, 0);
}

TEST_F(FaultInjectorTest, CountedFaultClearsItselfAfterThatManyDeliveries) {
  ASSERT_TRUE(faults_.Set("payments", FaultMode::kFail, 2));
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(handled_, 1);
  EXPECT_TRUE(faults_.Document().at("faults").as_array().empty());
}

TEST_F(FaultInjectorTest, ABatchMeetsACountedFaultDeliveryByDelivery) {
  std::vector<std::string> reached;
  BatchEventHandler batch =
      faults_.WrapBatch("payments", [&](std::span<const Delivery> deliveries) {
        std::vector<HandlerOutcome> out;
        for (const Delivery& d : deliveries) {
          reached.push_back(d.envelope.metadata.message_id);
          out.push_back(HandlerOutcome::Ack());
        }
        return out;
      });
  std::vector<Delivery> deliveries(4);
  for (size_t i = 0; i < deliveries.size(); ++i) {
    deliveries[i].envelope.metadata.message_id = "m" + std::to_string(i);
  }
  ASSERT_TRUE(faults_.Set("payments", FaultMode::kFail, 3));
  std::vector<HandlerOutcome> outcomes = batch(deliveries);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(outcomes[1].kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(outcomes[2].kind, HandlerOutcome::Kind::kRetry);
  EXPECT_EQ(outcomes[3].kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(reached, std::vector<std::string>{"m3"});  // only the one let through
  outcomes = batch(deliveries);                        // the fault cleared itself
  for (const HandlerOutcome& o : outcomes) EXPECT_EQ(o.kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(reached.size(), 5u);
}

TEST_F(FaultInjectorTest, AFaultOnOneModuleLeavesTheOthersAlone) {
  int orders_handled = 0;
  EventHandler orders = faults_.Wrap("orders", [&](const Delivery&) {
    ++orders_handled;
    return HandlerOutcome::Ack();
  });
  ASSERT_TRUE(faults_.Set("payments", FaultMode::kFail));
  EXPECT_EQ(orders(delivery_).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(orders_handled, 1);
}

TEST_F(FaultInjectorTest, UnknownModuleAndBadCountAreRejected) {
  EXPECT_EQ(faults_.Set("shipping", FaultMode::kFail).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(faults_.Set("payments", FaultMode::kFail, 0).error().code,
            ErrorCode::kValidationFailed);
  EXPECT_EQ(faults_.Clear("payments").error().code, ErrorCode::kNotFound);
}

TEST_F(FaultInjectorTest, DisabledItInjectsNothingAndRefusesToBreakAnything) {
  FaultInjector off(clock_, {"payments"}, /*enabled=*/false);
  int handled = 0;
  EventHandler handler = off.Wrap("payments", [&](const Delivery&) {
    ++handled;
    return HandlerOutcome::Ack();
  });
  EXPECT_EQ(off.Set("payments", FaultMode::kFail).error().code, ErrorCode::kForbidden);
  EXPECT_EQ(handler(delivery_).kind, HandlerOutcome::Kind::kAck);
  EXPECT_EQ(handled, 1);
  const auto routes = off.Routes();
  const ApiResponse listed = CallRoute(routes, "GET", "/api/faults");
  EXPECT_EQ(listed.status, 200);
  EXPECT_FALSE(BodyOf(listed).at("enabled").as_bool());
  ApiRequest put;
  put.path_params = {{"module", "payments"}};
  put.headers = {{"content-type", "application/json"}};
  put.body = "{}";
  EXPECT_EQ(CallRoute(routes, "PUT", "/api/faults/:module", put).status, 403);
}

TEST_F(FaultInjectorTest, RoutesSetListAndClearFaults) {
  const auto routes = faults_.Routes();
  ApiRequest put;
  put.path_params = {{"module", "payments"}};
  put.headers = {{"content-type", "application/json"}};
  put.body = R"({"mode":"fail","count":3})";
  const ApiResponse set = CallRoute(routes, "PUT", "/api/faults/:module", put);
  ASSERT_EQ(set.status, 200);
  EXPECT_EQ(BodyOf(set).at("mode").as_string(), "fail");
  EXPECT_EQ(BodyOf(set).at("remaining").as_int64(), 3);
  handler_(delivery_);

  const json::object listed = BodyOf(CallRoute(routes, "GET", "/api/faults"));
  ASSERT_EQ(listed.at("faults").as_array().size(), 1u);
  const auto& fault = listed.at("faults").as_array()[0].as_object();
  EXPECT_EQ(fault.at("module").as_string(), "payments");
  EXPECT_EQ(fault.at("failed").as_int64(), 1);
  EXPECT_EQ(listed.at("modules").as_array().size(), 2u);

  ApiRequest del;
  del.path_params = {{"module", "payments"}};
  EXPECT_EQ(CallRoute(routes, "DELETE", "/api/faults/:module", del).status, 204);
  EXPECT_EQ(CallRoute(routes, "DELETE", "/api/faults/:module", del).status, 404);
}

TEST_F(FaultInjectorTest, BadBodiesAreClearJsonErrors) {
  const auto routes = faults_.Routes();
  ApiRequest put;
  put.path_params = {{"module", "payments"}};
  put.headers = {{"content-type", "application/json"}};
  for (const char* body : {R"({"mode":"explode"})", R"({"count":-1})", R"({"count":"x"})"}) {
    put.body = body;
    const ApiResponse r = CallRoute(routes, "PUT", "/api/faults/:module", put);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(BodyOf(r).at("error").as_object().at("code").as_string(), "validation_failed");
  }
  put.body = "{";
  EXPECT_EQ(CallRoute(routes, "PUT", "/api/faults/:module", put).status, 400);
  put.body = "{}";
  put.path_params = {{"module", "shipping"}};
  EXPECT_EQ(CallRoute(routes, "PUT", "/api/faults/:module", put).status, 404);
  EXPECT_EQ(handler_(delivery_).kind, HandlerOutcome::Kind::kAck);
}

}  // namespace
}  // namespace shopflow::monitor
