#include "transport/amqp/amqp_tap.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "core/thread_name.hpp"

namespace shopflow {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr uint16_t kTapChannel = 1;
// Copies waiting in the tap queue beyond this are dropped (oldest first): a dashboard that
// cannot keep up loses frames, the broker never stores an unbounded backlog for it.
constexpr int64_t kTapQueueLength = 10'000;
// How long the tap stays connected once nobody wants it: a page reload does not tear the
// queue down and build it again.
constexpr auto kLinger = std::chrono::seconds(10);

}  // namespace

AmqpEventBus::Tap::Tap(AmqpEventBus& bus, EventObserver* observer, std::function<bool()> wanted,
                       uint64_t seed)
    : bus_(bus), observer_(observer), wanted_(std::move(wanted)), backoff_(bus.options_, seed) {}

void AmqpEventBus::Tap::Start() {
  if (!thread_.joinable())
    thread_ = std::thread([this] {
      SetThreadName("amqp-tap");
      Run();
    });
}

void AmqpEventBus::Tap::Join() {
  if (thread_.joinable()) thread_.join();
}

bool AmqpEventBus::Tap::Wanted() const {
  try {
    return wanted_ && wanted_();
  } catch (const std::exception& e) {
    spdlog::warn("RabbitMQ tap: its predicate threw: {}", e.what());
    return false;
  }
}

void AmqpEventBus::Tap::Run() {
  while (!bus_.stopping()) {
    if (!Wanted()) {
      if (!bus_.WaitUnlessStopping(bus_.options_.poll_interval)) break;
      continue;
    }
    Result<void> watched = Watch();
    if (watched) {
      backoff_.Reset();
      continue;
    }
    spdlog::debug("RabbitMQ tap: {}", watched.error().message);
    if (!bus_.WaitUnlessStopping(backoff_.Next())) break;
  }
}

Result<void> AmqpEventBus::Tap::Watch() {
  const AmqpBusOptions& options = bus_.options_;
  const Topology& topology = bus_.topology_;
  auto opened = amqp::Connection::Open(
      bus_.url_, amqp::ConnectionOptionsFor(options, options.connection_name + " tap"));
  if (!opened) return std::move(opened).error();
  amqp::Connection& c = **opened;
  if (auto r = c.OpenChannel(kTapChannel); !r) return r;
  if (auto r = c.DeclareTopology(kTapChannel, topology); !r) return r;
  auto queue = c.DeclarePrivateQueue(kTapChannel, kTapQueueLength);
  if (!queue) return std::move(queue).error();
  if (auto r = c.BindQueue(kTapChannel, *queue, topology.events_exchange, "#"); !r) return r;
  for (const BindingSpec& b : topology.bindings) {
    if (b.source != topology.retry_exchange && b.source != topology.dead_letter_exchange) continue;
    if (auto r = c.BindQueue(kTapChannel, *queue, b.source, b.routing_key); !r) return r;
  }
  if (auto r = c.Consume(kTapChannel, *queue, /*no_ack=*/true); !r) return r;
  backoff_.Reset();
  spdlog::info("RabbitMQ tap: watching the whole broker for the live stream");

  auto last_wanted = SteadyClock::now();
  while (!bus_.stopping()) {
    if (Wanted()) {
      last_wanted = SteadyClock::now();
    } else if (SteadyClock::now() - last_wanted > kLinger) {
      spdlog::info("RabbitMQ tap: nobody is watching; closing");
      return Ok();
    }
    auto event = c.Next(options.poll_interval);
    if (!event) return std::move(event).error();
    if (!*event) continue;
    if (const auto* message = std::get_if<amqp::InboundMessage>(&**event)) Dispatch(*message);
  }
  return Ok();
}

void AmqpEventBus::Tap::Dispatch(const amqp::InboundMessage& message) {
  const amqp::Headers& headers = message.properties.headers;
  const std::string* origin = amqp::FindHeader(headers, amqp::kOriginHeader);
  if (origin && *origin == bus_.instance_id_) return;  // this process reports its own traffic
  const Topology& topology = bus_.topology_;
  const std::string* original_queue =
      amqp::FindHeader(headers, dead_letter_headers::kOriginalQueue);
  const std::string* reason = amqp::FindHeader(headers, dead_letter_headers::kReason);

  if (message.exchange == topology.events_exchange) {
    auto delivery = amqp::ToDelivery(message, "", false);
    if (!delivery) return;  // not an event of ours: nothing to show
    observer_->OnPublished(std::span<const Envelope>(&delivery->envelope, 1));
    return;
  }
  const bool retry = message.exchange == topology.retry_exchange;
  std::string queue = original_queue ? *original_queue : message.routing_key;
  auto delivery = amqp::ToDelivery(message, queue, false);
  if (!delivery) return;
  // A retry copy carries the number of the next delivery; the failed one is the one before.
  if (retry) delivery->attempt = std::max(1, delivery->attempt - 1);
  const std::string why = reason ? *reason : std::string("failed in another process");
  const HandlerOutcome outcome =
      retry ? HandlerOutcome::Retry(why) : HandlerOutcome::DeadLetter(why);
  observer_->OnHandled(*delivery, outcome, std::chrono::nanoseconds(0));
}

}  // namespace shopflow
