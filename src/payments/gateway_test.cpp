#include "payments/gateway.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "payments/payment.hpp"
#include "payments/run_blocking.hpp"

namespace shopflow::payments {
namespace {

using namespace std::chrono_literals;
using Outcome = GatewayResult::Outcome;

ChargeRequest Card(std::string payment_id, std::string number, std::string method = "credit_card") {
  return ChargeRequest{std::move(payment_id), "o1", Money::FromCents(1000), std::move(method),
                       std::move(number)};
}

TEST(SimulatedGateway, TestCardsDecideDeterministically) {
  struct Case {
    std::string number;
    Outcome outcome;
    std::string reason;
  };
  const Case cases[] = {
      {"4000000000000002", Outcome::kDeclined, "card_declined"},
      {"4000 0000 0000 0002", Outcome::kDeclined, "card_declined"},
      {"4000000000009995", Outcome::kDeclined, "insufficient_funds"},
      {"4242424242424242", Outcome::kApproved, ""},
      {"", Outcome::kApproved, ""},
  };
  for (const auto& c : cases) {
    for (const char* method : {"credit_card", "debit_card"}) {
      auto decided = SimulatedGateway::Decide(Card("p", c.number, method));
      EXPECT_EQ(decided.outcome, c.outcome) << c.number << " " << method;
      EXPECT_EQ(decided.failure_reason, c.reason) << c.number;
    }
  }
}

TEST(CardTokens, ArePureAndCarryClassBrandAndLastFourOnly) {
  const CardToken visa = TokenizeCard("4242 4242 4242 4242");
  EXPECT_EQ(visa.token, "tok_ok_visa_4242");
  EXPECT_EQ(visa.last4, "4242");
  EXPECT_EQ(visa.brand, "visa");
  EXPECT_EQ(TokenizeCard("4242-4242-4242-4242").token, visa.token);  // same card, same token
  EXPECT_EQ(TokenizeCard("4000000000000002").token, "tok_declined_visa_0002");
  EXPECT_EQ(TokenizeCard("4000000000009995").token, "tok_nofunds_visa_9995");
  EXPECT_EQ(TokenizeCard("5555555555554444").brand, "mastercard");
  EXPECT_EQ(TokenizeCard("378282246310005").brand, "amex");
  EXPECT_EQ(TokenizeCard("12").token, "tok_ok_card_");
  EXPECT_TRUE(IsCardToken(visa.token));
  EXPECT_TRUE(IsCardToken("tok_ok_card_"));
  for (const char* bad : {"4242424242424242", "tok_", "tok_ok_visa_42424242", "tok_win_visa_4242",
                          "tok_ok_VISA_4242", ""}) {
    EXPECT_FALSE(IsCardToken(bad)) << bad;
  }
  EXPECT_EQ(TokenLast4(visa.token), "4242");
  EXPECT_EQ(CardLast4(visa.token), "4242");
}

TEST(CardTokens, DecideExactlyLikeTheirNumbers) {
  for (const char* number : {"4000000000000002", "4000000000009995", "4242424242424242", ""}) {
    for (const char* method : {"credit_card", "debit_card", "pix"}) {
      const auto by_number = SimulatedGateway::Decide(Card("p", number, method));
      const auto by_token = SimulatedGateway::Decide(Card("p", TokenizeCard(number).token, method));
      EXPECT_EQ(by_token, by_number) << number << " " << method;
    }
  }
}

TEST(SimulatedGateway, PixAndBoletoWaitForTheBank) {
  for (const char* method : {"pix", "boleto"}) {
    // Even a declining test card number does not matter for a bank transfer.
    EXPECT_EQ(SimulatedGateway::Decide(Card("p", "4000000000000002", method)).outcome,
              Outcome::kPending);
  }
}

TEST(SimulatedGateway, WithoutLatencyAnswersAtOnceIdempotentlyAndRemembers) {
  SimulatedGateway gateway;
  auto first = gateway.TryChargeNow(Card("pay-1", "4000000000009995"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->outcome, Outcome::kDeclined);
  EXPECT_TRUE(first->transaction_id.starts_with("txn_"));
  // The same payment again (another card even): the first answer, same transaction id.
  auto again = gateway.TryChargeNow(Card("pay-1", "4242424242424242"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(gateway.Lookup("pay-1"), first);
  EXPECT_FALSE(gateway.Lookup("pay-2").has_value());
  auto other = gateway.TryChargeNow(Card("pay-2", ""));
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(other->transaction_id, first->transaction_id);
}

TEST(SimulatedGateway, WithLatencyOnlyChargeAnswersAfterTheLatency) {
  SimulatedGateway gateway(20ms);
  EXPECT_FALSE(gateway.TryChargeNow(Card("pay-1", "")).has_value());
  EXPECT_FALSE(gateway.Lookup("pay-1").has_value());
  const auto start = std::chrono::steady_clock::now();
  GatewayResult result = RunBlocking([&] { return gateway.Charge(Card("pay-1", "")); });
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_EQ(result.outcome, Outcome::kApproved);
  EXPECT_EQ(gateway.Lookup("pay-1"), result);
}

}  // namespace
}  // namespace shopflow::payments
