#pragma once

#include "core/settings.hpp"

namespace shopflow {

/// Handler threads (competing consumers) for one module queue: `settings.consumer_threads` when
/// set, else ("auto") what measured best for the bus (docs/PERFORMANCE.md, 2026-12-03):
/// - the embedded bus: 4 for every queue. Its threads share one in-process queue, so a thread
///   that is free takes what arrived while the others wait for their commits: more writes per
///   group commit.
/// - RabbitMQ: 1 for every queue (each is consumed in batches). Each consumer is a connection
///   the broker deals deliveries to in turn whether it is busy or not, so four split every
///   batch four ways (four commits, four acks, four wake-ups where one does).
int ConsumerThreadsFor(const Settings& settings);

}  // namespace shopflow
