#include "storage/inbox_handler.hpp"

#include <algorithm>

namespace shopflow {
namespace {

HandlerOutcome OutcomeOf(const Result<void>& result) {
  if (result) return HandlerOutcome::Ack();
  const Error& error = result.error();
  if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kInternal) {
    return HandlerOutcome::Retry(error.message);
  }
  return HandlerOutcome::DeadLetter(std::string(ErrorCodeName(error.code)) + ": " + error.message);
}

// ApplyOnce that also tells whether the effect was committed (not a redelivery).
HandlerOutcome ApplyOnceReporting(Store& store, const std::string& consumer,
                                  const Delivery& delivery, const EffectFn& effect, bool& applied) {
  bool fresh_in_attempt = false;
  auto result = WriteAndWait(store, [&](Transaction& txn) -> Result<void> {
    fresh_in_attempt = false;
    auto fresh = txn.MarkApplied(consumer, delivery.envelope.metadata.message_id);
    if (!fresh) return std::move(fresh).error();
    if (!*fresh) return Ok();  // a redelivery: its effect is already committed
    fresh_in_attempt = true;
    return effect(txn, delivery);
  });
  applied = result.ok() && fresh_in_attempt;
  return OutcomeOf(result);
}

}  // namespace

HandlerOutcome ApplyOnce(Store& store, const std::string& consumer, const Delivery& delivery,
                         const EffectFn& effect) {
  bool applied = false;
  return ApplyOnceReporting(store, consumer, delivery, effect, applied);
}

EventHandler ExactlyOnceHandler(Store& store, std::string consumer, EffectFn effect) {
  return [&store, consumer = std::move(consumer), effect = std::move(effect)](
             const Delivery& delivery) { return ApplyOnce(store, consumer, delivery, effect); };
}

std::vector<HandlerOutcome> ApplyOnceBatch(Store& store, const std::string& consumer,
                                           std::span<const Delivery> deliveries,
                                           const EffectFn& effect, const ActsFn& acts,
                                           std::vector<bool>* applied) {
  std::vector<HandlerOutcome> outcomes(deliveries.size(), HandlerOutcome::Ack());
  std::vector<bool> fresh(deliveries.size(), false);
  std::vector<size_t> acting;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (acts(deliveries[i])) acting.push_back(i);
  }
  auto report = [&] {
    if (applied) *applied = std::move(fresh);
    return std::move(outcomes);
  };
  if (acting.empty()) return report();
  auto one_by_one = [&] {
    for (size_t i : acting) {
      bool committed = false;
      outcomes[i] = ApplyOnceReporting(store, consumer, deliveries[i], effect, committed);
      fresh[i] = committed;
    }
  };
  if (acting.size() == 1) {
    one_by_one();
    return report();
  }
  auto together = WriteAndWait(store, [&](Transaction& txn) -> Result<void> {
    std::fill(fresh.begin(), fresh.end(), false);
    for (size_t i : acting) {
      const Delivery& delivery = deliveries[i];
      auto marked = txn.MarkApplied(consumer, delivery.envelope.metadata.message_id);
      if (!marked) return std::move(marked).error();
      if (!*marked) continue;  // a redelivery (or a copy earlier in this batch): already applied
      fresh[i] = true;
      if (auto effected = effect(txn, delivery); !effected) return effected;
    }
    return Ok();
  });
  if (together) return report();
  // Something failed and nothing of the batch was committed: each on its own now, so that the
  // failing delivery gets its outcome and the others commit.
  one_by_one();
  return report();
}

}  // namespace shopflow
