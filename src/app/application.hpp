#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/settings.hpp"

namespace shopflow {

class EventBus;
class ObservedEventBus;
class Store;

/// Seams for tests that need to break things on purpose.
struct ApplicationHooks {
  /// Wraps the transport (e.g. to duplicate deliveries); the wrapper must forward to it.
  std::function<std::unique_ptr<EventBus>(EventBus& transport)> wrap_transport;
};

/// The composition root (ARCHITECTURE.md principle 9): builds the store, the bus, the modules
/// and the HTTP server from typed settings, starts them in dependency order (consumers and the
/// listener last) and stops them in reverse. Not thread-safe: one owner calls Start and Stop.
class Application {
 public:
  /// Builds everything; start-up failures (unwritable data directory, bad settings) are values.
  static Result<std::unique_ptr<Application>> Create(Settings settings,
                                                     const Clock& clock = SystemClock::Instance(),
                                                     ApplicationHooks hooks = {});
  ~Application();
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  /// Starts the relay, consumers and the HTTP listener; returns the bound port.
  Result<int> Start();
  /// Graceful: stops accepting HTTP, drains in-flight requests and handlers, flushes the
  /// outbox relay, closes the store. Idempotent.
  void Stop();

  int port() const;
  /// The bus as modules see it; add EventObservers here before Start.
  ObservedEventBus& events();
  /// The transport underneath (InMemoryEventBus or AmqpEventBus).
  EventBus& bus();
  Store& store();
  /// Every (method, pattern) the HTTP server routes, for tests that check the security policy
  /// table covers them all.
  const std::vector<std::pair<std::string, std::string>>& routes() const;

 private:
  struct Parts;
  explicit Application(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace shopflow
