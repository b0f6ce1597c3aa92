#include "transport/amqp/amqp_event_bus.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/thread_name.hpp"
#include "events/event_types.hpp"
#include "transport/amqp/amqp_tap.hpp"
#include "transport/amqp/amqp_wrappers.hpp"
#include "transport/amqp/reconnect_policy.hpp"
#include "transport/amqp/wire_message.hpp"

namespace shopflow {
namespace {

using amqp::Backoff;
using amqp::Connection;
using amqp::ConnectionOptionsFor;
using amqp::Headers;
using amqp::InboundMessage;
using amqp::OutgoingMessage;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The publisher publishes on its channel 1. A consumer consumes on channel 1 and publishes its
// retries and dead letters on channel 2, in confirm mode: a consuming channel's deliveries and
// a confirm channel's acks are numbered independently, so keeping them apart keeps both simple.
constexpr uint16_t kMainChannel = 1;
constexpr uint16_t kConfirmChannel = 2;

// While publishing a large batch the publisher reads the confirms that arrived every this many
// messages, so that they never pile up in the socket buffers.
constexpr size_t kDrainEvery = 256;

milliseconds Remaining(SteadyClock::time_point deadline) {
  return std::max(milliseconds::zero(),
                  std::chrono::ceil<milliseconds>(deadline - SteadyClock::now()));
}

Result<std::unique_ptr<Connection>> OpenPublisherConnection(const AmqpUrl& url,
                                                            const Topology& topology,
                                                            const AmqpBusOptions& options) {
  auto connection =
      Connection::Open(url, ConnectionOptionsFor(options, options.connection_name + " publisher"));
  if (!connection) return std::move(connection).error();
  Connection& c = **connection;
  if (auto r = c.OpenChannel(kMainChannel); !r) return std::move(r).error();
  if (auto r = c.DeclareTopology(kMainChannel, topology); !r) return std::move(r).error();
  if (auto r = c.SelectConfirms(kMainChannel); !r) return std::move(r).error();
  return connection;
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Link: the health of one thread's connection, read by Status().

class AmqpEventBus::Link {
 public:
  void Up() {
    std::lock_guard lock(mu_);
    connected_ = true;
  }
  void Down(std::string error) {
    std::lock_guard lock(mu_);
    connected_ = false;
    error_ = std::move(error);
  }
  std::pair<bool, std::string> Get() const {
    std::lock_guard lock(mu_);
    return {connected_, error_};
  }

 private:
  mutable std::mutex mu_;
  bool connected_ = false;
  std::string error_ = "connecting";
};

// ----------------------------------------------------------------------------------------------
// Publisher: one thread, one connection, one confirm-mode channel.
//
// Pipelined: the thread publishes whatever is queued as soon as it is queued, also while
// earlier messages still wait for their confirms (a wake-up eventfd interrupts its wait on the
// socket), and completes each job once all of its messages are confirmed. A job therefore
// never waits for the confirms of the jobs before it: with persistent messages a confirm
// follows the broker's disk write, several milliseconds under load, and a relay that waited for
// them before its next batch held every event of that batch back as long.

class AmqpEventBus::Publisher {
 public:
  Publisher(AmqpEventBus& bus, std::unique_ptr<Connection> connection, uint64_t seed)
      : bus_(bus),
        initial_(std::move(connection)),
        backoff_(bus.options_, seed),
        wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    link_.Up();
  }
  ~Publisher() {
    Stop();
    close(wake_fd_);
  }

  void Start() {
    thread_ = std::thread([this] {
      SetThreadName("amqp-publish");
      Run();
    });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      work_cv_.notify_all();
    }
    Wake();
    if (thread_.joinable()) thread_.join();
  }

  const Link& link() const { return link_; }

  /// Publishes `messages` and waits for their confirms.
  Result<void> Submit(std::vector<OutgoingMessage> messages) {
    if (messages.empty()) return Ok();
    struct Outcome {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<Result<void>> result;
    };
    auto outcome = std::make_shared<Outcome>();
    SubmitAsync(std::move(messages), [outcome](Result<void> result) {
      std::lock_guard lock(outcome->mu);
      outcome->result = std::move(result);
      outcome->cv.notify_all();
    });
    std::unique_lock lock(outcome->mu);
    // The publisher thread settles every job within one operation_timeout of publishing it;
    // this deadline is only a safety net against a write blocked in the kernel.
    const auto deadline =
        SteadyClock::now() + 2 * bus_.options_.operation_timeout + bus_.options_.poll_interval;
    if (!outcome->cv.wait_until(lock, deadline, [&] { return outcome->result.has_value(); })) {
      return UnavailableError("publishing to RabbitMQ timed out");
    }
    return std::move(*outcome->result);
  }

