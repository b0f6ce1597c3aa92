#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/ids.hpp"

namespace shopflow::testing {

/// The local RabbitMQ of `scripts/broker start` (or RABBITMQ_URL's host): a scratch virtual
/// host per test, so tests running in parallel never see each other's queues.
class ScratchVhost {
 public:
  ScratchVhost() : name_("shopflow-it-" + NewId()) {
    ok_ = Run("rabbitmqctl add_vhost " + name_) &&
          Run("rabbitmqctl set_permissions -p " + name_ + " admin '.*' '.*' '.*'");
  }
  ~ScratchVhost() { Run("rabbitmqctl delete_vhost " + name_); }
  ScratchVhost(const ScratchVhost&) = delete;
  ScratchVhost& operator=(const ScratchVhost&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string url() const { return "amqp://admin:admin123@127.0.0.1:5672/" + name_; }

  /// Consumers of `queue` in this virtual host (lines of `rabbitmqctl list_consumers`).
  int ConsumersOf(const std::string& queue) const {
    const std::string command = "rabbitmqctl list_consumers -q -p " + name_ + " queue_name";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) return -1;
    int count = 0;
    std::array<char, 512> line{};
    while (fgets(line.data(), static_cast<int>(line.size()), pipe.get())) {
      std::string listed(line.data());
      while (!listed.empty() && (listed.back() == '\n' || listed.back() == ' ')) listed.pop_back();
      if (listed == queue) ++count;
    }
    return count;
  }

  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

 private:
  std::string name_;
  bool ok_ = false;
};

}  // namespace shopflow::testing
