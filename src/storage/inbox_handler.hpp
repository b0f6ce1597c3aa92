#pragma once

#include <functional>
#include <string>

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

}  // namespace shopflow
