#include "storage/inbox_handler.hpp"

namespace shopflow {

HandlerOutcome ApplyOnce(Store& store, const std::string& consumer, const Delivery& delivery,
                         const EffectFn& effect) {
  auto result = WriteAndWait(store, [&](Transaction& txn) -> Result<void> {
    auto fresh = txn.MarkApplied(consumer, delivery.envelope.metadata.message_id);
    if (!fresh) return std::move(fresh).error();
    if (!*fresh) return Ok();  // a redelivery: its effect is already committed
    return effect(txn, delivery);
  });
  if (result) return HandlerOutcome::Ack();
  const Error& error = result.error();
  if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kInternal) {
    return HandlerOutcome::Retry(error.message);
  }
  return HandlerOutcome::DeadLetter(std::string(ErrorCodeName(error.code)) + ": " + error.message);
}

EventHandler ExactlyOnceHandler(Store& store, std::string consumer, EffectFn effect) {
  return [&store, consumer = std::move(consumer), effect = std::move(effect)](
             const Delivery& delivery) { return ApplyOnce(store, consumer, delivery, effect); };
}

std::vector<HandlerOutcome> ApplyOnceBatch(Store& store, const std::string& consumer,
                                           std::span<const Delivery> deliveries,
                                           const EffectFn& effect, const ActsFn& acts) {
  std::vector<HandlerOutcome> outcomes(deliveries.size(), HandlerOutcome::Ack());
  std::vector<size_t> acting;
  for (size_t i = 0; i < deliveries.size(); ++i) {
    if (acts(deliveries[i])) acting.push_back(i);
  }
  if (acting.empty()) return outcomes;
  if (acting.size() == 1) {
    outcomes[acting[0]] = ApplyOnce(store, consumer, deliveries[acting[0]], effect);
    return outcomes;
  }
  auto together = WriteAndWait(store, [&](Transaction& txn) -> Result<void> {
    for (size_t i : acting) {
      const Delivery& delivery = deliveries[i];
      auto fresh = txn.MarkApplied(consumer, delivery.envelope.metadata.message_id);
      if (!fresh) return std::move(fresh).error();
      if (!*fresh) continue;  // a redelivery (or a copy earlier in this batch): already applied
      if (auto applied = effect(txn, delivery); !applied) return applied;
    }
    return Ok();
  });
  if (together) return outcomes;
  // Something failed and nothing of the batch was committed: each on its own now, so that the
  // failing delivery gets its outcome and the others commit.
  for (size_t i : acting) outcomes[i] = ApplyOnce(store, consumer, deliveries[i], effect);
  return outcomes;
}

}  // namespace shopflow
