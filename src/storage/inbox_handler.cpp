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

}  // namespace shopflow
