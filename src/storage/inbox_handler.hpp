#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "events/event_bus.hpp"
#include "storage/store.hpp"

namespace shopflow {

/// The effect of one event, applied inside the inbox transaction.
using EffectFn = std::function<Result<void>(Transaction& txn, const Delivery& delivery)>;

/// Makes an exactly-once consumer out of an at-least-once delivery (ARCHITECTURE.md
/// principle 7): in one write transaction it records (consumer, messageId) in the inbox and
/// applies `effect`; a message already recorded is acknowledged without applying anything.
/// Blocks the calling (bus) thread until the transaction commits.
///
/// Outcome mapping: ok → Ack; kUnavailable or kInternal (the store or something it needs is
/// down) → Retry with the error's message; any other error (the event itself is unusable, e.g.
/// kValidationFailed) → DeadLetter, since redelivering it cannot help.
HandlerOutcome ApplyOnce(Store& store, const std::string& consumer, const Delivery& delivery,
                         const EffectFn& effect);

/// An EventHandler that runs ApplyOnce with `effect`. `store` must outlive the handler.
EventHandler ExactlyOnceHandler(Store& store, std::string consumer, EffectFn effect);

/// Whether a consumer's effect can change anything for a delivery (decided without the store).
using ActsFn = std::function<bool(const Delivery& delivery)>;

/// ApplyOnce for the deliveries a BatchEventHandler got, in one write transaction: each one
/// `acts` accepts is marked in the inbox and applied in order (a later one sees an earlier one's
/// writes; a messageId seen twice is applied once); the others are acknowledged without a
/// write. One commit and one wait instead of one per delivery. When the transaction fails, each
/// delivery is applied again on its own (ApplyOnce), so every one gets its own outcome and a
/// poison message cannot hold back the rest. Returns one outcome per delivery, in order.
///
/// When `applied` is given it is set to one flag per delivery: whether this call committed its
/// effect (false for one ignored, a redelivery, a copy, or one that failed). A consumer with
/// work to do after the commit (e.g. calling out) needs it, since an effect that ran inside a
/// transaction that was then rolled back and retried tells it nothing.
std::vector<HandlerOutcome> ApplyOnceBatch(Store& store, const std::string& consumer,
                                           std::span<const Delivery> deliveries,
                                           const EffectFn& effect, const ActsFn& acts,
                                           std::vector<bool>* applied = nullptr);

}  // namespace shopflow
