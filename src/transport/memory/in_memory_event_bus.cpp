#include "transport/memory/in_memory_event_bus.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/thread_name.hpp"
#include "events/event_types.hpp"

namespace shopflow {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

void SetHeader(Headers& headers, std::string_view name, std::string value) {
  for (auto& [k, v] : headers) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

uint64_t SeedFrom(const InMemoryBusOptions& options) {
  if (options.seed) return *options.seed;
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

InMemoryEventBus::InMemoryEventBus(Topology topology, const Clock& clock,
                                   InMemoryBusOptions options)
    : topology_(std::move(topology)), clock_(clock), options_(options), rng_(SeedFrom(options)) {
  for (const QueueSpec& spec : topology_.queues) {
    auto [it, inserted] = queues_.try_emplace(spec.name);
    it->second.name = spec.name;
    it->second.is_dead_letter_queue = spec.role == QueueRole::kDeadLetter;
  }
  // Where each queue's failures go, resolved once: the DLQs are bound to the dead-letter
  // exchange with the module queue's name as routing key.
  for (auto& [name, state] : queues_) {
    const ModuleQueues* module = topology_.ModuleOfQueue(name);
    if (!module || state.is_dead_letter_queue) continue;
    for (const std::string& target :
         topology_.Route(topology_.dead_letter_exchange, module->queue)) {
      if (QueueState* target_state = FindQueueState(target)) {
        state.dead_letter_targets.push_back(target_state);
      }
    }
  }
  for (const EventInfo& event : AllEvents()) {
    EventRoute route{event.routing_key, {}};
    for (const std::string& name : topology_.Route(topology_.events_exchange, event.routing_key)) {
      if (QueueState* state = FindQueueState(name)) route.queues.push_back(state);
    }
    routes_.emplace(event.type, std::move(route));
  }
}

InMemoryEventBus::~InMemoryEventBus() { Stop(); }

InMemoryEventBus::QueueState* InMemoryEventBus::FindQueueState(std::string_view name) {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

const InMemoryEventBus::QueueState* InMemoryEventBus::FindQueueState(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

Result<void> InMemoryEventBus::Start() {
  std::lock_guard lock(mu_);
  if (stopping_) return UnavailableError("in-memory event bus is stopped");
  if (started_) return Ok();
  started_ = true;
  threads_.emplace_back([this] {
    SetThreadName("bus-timer");
    TimerLoop();
  });
  for (const Subscription& subscription : subscriptions_) StartWorkersLocked(subscription);
  return Ok();
}

void InMemoryEventBus::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    threads = std::move(threads_);
    threads_.clear();
    timer_cv_.notify_all();
    space_cv_.notify_all();  // a publisher waiting for room gets kUnavailable
    for (auto& [name, state] : queues_) state.ready_cv.notify_all();
  }
  // Workers finish the handler they are running (settling it normally), then exit.
  for (std::thread& thread : threads) thread.join();

  std::lock_guard lock(mu_);
  size_t left = scheduled_.size();
  scheduled_.clear();
  for (auto& [name, state] : queues_) {
    left += state.ready.size();
    state.ready.clear();
    state.scheduled = 0;
  }
  // Releases the handlers (and whatever they captured) now rather than at destruction.
  subscriptions_.clear();
  if (left > 0) spdlog::info("in-memory event bus stopped; {} undelivered messages dropped", left);
}

Result<void> InMemoryEventBus::Publish(std::span<const Envelope> batch) {
  // Validate and route the whole batch before touching any queue, so that a bad envelope
  // publishes nothing. Routes are immutable: routing needs no lock.
  std::vector<const EventRoute*> routed;
  routed.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto route = routes_.find(batch[i].event_type);
    if (route == routes_.end()) {
      return ValidationError("unknown eventType '" + batch[i].event_type + "'",
                             {{"[" + std::to_string(i) + "].eventType", "is not a known event"}});
    }
    routed.push_back(&route->second);
  }
  // One copy of the event per destination queue, made before taking the lock that every
  // consumer thread needs to take its next delivery (copying under it was ~1.5 % of the CPU).
  std::vector<std::pair<QueueState*, Message>> staged;
  for (size_t i = 0; i < batch.size(); ++i) {
    for (QueueState* queue : routed[i]->queues) {
      Message message;
      message.delivery.envelope = batch[i];
      message.delivery.queue = queue->name;
      message.delivery.routing_key = std::string(routed[i]->routing_key);
      staged.emplace_back(queue, std::move(message));
    }
  }

  std::unique_lock lock(mu_);
  if (options_.max_queue_depth > 0) {
    auto full = [&] {
      for (const EventRoute* r : routed) {
        for (const QueueState* q : r->queues) {
          if (q->consumers > 0 && q->ready.size() >= options_.max_queue_depth) return true;
        }
      }
      return false;
    };
    if (full()) {
      ++waiting_publishers_;
      space_cv_.wait(lock, [&] { return stopping_ || !full(); });
      --waiting_publishers_;
    }
  }
  if (stopping_) return UnavailableError("in-memory event bus is stopped");
  for (const EventRoute* r : routed) {
    ++counters_.published;
    if (r->queues.empty()) ++counters_.unroutable;
  }
  for (auto& [queue, message] : staged) EnqueueLocked(*queue, std::move(message));
  return Ok();
}

Result<void> InMemoryEventBus::SendToQueue(std::string_view queue, const Envelope& envelope,
                                           Headers headers) {
  QueueState* state = FindQueueState(queue);
  if (!state) {
    return ValidationError("unknown queue '" + std::string(queue) + "'",
                           {{"queue", "is not in the topology"}});
  }
  Message message;
  message.delivery.envelope = envelope;
  message.delivery.queue = state->name;
  message.delivery.headers = std::move(headers);
  if (std::string_view original = message.delivery.Header(dead_letter_headers::kRoutingKey);
      !original.empty()) {
    message.delivery.routing_key = std::string(original);
  } else {
    message.delivery.routing_key = std::string(RoutingKeyFor(envelope.event_type).value_or(""));
  }

  std::lock_guard lock(mu_);
  if (stopping_) return UnavailableError("in-memory event bus is stopped");
  EnqueueLocked(*state, std::move(message));
  return Ok();
}

void InMemoryEventBus::Subscribe(std::string queue, EventHandler handler,
                                 SubscribeOptions options) {
  QueueState* state = FindQueueState(queue);
  if (!state) throw std::invalid_argument("Subscribe: unknown queue '" + queue + "'");
  if (!handler) throw std::invalid_argument("Subscribe: empty handler for '" + queue + "'");
  if (options.concurrency < 1) {
    throw std::invalid_argument("Subscribe: concurrency must be >= 1 for '" + queue + "'");
  }
  auto batch = std::make_shared<const BatchEventHandler>(OneAtATime(std::move(handler)));
  AddSubscription(Subscription{state, std::move(batch), options.concurrency, 1});
}

void InMemoryEventBus::SubscribeBatch(std::string queue, BatchEventHandler handler,
                                      SubscribeOptions options) {
  QueueState* state = FindQueueState(queue);
  if (!state) throw std::invalid_argument("SubscribeBatch: unknown queue '" + queue + "'");
  if (!handler) throw std::invalid_argument("SubscribeBatch: empty handler for '" + queue + "'");
  if (options.concurrency < 1 || options.max_batch < 1) {
    throw std::invalid_argument("SubscribeBatch: concurrency and max_batch must be >= 1 for '" +
                                queue + "'");
  }
  AddSubscription(Subscription{state, std::make_shared<const BatchEventHandler>(std::move(handler)),
                               options.concurrency, static_cast<size_t>(options.max_batch)});
}

void InMemoryEventBus::AddSubscription(Subscription subscription) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  subscriptions_.push_back(subscription);
  if (started_) StartWorkersLocked(subscription);
}

BusStatus InMemoryEventBus::Status() const {
  std::lock_guard lock(mu_);
  return BusStatus{"memory", !stopping_, ""};
}

size_t InMemoryEventBus::DepthOf(std::string_view queue) const {
  const QueueState* state = FindQueueState(queue);
  if (!state) return 0;
  std::lock_guard lock(mu_);
  return state->ready.size() + state->scheduled;
}

std::vector<Delivery> InMemoryEventBus::PeekQueue(std::string_view queue) const {
  std::vector<Delivery> out;
  const QueueState* state = FindQueueState(queue);
  if (!state) return out;
  std::lock_guard lock(mu_);
  out.reserve(state->ready.size());
  for (const Message& message : state->ready) out.push_back(message.delivery);
  return out;
}

std::vector<ScheduledDelivery> InMemoryEventBus::PeekScheduled(std::string_view queue) const {
  std::vector<ScheduledDelivery> out;
  const QueueState* state = FindQueueState(queue);
  if (!state) return out;
  std::lock_guard lock(mu_);
  for (const auto& [due, entry] : scheduled_) {
    if (entry.queue == state) out.push_back({due, entry.message.delivery});
  }
  return out;
}

InMemoryBusCounters InMemoryEventBus::Counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void InMemoryEventBus::StartWorkersLocked(const Subscription& subscription) {
  for (int i = 0; i < subscription.concurrency; ++i) {
    ++subscription.queue->consumers;
    threads_.emplace_back([this, queue = subscription.queue, handler = subscription.handler,
                           max_batch = subscription.max_batch] {
      SetThreadName("q:" + queue->name);
      WorkerLoop(*queue, handler, max_batch);
    });
  }
}

void InMemoryEventBus::EnqueueLocked(QueueState& queue, Message message) {
  queue.ready.push_back(std::move(message));
  queue.ready_cv.notify_one();
}

void InMemoryEventBus::WorkerLoop(QueueState& queue,
                                  std::shared_ptr<const BatchEventHandler> handler,
                                  size_t max_batch) {
  std::vector<Delivery> deliveries;
  std::vector<std::optional<TimePoint>> first_failures;
  std::vector<std::string> dropped;
  std::unique_lock lock(mu_);
  while (true) {
    queue.ready_cv.wait(lock, [&] { return stopping_ || !queue.ready.empty(); });
    if (stopping_) return;
    const size_t n = std::min(max_batch, queue.ready.size());
    deliveries.clear();
    first_failures.clear();
    for (size_t i = 0; i < n; ++i) {
      Message& message = queue.ready.front();
      deliveries.push_back(std::move(message.delivery));
      first_failures.push_back(message.first_failure);
      queue.ready.pop_front();
    }
    counters_.delivered += n;
    if (waiting_publishers_ > 0 && queue.ready.size() < options_.max_queue_depth) {
      space_cv_.notify_all();
    }
    // This worker may have taken messages whose notification woke nobody else: leave the rest
    // to another worker rather than to this one's next round.
    if (!queue.ready.empty()) queue.ready_cv.notify_one();

    lock.unlock();
    std::vector<HandlerOutcome> outcomes = InvokeBatch(*handler, deliveries);
    lock.lock();

    for (size_t i = 0; i < n; ++i) {
      if (std::optional<std::string> line =
              SettleLocked(queue, Message{std::move(deliveries[i]), first_failures[i]},
                           std::move(outcomes[i]))) {
        dropped.push_back(std::move(*line));
      }
    }
    if (!dropped.empty()) {
      lock.unlock();
      for (const std::string& line : dropped) spdlog::warn("{}", line);
      dropped.clear();
      lock.lock();
    }
  }
}

std::optional<std::string> InMemoryEventBus::SettleLocked(QueueState& queue, Message message,
                                                          HandlerOutcome outcome) {
  const TimePoint now = clock_.Now();
  switch (outcome.kind) {
    case HandlerOutcome::Kind::kAck:
      ++counters_.acked;
      return std::nullopt;
    case HandlerOutcome::Kind::kRetry:
      if (message.delivery.attempt < topology_.retry.max_attempts) {
        const Duration delay = JitteredDelayLocked(message.delivery.attempt);
        if (!message.first_failure) message.first_failure = now;
        ++message.delivery.attempt;
        ++message.delivery.envelope.metadata.retry_count;
        const bool earliest = scheduled_.empty() || now + delay < scheduled_.begin()->first;
        scheduled_.emplace(now + delay, ScheduledMessage{&queue, std::move(message)});
        ++queue.scheduled;
        ++counters_.retried;
        if (earliest) timer_cv_.notify_one();
        return std::nullopt;
      }
      return DeadLetterLocked(queue, std::move(message), outcome.reason, now);
    case HandlerOutcome::Kind::kDeadLetter:
      return DeadLetterLocked(queue, std::move(message), outcome.reason, now);
  }
  return std::nullopt;
}

std::optional<std::string> InMemoryEventBus::DeadLetterLocked(QueueState& queue, Message message,
                                                              const std::string& reason,
                                                              TimePoint now) {
  const Delivery& failed = message.delivery;
  if (queue.dead_letter_targets.empty()) {
    // A dead-letter queue's own failures (or a queue without DLQ) end here: re-dead-lettering
    // could loop forever.
    ++counters_.dropped;
    return "in-memory event bus: dropping message " + failed.envelope.metadata.message_id + " (" +
           failed.envelope.event_type + ") that failed on " + queue.name + " after " +
           std::to_string(failed.attempt) + " attempt(s): " + reason;
  }
  Headers headers = failed.headers;
  SetHeader(headers, dead_letter_headers::kReason, reason);
  SetHeader(headers, dead_letter_headers::kAttempts, std::to_string(failed.attempt));
  SetHeader(headers, dead_letter_headers::kOriginalQueue, failed.queue);
  SetHeader(headers, dead_letter_headers::kRoutingKey, failed.routing_key);
  SetHeader(headers, dead_letter_headers::kFirstFailure,
            FormatRfc3339(message.first_failure.value_or(now)));
  SetHeader(headers, dead_letter_headers::kLastFailure, FormatRfc3339(now));

  for (QueueState* target : queue.dead_letter_targets) {
    Message dead;
    dead.delivery.envelope = failed.envelope;
    dead.delivery.queue = target->name;
    dead.delivery.routing_key = failed.routing_key;
    dead.delivery.headers = headers;
    EnqueueLocked(*target, std::move(dead));
  }
  ++counters_.dead_lettered;
  return std::nullopt;
}

Duration InMemoryEventBus::JitteredDelayLocked(int failures) {
  const RetryPolicy& policy = topology_.retry;
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  double factor = 1.0;
  if (jitter > 0.0)
    factor = std::uniform_real_distribution<double>(1.0 - jitter, 1.0 + jitter)(rng_);
  const std::chrono::duration<double, std::milli> delay(
      static_cast<double>(policy.DelayAfter(failures).count()) * factor);
  return std::chrono::duration_cast<Duration>(delay);
}

void InMemoryEventBus::TimerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const TimePoint now = clock_.Now();
    while (!scheduled_.empty() && scheduled_.begin()->first <= now) {
      auto node = scheduled_.extract(scheduled_.begin());
      QueueState& queue = *node.mapped().queue;
      --queue.scheduled;
      EnqueueLocked(queue, std::move(node.mapped().message));
    }
    if (scheduled_.empty()) {
      timer_cv_.wait(lock);  // woken by a new retry or by Stop()
      continue;
    }
    // The injected clock may be a FakeClock that jumps without notice: re-check it at least
    // every poll interval of real time, sooner if the next redelivery is due by then.
    const Duration until_due = scheduled_.begin()->first - now;
    timer_cv_.wait_for(lock, std::min<Duration>(until_due, options_.timer_poll_interval));
  }
}

std::vector<QueueDepth> InMemoryEventBus::QueueDepths() {
  std::vector<QueueDepth> out;
  for (const auto& q : topology_.queues) {
    out.push_back({q.name, static_cast<int64_t>(DepthOf(q.name)), -1});
  }
  return out;
}

}  // namespace shopflow