  /// Queues `messages` for the publisher thread; `done` gets the outcome (inline if refused).
  void SubmitAsync(std::vector<OutgoingMessage> messages, EventBus::PublishDone done) {
    if (messages.empty()) return done(Ok());
    if (auto [up, error] = link_.Get(); !up) {
      return done(UnavailableError("RabbitMQ publisher is disconnected: " + error));
    }
    auto job = std::make_shared<Job>();
    job->messages = std::move(messages);
    job->done = std::move(done);
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(job));
        work_cv_.notify_one();
      }
    }
    if (job) return job->done(UnavailableError("event bus is stopped"));  // not queued
    Wake();
  }

 private:
  struct Job {
    std::vector<OutgoingMessage> messages;
    EventBus::PublishDone done;
    // Publisher thread only, once taken from the queue.
    std::optional<Error> error;
    size_t acked = 0;
    size_t settled = 0;  // acked or nacked
    SteadyClock::time_point deadline;
  };
  using Jobs = std::vector<std::shared_ptr<Job>>;
  // One published message awaiting its confirm: slots_[i] holds delivery tag base_tag_ + i.
  struct Slot {
    Job* job;
    bool settled = false;
  };

  void Wake() {
    const uint64_t one = 1;
    // A full counter (never, at 2^64 - 1) or EAGAIN still leaves the eventfd readable.
    [[maybe_unused]] const auto n = write(wake_fd_, &one, sizeof one);
  }

  void Run() {
    std::unique_ptr<Connection> connection = std::move(initial_);
    auto next_attempt = SteadyClock::now();
    while (true) {
      Jobs jobs;
      {
        std::unique_lock lock(mu_);
        if (inflight_.empty()) {
          // Nothing awaits a confirm: sleep until work arrives (or it is time for heartbeats
          // or a reconnection attempt).
          const milliseconds wait =
              connection ? bus_.options_.poll_interval : Remaining(next_attempt);
          work_cv_.wait_for(lock, wait, [&] { return stopping_ || !queue_.empty(); });
          if (stopping_) break;
        }
        // While stopping, the confirms of what is out are still collected; nothing new goes.
        if (!stopping_) {
          jobs.assign(std::make_move_iterator(queue_.begin()),
                      std::make_move_iterator(queue_.end()));
          queue_.clear();
        }
      }
      if (!connection) {
        // Submit refuses work while disconnected; these raced with the disconnection.
        Complete(jobs, UnavailableError("RabbitMQ publisher is disconnected"));
        if (SteadyClock::now() < next_attempt) continue;
        auto opened = OpenPublisherConnection(bus_.url_, bus_.topology_, bus_.options_);
        if (!opened) {
          link_.Down(opened.error().message);
          next_attempt = SteadyClock::now() + backoff_.Next();
          // The first failure of an outage is worth a warning; the retries are not.
          spdlog::log(failed_attempts_++ == 0 ? spdlog::level::warn : spdlog::level::debug,
                      "RabbitMQ publisher: reconnection failed: {}", opened.error().message);
          continue;
        }
        failed_attempts_ = 0;
        connection = std::move(opened).value();
        next_tag_ = 0;
        base_tag_ = 1;
        backoff_.Reset();
        link_.Up();
        spdlog::info("RabbitMQ publisher reconnected to {}", bus_.url_.Redacted());
        continue;
      }
      Result<void> outcome = Ok();
      if (!jobs.empty()) outcome = PublishJobs(*connection, jobs);
      if (outcome) {
        if (!inflight_.empty()) {
          outcome = AwaitConfirms(*connection);
        } else if (jobs.empty()) {
          outcome = Service(*connection);
        }
      }
      CompleteSettled();
      if (!outcome) {
        spdlog::warn("RabbitMQ publisher connection lost: {}", outcome.error().message);
        FailInflight(outcome.error());
        link_.Down(outcome.error().message);
        ++bus_.counters_.connections_lost;
        connection.reset();
        next_attempt = SteadyClock::now() + backoff_.Next();
      }
      {
        std::lock_guard lock(mu_);
        if (stopping_ && inflight_.empty()) break;
      }
    }
    FailInflight(UnavailableError("event bus is stopped"));
    Jobs left;
    {
      std::lock_guard lock(mu_);
      left.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    Complete(left, UnavailableError("event bus is stopped"));
    connection.reset();  // closes cleanly
  }

  // Reads what arrived while idle: sends heartbeats when due and notices a connection the broker
  // closed, so that Status() and Publish() learn about an outage within one poll interval.
  Result<void> Service(Connection& c) {
    while (true) {
      auto event = c.Next(milliseconds::zero());
      if (!event) return std::move(event).error();
      if (!*event) return Ok();
    }
  }

  // Publishes every message of `jobs` back to back; they join inflight_ and complete when their
  // confirms arrive. An error return means the connection is unusable.
  Result<void> PublishJobs(Connection& c, Jobs& jobs) {
    if (c.blocked()) {
      for (auto& job : jobs) {
        job->error = UnavailableError("RabbitMQ is blocking publishers: " + c.blocked_reason());
      }
      Complete(jobs, std::nullopt);
      return Ok();
    }
    const auto deadline = SteadyClock::now() + bus_.options_.operation_timeout;
    for (auto& job : jobs) {
      job->deadline = deadline;
      inflight_.push_back(job);  // all of them first: a failure below fails them all
    }
    size_t sent = 0;
    // The whole burst in full segments; sent when this returns, on an error too.
    const amqp::CorkedWrites corked(c);
    for (auto& job : jobs) {
      for (const OutgoingMessage& message : job->messages) {
        if (auto r = c.Publish(kMainChannel, message, /*mandatory=*/true); !r) return r;
        ++next_tag_;
        slots_.push_back(Slot{job.get()});
        if (message.must_route) must_route_.emplace(message.properties.message_id, job.get());
        if (++sent % kDrainEvery == 0) {
          if (auto r = DrainEvents(c); !r) return r;
        }
      }
    }
    jobs.clear();
    return Ok();
  }

  // Waits until the socket has input, new work is queued or the oldest job's deadline passes,
  // then handles every event that arrived.
  Result<void> AwaitConfirms(Connection& c) {
    const auto deadline = inflight_.front()->deadline;
    if (SteadyClock::now() >= deadline) {
      return UnavailableError("no publisher confirm from RabbitMQ within " +
                              std::to_string(bus_.options_.operation_timeout.count()) + " ms");
    }
    if (!c.HasBufferedInput()) {
      pollfd fds[2] = {{c.SocketFd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      // Bounded by poll_interval too, so that heartbeats keep going during a long wait.
      const auto wait = std::min(Remaining(deadline), bus_.options_.poll_interval);
      const int ready = poll(fds, 2, static_cast<int>(wait.count()));
      if (ready < 0 && errno != EINTR) {
        return UnavailableError(std::string("poll: ") + std::strerror(errno));
      }
      if (ready > 0 && (fds[1].revents & POLLIN)) {
        uint64_t count;
        [[maybe_unused]] const auto n = read(wake_fd_, &count, sizeof count);
      }
    }
    return DrainEvents(c);
  }

  Result<void> DrainEvents(Connection& c) {
    while (true) {
      auto event = c.Next(milliseconds::zero());
      if (!event) return std::move(event).error();
      if (!*event) return Ok();
      OnEvent(**event);
    }
  }

  void OnEvent(amqp::InboundEvent& event) {
    if (const auto* confirm = std::get_if<amqp::Confirm>(&event)) {
      if (confirm->channel != kMainChannel) return;
      if (confirm->multiple) {
        for (uint64_t tag = base_tag_; tag <= confirm->delivery_tag; ++tag) {
          if (!Settle(tag, confirm->ack)) break;
        }
      } else {
        Settle(confirm->delivery_tag, confirm->ack);
      }
      // Settled slots at the front are done with.
      while (!slots_.empty() && slots_.front().settled) {
        slots_.pop_front();
        ++base_tag_;
      }
    } else if (const auto* returned = std::get_if<amqp::Returned>(&event)) {
      // RabbitMQ sends a message's basic.return before its basic.ack, so the job is still
      // in flight here.
      auto [begin, end] = must_route_.equal_range(returned->properties.message_id);
      if (begin == end) {
        ++bus_.counters_.unroutable;
        spdlog::debug("RabbitMQ: no queue bound for {} ({}), dropped by the broker",
                      returned->routing_key, returned->properties.type);
      }
      for (auto it = begin; it != end; ++it) {
        if (!it->second->error) {
          it->second->error =
              UnavailableError("RabbitMQ could not route the message to '" + returned->routing_key +
                               "' via '" + returned->exchange + "': " + returned->reply_text);
        }
      }
    }
  }

  // Settles the message of delivery tag `tag`; false if no such message is in flight.
  bool Settle(uint64_t tag, bool ack) {
    if (tag < base_tag_ || tag - base_tag_ >= slots_.size()) return false;
    Slot& slot = slots_[tag - base_tag_];
    if (slot.settled) return true;
    slot.settled = true;
    Job* job = slot.job;
    ++job->settled;
    if (ack) {
      ++job->acked;
      ++bus_.counters_.published;
    } else if (!job->error) {
      job->error = UnavailableError("RabbitMQ refused a message (basic.nack)");
    }
    return true;
  }

  // Completes the jobs at the front of inflight_ whose messages are all settled, in order.
  void CompleteSettled() {
    Jobs done;
    while (!inflight_.empty() && inflight_.front()->settled == inflight_.front()->messages.size()) {
      ForgetMustRoute(*inflight_.front());
      done.push_back(std::move(inflight_.front()));
      inflight_.pop_front();
    }
    Complete(done, std::nullopt);
  }

  void ForgetMustRoute(const Job& job) {
    for (const OutgoingMessage& message : job.messages) {
      if (!message.must_route) continue;
      auto [begin, end] = must_route_.equal_range(message.properties.message_id);
      for (auto it = begin; it != end;) {
        it = it->second == &job ? must_route_.erase(it) : std::next(it);
      }
    }
  }

  // Completes every job in flight: the connection they were published on is gone.
  void FailInflight(const Error& error) {
    Jobs jobs(std::make_move_iterator(inflight_.begin()), std::make_move_iterator(inflight_.end()));
    inflight_.clear();
    slots_.clear();
    must_route_.clear();
    base_tag_ = next_tag_ + 1;
    Complete(jobs, error);
  }

  // Completes `jobs`: a job succeeds when every message was acked and nothing went wrong;
  // otherwise it fails with its own error, else `failure`.
  void Complete(Jobs& jobs, const std::optional<Error>& failure) {
    for (auto& job : jobs) {
      Result<void> result = Ok();
      if (job->error) {
        result = *job->error;
      } else if (job->acked != job->messages.size()) {
        result = failure ? *failure : UnavailableError("message not confirmed by RabbitMQ");
      }
      auto done = std::move(job->done);
      if (!done) continue;
      try {
        done(std::move(result));
      } catch (const std::exception& e) {
        spdlog::error("RabbitMQ publisher: a publish completion threw: {}", e.what());
      } catch (...) {
        spdlog::error("RabbitMQ publisher: a publish completion threw");
      }
    }
    jobs.clear();
  }
  AmqpEventBus& bus_;
  Link link_;
  std::unique_ptr<Connection> initial_;  // handed to the thread by Start()
  Backoff backoff_;                      // publisher thread only
  const int wake_fd_;                    // eventfd: SubmitAsync interrupts AwaitConfirms' poll
  int failed_attempts_ = 0;              // publisher thread only: reconnections failed in a row
  // Publisher thread only: the connection's published messages and the jobs they belong to.
  uint64_t next_tag_ = 0;                      // the last delivery tag used on the connection
  uint64_t base_tag_ = 1;                      // the delivery tag of slots_.front()
  std::deque<Slot> slots_;                     // messages not known to be settled, by tag
  std::deque<std::shared_ptr<Job>> inflight_;  // published jobs not completed, in order
  std::unordered_multimap<std::string, Job*> must_route_;  // in-flight must_route, by messageId

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// ----------------------------------------------------------------------------------------------
// Consumer: one thread, one connection, a consuming channel and a confirm-mode channel.

class AmqpEventBus::Consumer {
 public:
  Consumer(AmqpEventBus& bus, std::string queue, std::shared_ptr<const BatchEventHandler> handler,
           int prefetch, size_t max_batch, std::string name, uint64_t seed)
      : bus_(bus),
        queue_(std::move(queue)),
        module_(bus.topology_.ModuleOfQueue(queue_)),
        dead_letter_queue_(bus.topology_.FindQueue(queue_)->role == QueueRole::kDeadLetter),
        handler_(std::move(handler)),
        prefetch_(static_cast<uint16_t>(prefetch)),
        max_batch_(max_batch),
        name_(std::move(name)),
        rng_(seed),
        backoff_(bus.options_, seed ^ 0x9E3779B97F4A7C15ULL) {}

  void Start() {
    thread_ = std::thread([this] {
      SetThreadName("amqp:" + queue_);
      Run();
    });
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  const Link& link() const { return link_; }
  const std::string& name() const { return name_; }

 private:
  void Run() {
    bool lost = false;
    int failed_attempts = 0;
    while (!bus_.stopping()) {
      auto opened = Connect();
      if (!opened) {
        link_.Down(opened.error().message);
        // The first failure of an outage is worth a warning; the retries are not.
        spdlog::log(failed_attempts++ == 0 ? spdlog::level::warn : spdlog::level::debug,
                    "RabbitMQ consumer {}: connection failed: {}", name_, opened.error().message);
        if (!bus_.WaitUnlessStopping(backoff_.Next())) break;
        continue;
      }
      failed_attempts = 0;
      std::unique_ptr<Connection> connection = std::move(opened).value();
      backoff_.Reset();
      link_.Up();
      if (lost) spdlog::info("RabbitMQ consumer {} reconnected", name_);
      Result<void> served = Serve(*connection);
      if (served) break;  // stopping
      spdlog::warn("RabbitMQ consumer {} connection lost: {}", name_, served.error().message);
      link_.Down(served.error().message);
      ++bus_.counters_.connections_lost;
      lost = true;
      connection.reset();
      if (!bus_.WaitUnlessStopping(backoff_.Next())) break;
    }
  }

  Result<std::unique_ptr<Connection>> Connect() {
    ready_.clear();
    ack_pending_ = 0;
    confirm_tag_ = 0;
    auto connection = Connection::Open(bus_.url_, ConnectionOptionsFor(bus_.options_, name_));
    if (!connection) return std::move(connection).error();
    Connection& c = **connection;
    // Each connection declares the whole topology, so a consumer never depends on another
    // connection having declared its queue, its retry tiers or its dead-letter route first.
    if (auto r = c.OpenChannel(kMainChannel); !r) return std::move(r).error();
    if (auto r = c.DeclareTopology(kMainChannel, bus_.topology_); !r) return std::move(r).error();
    if (auto r = c.SetPrefetch(kMainChannel, prefetch_); !r) return std::move(r).error();
    if (auto r = c.OpenChannel(kConfirmChannel); !r) return std::move(r).error();
    if (auto r = c.SelectConfirms(kConfirmChannel); !r) return std::move(r).error();
    if (auto r = c.Consume(kMainChannel, queue_); !r) return std::move(r).error();
    return connection;
  }

  // Handles deliveries until Stop() (→ Ok) or a connection error.
  Result<void> Serve(Connection& c) {
    const AmqpBusOptions& options = bus_.options_;
    while (!bus_.stopping()) {
      if (ready_.empty()) {
        auto event = c.Next(options.poll_interval);
        if (!event) return std::move(event).error();
        if (*event) {
          if (auto* message = std::get_if<InboundMessage>(&**event)) {
            ready_.push_back(std::move(*message));
          }
        } else if (ack_pending_ > 0) {
          if (auto r = FlushAcks(c); !r) return r;
        }
        continue;
      }
      // The batch: what is ready plus what the connection already holds, never waiting.
      while (ready_.size() < max_batch_ && c.HasBufferedInput()) {
        auto event = c.Next(milliseconds::zero());
        if (!event) return std::move(event).error();
        if (!*event) break;
        if (auto* message = std::get_if<InboundMessage>(&**event)) {
          ready_.push_back(std::move(*message));
        }
      }
      std::vector<InboundMessage> batch;
      while (!ready_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(ready_.front()));
        ready_.pop_front();
      }
      if (auto r = HandleBatch(c, batch); !r) {
        (void)FlushAcks(c);  // best effort: fewer redeliveries after reconnection
        return r;
      }
      if (ack_pending_ >= options.max_ack_batch ||
          SteadyClock::now() - ack_since_ >= options.max_ack_delay ||
          (ready_.empty() && !c.HasBufferedInput())) {
        if (auto r = FlushAcks(c); !r) return r;
      }
    }
    (void)FlushAcks(c);
    return Ok();
  }

  // Every delivery ends acknowledged (a failed one once its retry or dead-letter copy is
  // confirmed), in delivery order, so one basic.ack with multiple=true settles all of them. It
  // is sent when nothing else is buffered (the consumer would block next) or when the batch is
  // full or old: a lost batch only means redeliveries, which consumers dedupe.
  void Settled(const InboundMessage& message) {
    if (ack_pending_ == 0) ack_since_ = SteadyClock::now();
    ack_tag_ = message.delivery_tag;
    ++ack_pending_;
  }

  Result<void> FlushAcks(Connection& c) {
    if (ack_pending_ == 0) return Ok();
    ack_pending_ = 0;
    ++bus_.counters_.ack_frames;
    return c.Ack(kMainChannel, ack_tag_, /*multiple=*/true);
  }

  // Runs the handler on the batch and settles each delivery in order (except for the ack
  // itself, which Serve batches). On an error, the deliveries settled before it are recorded
  // for the ack; the rest are redelivered after reconnection (their effects, if committed, are
  // deduped by the consumers' inbox).
  Result<void> HandleBatch(Connection& c, const std::vector<InboundMessage>& batch) {
    constexpr size_t kMalformed = static_cast<size_t>(-1);
    std::vector<Delivery> deliveries;
    std::vector<size_t> slot(batch.size(), kMalformed);  // batch index -> deliveries index
    for (size_t i = 0; i < batch.size(); ++i) {
      auto delivery = amqp::ToDelivery(batch[i], queue_, dead_letter_queue_);
      if (!delivery) continue;
      slot[i] = deliveries.size();
      deliveries.push_back(std::move(*delivery));
    }
    bus_.counters_.delivered += deliveries.size();
    std::vector<HandlerOutcome> outcomes;
    if (!deliveries.empty()) outcomes = InvokeBatch(*handler_, deliveries);
    for (size_t i = 0; i < batch.size(); ++i) {
      Result<void> settled = slot[i] == kMalformed
                                 ? SettleMalformed(c, batch[i])
                                 : Settle(c, batch[i], deliveries[slot[i]], outcomes[slot[i]]);
      if (!settled) return settled;
      Settled(batch[i]);
    }
    return Ok();
  }

  Result<void> SettleMalformed(Connection& c, const InboundMessage& message) {
    auto delivery = amqp::ToDelivery(message, queue_, dead_letter_queue_);
    const std::string reason = "malformed message: " + delivery.error().message;
    const std::string* original =
        amqp::FindHeader(message.properties.headers, dead_letter_headers::kRoutingKey);
    const amqp::Failure failure{
        queue_, original ? *original : message.routing_key, reason,
        amqp::CountHeader(message.properties.headers, dead_letter_headers::kAttempts),
        bus_.clock_.Now()};
    if (dead_letter_queue_) return Drop(message, failure);
    return DeadLetter(c, message, failure);
  }

  Result<void> Settle(Connection& c, const InboundMessage& message, const Delivery& delivery,
                      const HandlerOutcome& outcome) {
    const Topology& topology = bus_.topology_;
    const TimePoint now = bus_.clock_.Now();
    if (outcome.kind == HandlerOutcome::Kind::kAck) {
      ++bus_.counters_.acked;
      return Ok();
    }
    const amqp::Failure failure{queue_, delivery.routing_key, outcome.reason, delivery.attempt,
                                now};
    const bool retry = outcome.kind == HandlerOutcome::Kind::kRetry &&
                       delivery.attempt < topology.retry.max_attempts;
    if (dead_letter_queue_) {
      if (!retry) return Drop(message, failure);
      Headers headers = message.properties.headers;
      amqp::SetHeader(headers, amqp::kDeadLetterAttemptsHeader,
                      std::to_string(delivery.attempt + 1));
      // No delay queue serves dead-letter queues: the copy goes to the tail, behind the other
      // dead letters.
      auto r = PublishConfirmed(c, CopyOf(message, "", queue_, std::move(headers)));
      if (r) ++bus_.counters_.retried;
      return r;
    }
    if (retry && module_) {
      if (const std::string* tier = amqp::RetryTierFor(*module_, delivery.attempt)) {
        OutgoingMessage copy = CopyOf(message, topology.retry_exchange, *tier,
                                      amqp::RetryHeaders(message.properties.headers, failure));
        const QueueSpec* tier_spec = topology.FindQueue(*tier);
        if (tier_spec && tier_spec->message_ttl) {
          copy.properties.expiration =
              amqp::RetryExpiration(*tier_spec->message_ttl, topology.retry.jitter,
                                    std::uniform_real_distribution<double>(0.0, 1.0)(rng_));
        }
        auto r = PublishConfirmed(c, copy);
        if (r) ++bus_.counters_.retried;
        return r;
      }
    }
    return DeadLetter(c, message, failure);
  }

  Result<void> DeadLetter(Connection& c, const InboundMessage& message,
                          const amqp::Failure& failure) {
    if (!module_) return Drop(message, failure);
    spdlog::warn("RabbitMQ: dead-lettering message {} ({}) from {} after {} attempt(s): {}",
                 message.properties.message_id, message.properties.type, queue_, failure.attempt,
                 failure.reason);
    auto r =
        PublishConfirmed(c, CopyOf(message, bus_.topology_.dead_letter_exchange, module_->queue,
                                   amqp::DeadLetterHeaders(message.properties.headers, failure)));
    if (r) ++bus_.counters_.dead_lettered;
    return r;
  }

  // A failure with nowhere to go (in a dead-letter queue): re-dead-lettering could loop forever.
  Result<void> Drop(const InboundMessage& message, const amqp::Failure& failure) {
    ++bus_.counters_.dropped;
    spdlog::error("RabbitMQ: dropping message {} ({}) that failed on {} after {} attempt(s): {}",
                  message.properties.message_id, message.properties.type, queue_, failure.attempt,
                  failure.reason);
    return Ok();
  }

  OutgoingMessage CopyOf(const InboundMessage& message, std::string exchange,
                         std::string routing_key, Headers headers) const {
    amqp::SetHeader(headers, amqp::kOriginHeader, bus_.instance_id_);
    OutgoingMessage copy;
    copy.exchange = std::move(exchange);
    copy.routing_key = std::move(routing_key);
    copy.properties = message.properties;
    copy.properties.expiration.clear();
    copy.properties.persistent = true;
    copy.properties.headers = std::move(headers);
    copy.body = message.body;
    copy.must_route = true;
    return copy;
  }

  // Publishes `message` on the confirm channel and waits for its confirm; deliveries arriving
  // meanwhile are kept for Serve. Any failure (nack, return, timeout) is reported as an error,
  // for which Serve drops the connection: the broker then redelivers the original.
  Result<void> PublishConfirmed(Connection& c, const OutgoingMessage& message) {
    if (c.blocked()) {
      return UnavailableError("RabbitMQ is blocking publishers: " + c.blocked_reason());
    }
    if (auto r = c.Publish(kConfirmChannel, message, /*mandatory=*/true); !r) return r;
    const uint64_t tag = ++confirm_tag_;
    std::optional<std::string> returned;
    const auto deadline = SteadyClock::now() + bus_.options_.operation_timeout;
    while (true) {
      const milliseconds left = Remaining(deadline);
      if (left == milliseconds::zero()) {
        return UnavailableError("no confirm from RabbitMQ for a copy sent to '" + message.exchange +
                                "'");
      }
      auto event = c.Next(left);
      if (!event) return std::move(event).error();
      if (!*event) continue;
      if (auto* delivery = std::get_if<InboundMessage>(&**event)) {
        ready_.push_back(std::move(*delivery));
      } else if (const auto* r = std::get_if<amqp::Returned>(&**event)) {
        if (r->channel == kConfirmChannel) returned = r->reply_text;
      } else if (const auto* confirm = std::get_if<amqp::Confirm>(&**event)) {
        const bool covers =
            confirm->delivery_tag == tag || (confirm->multiple && confirm->delivery_tag >= tag);
        if (confirm->channel != kConfirmChannel || !covers) continue;
        if (!confirm->ack) return UnavailableError("RabbitMQ refused a copy (basic.nack)");
        if (returned) {
          return UnavailableError("RabbitMQ could not route a copy to '" + message.routing_key +
                                  "' via '" + message.exchange + "': " + *returned);
        }
        return Ok();
      }
    }
  }

  AmqpEventBus& bus_;
  const std::string queue_;
  const ModuleQueues* const module_;  // nullptr for a queue no module owns
  const bool dead_letter_queue_;
  const std::shared_ptr<const BatchEventHandler> handler_;
  const uint16_t prefetch_;
  const size_t max_batch_;
  const std::string name_;
  Link link_;
  std::thread thread_;

  // Consumer thread only.
  std::mt19937_64 rng_;
  Backoff backoff_;
  std::deque<InboundMessage> ready_;  // deliveries read while waiting for a confirm
  uint64_t confirm_tag_ = 0;          // last tag published on kConfirmChannel
  uint64_t ack_tag_ = 0;              // highest delivery tag handled and not yet acknowledged
  int ack_pending_ = 0;
  SteadyClock::time_point ack_since_{};
};

// ----------------------------------------------------------------------------------------------
// AmqpEventBus

AmqpEventBus::AmqpEventBus(AmqpUrl url, Topology topology, const Clock& clock,
                           AmqpBusOptions options)
    : url_(std::move(url)),
      topology_(std::move(topology)),
      clock_(clock),
      options_(std::move(options)),
      seed_state_(options_.seed ? *options_.seed : std::random_device{}()),
      instance_id_(NewId()) {}

AmqpEventBus::~AmqpEventBus() { Stop(); }

void AmqpEventBus::SetTap(EventObserver* observer, std::function<bool()> wanted) {
  std::lock_guard lifecycle(lifecycle_mu_);
  std::lock_guard lock(mu_);
  if (started_ || stopping_) throw std::logic_error("SetTap: call it before Start()");
  tap_ = std::make_unique<Tap>(*this, observer, std::move(wanted), NextSeed());
}

uint64_t AmqpEventBus::NextSeed() {
  // splitmix64: distinct, well-mixed seeds for every thread's generators from one seed.
  uint64_t z = (seed_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Result<void> AmqpEventBus::Start() {
  std::lock_guard lifecycle(lifecycle_mu_);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return UnavailableError("event bus is stopped");
    if (started_) return Ok();
  }
  // The first connection is made here, on the caller's thread, so that an unreachable broker or
  // a topology it refuses is reported to the composition root as a value.
  auto connection = OpenPublisherConnection(url_, topology_, options_);
  if (!connection) return std::move(connection).error();

  std::lock_guard lock(mu_);
  publisher_ = std::make_shared<Publisher>(*this, std::move(connection).value(), NextSeed());
  publisher_->Start();
  started_ = true;
  for (const Subscription& subscription : subscriptions_) StartConsumersLocked(subscription);
  if (tap_) tap_->Start();
  spdlog::info("event bus connected to RabbitMQ {}; topology declared", url_.Redacted());
  return Ok();
}

void AmqpEventBus::Stop() {
  std::lock_guard lifecycle(lifecycle_mu_);
  std::shared_ptr<Publisher> publisher;
  std::vector<std::unique_ptr<Consumer>> consumers;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_release);
    stop_cv_.notify_all();
    publisher = publisher_;
    consumers = std::move(consumers_);
    consumers_.clear();
  }
  if (tap_) tap_->Join();
  // Consumers first: a handler finishing now may still publish through the publisher.
  for (auto& consumer : consumers) consumer->Join();
  consumers.clear();
  if (publisher) publisher->Stop();
  std::lock_guard lock(mu_);
  subscriptions_.clear();  // releases the handlers now rather than at destruction
}

bool AmqpEventBus::WaitUnlessStopping(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, d, [&] { return stopping_; });
}

std::shared_ptr<AmqpEventBus::Publisher> AmqpEventBus::PublisherIfStarted(
    Result<void>& error) const {
  std::lock_guard lock(mu_);
  if (!publisher_) {
    error = UnavailableError(stopping_ ? "event bus is stopped" : "event bus is not started");
  }
  // After Stop() the publisher refuses work itself; until then handlers finishing may publish.
  return publisher_;
}

namespace {
// The wire messages of a Publish: unknown eventType → kValidationFailed.
Result<std::vector<OutgoingMessage>> EventMessages(std::span<const Envelope> batch,
                                                   const Topology& topology,
                                                   const std::string& instance_id) {
  std::vector<OutgoingMessage> messages;
  messages.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::optional<std::string_view> key = RoutingKeyFor(batch[i].event_type);
    if (!key) {
      return ValidationError("unknown eventType '" + batch[i].event_type + "'",
                             {{"[" + std::to_string(i) + "].eventType", "is not a known event"}});
    }
    messages.push_back(amqp::EventMessage(batch[i], topology.events_exchange, std::string(*key),
                                          {{std::string(amqp::kOriginHeader), instance_id}}));
  }
  return messages;
}
}  // namespace

