#include "broker_ceiling.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

// The bench measures the broker through the transport's own connection class (the same
// rabbitmq-c framing, confirm and ack code the server runs), so it includes the transport's
// internal header; only this file does.
#include "transport/amqp/amqp_wrappers.hpp"

namespace shopflow::bench {
namespace {

using namespace std::chrono_literals;

struct Shared {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> confirmed{0};
  std::atomic<uint64_t> consumed{0};
  std::atomic<uint64_t> nacks{0};
  std::mutex error_mutex;
  std::string error;

  void Fail(const std::string& why) {
    std::lock_guard lock(error_mutex);
    if (error.empty()) error = why;
    stop = true;
  }
};

/// Declares or deletes the scratch queue on a short-lived connection of its own (the
/// transport's Connection declares only whole topologies and never deletes).
bool AdminQueue(const AmqpUrl& url, const std::string& queue, bool declare, std::string& error) {
  amqp_connection_state_t state = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(state);
  bool ok = false;
  if (socket && amqp_socket_open(socket, url.host.c_str(), url.port) == AMQP_STATUS_OK) {
    const amqp_rpc_reply_t login =
        amqp_login(state, url.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, url.user.c_str(),
                   url.password.c_str());
    if (login.reply_type == AMQP_RESPONSE_NORMAL && amqp_channel_open(state, 1)) {
      const amqp_bytes_t name = amqp_cstring_bytes(queue.c_str());
      if (declare) {
        amqp_queue_declare(state, 1, name, 0, /*durable=*/1, 0, /*auto_delete=*/0,
                           amqp_empty_table);
      } else {
        amqp_queue_delete(state, 1, name, 0, 0);
      }
      const amqp_rpc_reply_t reply = amqp_get_rpc_reply(state);
      ok = reply.reply_type == AMQP_RESPONSE_NORMAL;
      if (!ok) error = amqp::DescribeReply(reply);
      amqp_channel_close(state, 1, AMQP_REPLY_SUCCESS);
    } else {
      error = "login to " + url.Redacted() + " failed: " + amqp::DescribeReply(login);
    }
    amqp_connection_close(state, AMQP_REPLY_SUCCESS);
  } else {
    error = "cannot connect to " + url.Redacted();
  }
  amqp_destroy_connection(state);
  return ok;
}

std::unique_ptr<amqp::Connection> Open(const AmqpUrl& url, const char* name, Shared& shared) {
  amqp::ConnectionOptions options;
  options.name = name;
  auto connection = amqp::Connection::Open(url, options);
  if (!connection) {
    shared.Fail(connection.error().message);
    return nullptr;
  }
  if (auto r = (*connection)->OpenChannel(1); !r) {
    shared.Fail(r.error().message);
    return nullptr;
  }
  return std::move(*connection);
}

/// Publishes with confirms, keeping up to `window` publishes unconfirmed.
void Publisher(const AmqpUrl& url, const BrokerOptions& options, const std::string& queue,
               Shared& shared) {
  auto c = Open(url, "shopflow-bench publisher", shared);
  if (!c) return;
  if (auto r = c->SelectConfirms(1); !r) return shared.Fail(r.error().message);
  amqp::OutgoingMessage message;
  message.routing_key = queue;  // default exchange: straight to the queue
  message.properties.content_type = "application/json";
  message.properties.persistent = true;
  message.body.assign(options.size, 'x');

  std::set<uint64_t> unconfirmed;
  uint64_t next_tag = 1;
  while (!shared.stop) {
    while (unconfirmed.size() < static_cast<size_t>(options.window)) {
      if (auto r = c->Publish(1, message, false); !r) return shared.Fail(r.error().message);
      unconfirmed.insert(next_tag++);
    }
    // Wait for at least one confirm, then take whatever else is already buffered.
    auto timeout = 100ms;
    do {
      auto event = c->Next(timeout);
      if (!event) return shared.Fail(event.error().message);
      timeout = 0ms;
      if (!*event) break;
      const auto* confirm = std::get_if<amqp::Confirm>(&**event);
      if (!confirm) continue;
      const auto last = confirm->multiple ? unconfirmed.upper_bound(confirm->delivery_tag)
                                          : unconfirmed.find(confirm->delivery_tag);
      const auto first = confirm->multiple ? unconfirmed.begin() : last;
      uint64_t n = 0;
      if (confirm->multiple) {
        n = static_cast<uint64_t>(std::distance(first, last));
        unconfirmed.erase(first, last);
      } else if (last != unconfirmed.end()) {
        n = 1;
        unconfirmed.erase(last);
      }
      (confirm->ack ? shared.confirmed : shared.nacks) += n;
    } while (c->HasBufferedInput());
  }
}

/// Consumes with manual acks, one ack per delivery (as the server's consumers do).
void Consumer(const AmqpUrl& url, const BrokerOptions& options, const std::string& queue,
              Shared& shared) {
  auto c = Open(url, "shopflow-bench consumer", shared);
  if (!c) return;
  if (auto r = c->SetPrefetch(1, static_cast<uint16_t>(options.prefetch)); !r) {
    return shared.Fail(r.error().message);
  }
  if (auto r = c->Consume(1, queue); !r) return shared.Fail(r.error().message);
  while (!shared.stop) {
    auto event = c->Next(100ms);
    if (!event) return shared.Fail(event.error().message);
    if (!*event) continue;
    if (const auto* m = std::get_if<amqp::InboundMessage>(&**event)) {
      if (auto r = c->Ack(1, m->delivery_tag, false); !r) return shared.Fail(r.error().message);
      ++shared.consumed;
    }
  }
}

double Round1(double v) { return std::round(v * 10.0) / 10.0; }

}  // namespace

boost::json::object RunBrokerCeiling(const BrokerOptions& options) {
  boost::json::object report{{"mode", "broker"},
                             {"size", options.size},
                             {"publishers", options.publishers},
                             {"consumers", options.consumers},
                             {"window", options.window},
                             {"prefetch", options.prefetch},
                             {"settings",
                              "persistent, publisher confirms, manual acks, durable "
                              "queue"}};
  auto url = ParseAmqpUrl(options.url);
  if (!url) {
    report["error"] = url.error().message;
    return report;
  }
  const std::string queue = "shopflow.bench.ceiling." + std::to_string(getpid());
  std::string error;
  if (!AdminQueue(*url, queue, true, error)) {
    report["error"] = "declaring " + queue + ": " + error;
    return report;
  }

  Shared shared;
  std::vector<std::thread> threads;
  for (int i = 0; i < options.consumers; ++i) {
    threads.emplace_back([&] { Consumer(*url, options, queue, shared); });
  }
  for (int i = 0; i < options.publishers; ++i) {
    threads.emplace_back([&] { Publisher(*url, options, queue, shared); });
  }
  const auto seconds = [](double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
  };
  std::this_thread::sleep_for(seconds(options.warmup_s));
  const auto start = std::chrono::steady_clock::now();
  const uint64_t confirmed0 = shared.confirmed, consumed0 = shared.consumed;
  std::this_thread::sleep_for(seconds(options.duration_s));
  const uint64_t confirmed1 = shared.confirmed, consumed1 = shared.consumed;
  const double window =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  shared.stop = true;
  for (auto& t : threads) t.join();
  AdminQueue(*url, queue, false, error);

  if (!shared.error.empty()) {
    report["error"] = shared.error;
    return report;
  }
  const double published = static_cast<double>(confirmed1 - confirmed0) / window;
  const double consumed = static_cast<double>(consumed1 - consumed0) / window;
  report["seconds"] = Round1(window);
  report["published_per_s"] = Round1(published);
  report["consumed_per_s"] = Round1(consumed);
  report["msgs_per_s"] = Round1(std::min(published, consumed));
  report["nacks"] = shared.nacks.load();
  report["errors"] = shared.nacks.load();
  return report;
}

}  // namespace shopflow::bench
