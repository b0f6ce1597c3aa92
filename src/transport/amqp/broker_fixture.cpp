#include "transport/amqp/broker_fixture.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "core/error.hpp"

namespace shopflow::amqp_testing {

std::string Rabbitmqctl() {
  const char* custom = std::getenv("RABBITMQCTL");
  return custom && *custom ? custom : "rabbitmqctl";
}

std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

Result<AmqpUrl> BrokerUrl() {
  const char* env = std::getenv("RABBITMQ_URL");
  return ParseAmqpUrl(env && *env ? env : "amqp://admin:admin123@127.0.0.1:5672/");
}

Result<std::string> RunCommand(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return UnavailableError("cannot run: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return UnavailableError("`" + command + "` failed (exit " + std::to_string(code) +
                            "): " + output);
  }
  return output;
}

Result<std::unique_ptr<ScratchVhost>> ScratchVhost::Create(std::string_view label) {
  auto base = BrokerUrl();
  if (!base) return std::move(base).error();
  std::random_device device;
  const std::string name = "shopflow-test-" + std::string(label) + "-" +
                           std::to_string(::getpid()) + "-" + std::to_string(device() % 1000000);
  const std::string ctl = Rabbitmqctl();
  if (auto r = RunCommand(ctl + " -q add_vhost " + ShellQuote(name)); !r) {
    return UnavailableError(
        "cannot create a scratch vhost on the test broker (is RabbitMQ running? "
        "scripts/broker start): " +
        r.error().message);
  }
  AmqpUrl url = *base;
  url.vhost = name;
  // Owned from here: the destructor deletes the vhost even if the permissions fail.
  std::unique_ptr<ScratchVhost> vhost(new ScratchVhost(name, url));
  if (auto r = RunCommand(ctl + " -q set_permissions -p " + ShellQuote(name) + " " +
                          ShellQuote(url.user) + " '.*' '.*' '.*'");
      !r) {
    return std::move(r).error();
  }
  return vhost;
}

ScratchVhost::~ScratchVhost() {
  (void)RunCommand(Rabbitmqctl() + " -q delete_vhost " + ShellQuote(name_));
}

Result<json::array> ScratchVhost::List(std::string_view what, std::string_view columns) const {
  auto out = RunCommand(Rabbitmqctl() + " -q list_" + std::string(what) + " -p " +
                        ShellQuote(name_) + " " + std::string(columns) + " --formatter json");
  if (!out) return std::move(out).error();
  auto parsed = ParseJson(*out, {.max_depth = 64});
  if (!parsed) return std::move(parsed).error();
  if (!parsed->is_array()) return InternalError("rabbitmqctl did not print a JSON array: " + *out);
  return parsed->get_array();
}

Result<void> ScratchVhost::CloseAllConnections() const {
  auto out = RunCommand(Rabbitmqctl() + " -q close_all_connections -p " + ShellQuote(name_) +
                        " 'shopflow integration test: simulated outage'");
  if (!out) return std::move(out).error();
  return Ok();
}

}  // namespace shopflow::amqp_testing