Result<void> AmqpEventBus::Publish(std::span<const Envelope> batch) {
  auto messages = EventMessages(batch, topology_, instance_id_);
  if (!messages) return std::move(messages).error();
  Result<void> error = Ok();
  std::shared_ptr<Publisher> publisher = PublisherIfStarted(error);
  if (!publisher) return error;
  return publisher->Submit(std::move(messages).value());
}

void AmqpEventBus::PublishAsync(std::span<const Envelope> batch, PublishDone done) {
  auto messages = EventMessages(batch, topology_, instance_id_);
  if (!messages) return done(std::move(messages).error());
  Result<void> error = Ok();
  std::shared_ptr<Publisher> publisher = PublisherIfStarted(error);
  if (!publisher) return done(std::move(error));
  publisher->SubmitAsync(std::move(messages).value(), std::move(done));
}

Result<void> AmqpEventBus::SendToQueue(std::string_view queue, const Envelope& envelope,
                                       std::vector<std::pair<std::string, std::string>> headers) {
  const QueueSpec* spec = topology_.FindQueue(queue);
  if (!spec) {
    return ValidationError("unknown queue '" + std::string(queue) + "'",
                           {{"queue", "is not in the topology"}});
  }
  const bool dead_letter_queue = spec->role == QueueRole::kDeadLetter;
  std::vector<OutgoingMessage> messages;
  Headers wire_headers = amqp::SendToQueueHeaders(std::move(headers), envelope, dead_letter_queue);
  amqp::SetHeader(wire_headers, amqp::kOriginHeader, instance_id_);
  messages.push_back(amqp::EventMessage(envelope, "", spec->name, std::move(wire_headers)));
  messages.back().must_route = true;
  Result<void> error = Ok();
  std::shared_ptr<Publisher> publisher = PublisherIfStarted(error);
  if (!publisher) return error;
  return publisher->Submit(std::move(messages));
}

