#pragma once

// Test support for the RabbitMQ integration tests: a scratch virtual host per test, managed with
// rabbitmqctl, so that tests never see each other's (or a running shopflow's) messages.

#include <memory>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "core/result.hpp"
#include "transport/amqp/amqp_url.hpp"

namespace shopflow::amqp_testing {

/// The broker of the integration tests: RABBITMQ_URL when set (its vhost is ignored), else
/// amqp://admin:admin123@127.0.0.1:5672/ (scripts/broker start).
Result<AmqpUrl> BrokerUrl();

/// Runs `command` through the shell; returns its stdout, or kUnavailable with the exit status
/// and output when it fails.
Result<std::string> RunCommand(const std::string& command);

/// A virtual host that exists for the lifetime of the object: created with full permissions for
/// the broker URL's user, deleted (with everything in it) on destruction. Uses rabbitmqctl (or
/// $RABBITMQCTL), which must reach the broker's node.
class ScratchVhost {
 public:
  /// A vhost named "shopflow-test-<label>-<pid>-<random>".
  static Result<std::unique_ptr<ScratchVhost>> Create(std::string_view label);
  ~ScratchVhost();
  ScratchVhost(const ScratchVhost&) = delete;
  ScratchVhost& operator=(const ScratchVhost&) = delete;

  const std::string& name() const { return name_; }
  /// The broker URL pointing at this vhost.
  const AmqpUrl& url() const { return url_; }

  /// `rabbitmqctl list_<what> -p <vhost> <columns> --formatter json`, parsed.
  Result<json::array> List(std::string_view what, std::string_view columns) const;
  /// Closes every client connection of this vhost (as an outage would).
  Result<void> CloseAllConnections() const;

 private:
  ScratchVhost(std::string name, AmqpUrl url) : name_(std::move(name)), url_(std::move(url)) {}

  std::string name_;
  AmqpUrl url_;
};

/// The rabbitmqctl command (the RABBITMQCTL environment variable, else "rabbitmqctl").
std::string Rabbitmqctl();
/// Single-quotes `text` for /bin/sh.
std::string ShellQuote(std::string_view text);

}  // namespace shopflow::amqp_testing