void AmqpEventBus::Subscribe(std::string queue, EventHandler handler, SubscribeOptions options) {
  if (!topology_.FindQueue(queue)) {
    throw std::invalid_argument("Subscribe: unknown queue '" + queue + "'");
  }
  if (!handler) throw std::invalid_argument("Subscribe: empty handler for '" + queue + "'");
  if (options.concurrency < 1) {
    throw std::invalid_argument("Subscribe: concurrency must be >= 1 for '" + queue + "'");
  }
  auto batch = std::make_shared<const BatchEventHandler>(OneAtATime(std::move(handler)));
  AddSubscription(Subscription{std::move(queue), std::move(batch), options.concurrency,
                               std::clamp(options.prefetch, 1, 65535), 1});
}

void AmqpEventBus::SubscribeBatch(std::string queue, BatchEventHandler handler,
                                  SubscribeOptions options) {
  if (!topology_.FindQueue(queue)) {
    throw std::invalid_argument("SubscribeBatch: unknown queue '" + queue + "'");
  }
  if (!handler) throw std::invalid_argument("SubscribeBatch: empty handler for '" + queue + "'");
  if (options.concurrency < 1 || options.max_batch < 1) {
    throw std::invalid_argument("SubscribeBatch: concurrency and max_batch must be >= 1 for '" +
                                queue + "'");
  }
  AddSubscription(Subscription{std::move(queue),
                               std::make_shared<const BatchEventHandler>(std::move(handler)),
                               options.concurrency, std::clamp(options.prefetch, 1, 65535),
                               static_cast<size_t>(options.max_batch)});
}

void AmqpEventBus::AddSubscription(Subscription subscription) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  subscriptions_.push_back(subscription);
  if (started_) StartConsumersLocked(subscription);
}

void AmqpEventBus::StartConsumersLocked(const Subscription& subscription) {
  int index = 0;
  for (const auto& consumer : consumers_) {
    if (consumer->name().starts_with(options_.connection_name + " " + subscription.queue + " #")) {
      ++index;
    }
  }
  for (int i = 0; i < subscription.concurrency; ++i) {
    auto consumer = std::make_unique<Consumer>(
        *this, subscription.queue, subscription.handler, subscription.prefetch,
        subscription.max_batch,
        options_.connection_name + " " + subscription.queue + " #" + std::to_string(++index),
        NextSeed());
    consumer->Start();
    consumers_.push_back(std::move(consumer));
  }
}

BusStatus AmqpEventBus::Status() const {
  std::lock_guard lock(mu_);
  if (stopping_) return {"amqp", false, "stopped"};
  if (!started_ || !publisher_) return {"amqp", false, "not started"};
  if (auto [up, error] = publisher_->link().Get(); !up) {
    return {"amqp", false, "publisher: " + error};
  }
  for (const auto& consumer : consumers_) {
    if (auto [up, error] = consumer->link().Get(); !up) {
      return {"amqp", false, consumer->name() + ": " + error};
    }
  }
  return {"amqp", true, ""};
}

AmqpBusCounters AmqpEventBus::Counters() const {
  AmqpBusCounters out;
  out.published = counters_.published.load();
  out.unroutable = counters_.unroutable.load();
  out.delivered = counters_.delivered.load();
  out.acked = counters_.acked.load();
  out.ack_frames = counters_.ack_frames.load();
  out.retried = counters_.retried.load();
  out.dead_lettered = counters_.dead_lettered.load();
  out.dropped = counters_.dropped.load();
  out.connections_lost = counters_.connections_lost.load();
  return out;
}

}  // namespace shopflow
