// shopflow-bench: load generator and broker ceiling for shopflow (issue 7). See bench/README.md.
#include <signal.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "bench_support.hpp"
#include "broker_ceiling.hpp"
#include "load_modes.hpp"

namespace {

using namespace shopflow::bench;

/// Where the server under test is: spawned by the bench, attached by pid, or just an address.
struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 3000;
  std::string spawn;                    // binary to start
  std::vector<std::string> spawn_args;  // its arguments (after "--")
  pid_t pid = 0;                        // or a running server's pid
  pid_t broker_pid = 0;                 // the broker's process, measured beside the server
  bool echo = false;                    // show the spawned server's output on stderr
};

void AddServerOptions(CLI::App* cmd, ServerOptions& s) {
  cmd->add_option("--host", s.host, "Server address")->capture_default_str();
  cmd->add_option("--port", s.port, "Server port (ignored with --spawn)")->capture_default_str();
  cmd->add_option("--spawn", s.spawn,
                  "Start this shopflow binary (arguments after --; default: serve --port 0 "
                  "--data-dir <fresh temp dir>), measure start-up, CPU and peak RSS, stop it");
  cmd->add_option("--pid", s.pid, "Measure CPU and RSS of this running server process");
  cmd->add_option("--broker-pid", s.broker_pid,
                  "Also measure this process's CPU (RabbitMQ's beam.smp on the same machine: in "
                  "RabbitMQ mode it spends about as much per order as shopflow)");
  cmd->add_flag("--echo-server", s.echo, "Copy the spawned server's output to stderr");
  cmd->add_option("server_args", s.spawn_args, "Arguments for the --spawn binary (after --)");
}

/// The server for one run; its process figures go into the report.
class Server {
 public:
  explicit Server(ServerOptions options) : options_(std::move(options)) {}
  ~Server() {
    spawned_.Stop();
    if (!temp_dir_.empty()) std::filesystem::remove_all(temp_dir_);
  }

  bool Start(json::object& report) {
    if (options_.spawn.empty()) return true;
    std::vector<std::string> args = options_.spawn_args;
    if (args.empty()) {
      char templ[] = "/tmp/shopflow-bench.XXXXXX";
      if (!mkdtemp(templ)) {
        report["error"] = "mkdtemp failed";
        return false;
      }
      temp_dir_ = templ;
      args = {"serve", "--port", "0", "--data-dir", temp_dir_};
    }
    std::string error;
    if (!spawned_.Start(options_.spawn, args, options_.echo, error)) {
      report["error"] = "spawning the server: " + error;
      return false;
    }
    options_.host = "127.0.0.1";
    options_.port = spawned_.port();
    options_.pid = spawned_.pid();
    auto ready = spawned_.WaitReady();
    if (!ready) {
      report["error"] = "the spawned server was not ready within 30 s";
      return false;
    }
    startup_ms_ = *ready;
    return true;
  }

  Target target() const { return Target{options_.host, options_.port}; }

  /// Marks the start of the measured work.
  void Begin() {
    begin_ = SteadyClock::now();
    if (options_.pid > 0) before_ = SampleProcess(options_.pid);
    if (options_.broker_pid > 0) broker_before_ = SampleProcess(options_.broker_pid);
    self_before_ = SelfCpuSeconds();
  }

  /// Adds the process figures since Begin() to `report`.
  void End(json::object& report) {
    const double wall = SecondsBetween(begin_, SteadyClock::now());
    const auto r1 = [](double v) { return std::round(v * 10.0) / 10.0; };
    report["client_cpu_percent"] = r1((SelfCpuSeconds() - self_before_) / wall * 100.0);
    if (options_.broker_pid > 0) AddBroker(report, wall);
    if (options_.pid <= 0) return;
    const ProcessSample after = SampleProcess(options_.pid);
    json::object server{{"pid", options_.pid}};
    if (before_.ok && after.ok) {
      server["cpu_seconds"] = r1(after.cpu_seconds - before_.cpu_seconds);
      server["cpu_percent"] = r1((after.cpu_seconds - before_.cpu_seconds) / wall * 100.0);
      AddCpuPerOrder(server, after.cpu_seconds - before_.cpu_seconds, report);
      server["peak_rss_mb"] = r1(after.vm_hwm_mb);
      server["rss_mb"] = r1(after.vm_rss_mb);
    }
    if (startup_ms_ >= 0) server["startup_ms"] = r1(startup_ms_);
    report["server"] = std::move(server);
  }

 private:
  // `cpu_ms_per_order` into `block` when `report` is an orders run that settled any.
  static void AddCpuPerOrder(json::object& block, double cpu_seconds, const json::object& report) {
    const auto it = report.find("settled");
    if (it == report.end() || !it->value().is_number()) return;
    const double settled = it->value().to_number<double>();
    if (settled > 0) block["cpu_ms_per_order"] = std::round(cpu_seconds * 1e6 / settled) / 1000.0;
  }

  // The broker's CPU over the run, and per settled order for an orders run.
  void AddBroker(json::object& report, double wall) const {
    const ProcessSample after = SampleProcess(options_.broker_pid);
    json::object broker{{"pid", options_.broker_pid}};
    if (broker_before_.ok && after.ok) {
      const double cpu = after.cpu_seconds - broker_before_.cpu_seconds;
      broker["cpu_seconds"] = std::round(cpu * 100.0) / 100.0;
      broker["cpu_percent"] = std::round(cpu / wall * 1000.0) / 10.0;
      AddCpuPerOrder(broker, cpu, report);
    } else {
      broker["error"] = "cannot read /proc/" + std::to_string(options_.broker_pid) + "/stat";
    }
    report["broker_process"] = std::move(broker);
  }

  ServerOptions options_;
  SpawnedServer spawned_;
  std::string temp_dir_;
  double startup_ms_ = -1;
  SteadyClock::time_point begin_{};
  ProcessSample before_;
  ProcessSample broker_before_;
  double self_before_ = 0;
};

std::string Num(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : JsonLine(v);
}

/// A few human-readable lines before the JSON line.
void PrintHuman(const json::object& r) {
  const auto get = [&](std::string_view k) { return r.contains(k) ? Num(r.at(k)) : "-"; };
  const auto latency = [&](std::string_view key) {
    if (!r.contains(key)) return std::string("-");
    const auto& l = r.at(key).as_object();
    return "p50 " + Num(l.at("p50")) + "  p95 " + Num(l.at("p95")) + "  p99 " + Num(l.at("p99")) +
           "  max " + Num(l.at("max")) + " ms";
  };
  const std::string mode = r.contains("mode") ? std::string(r.at("mode").as_string()) : "";
  if (r.contains("error")) std::cout << "ERROR: " << r.at("error").as_string() << "\n";
  if (mode == "orders") {
    const bool open = get("loop") == "open";
    std::cout << "orders (" << get("loop") << " loop, "
              << (open ? "rate " + get("rate") + "/s" : "concurrency " + get("concurrency"))
              << "): " << get("settled") << " paid of " << get("created") << " created in "
              << get("seconds") << " s\n"
              << "  settled orders/s  " << get("settled_per_s") << "\n"
              << "  with the drain    " << get("settled_per_s_drained") << " (backlog at end "
              << (r.contains("backlog_at_end") ? JsonLine(r.at("backlog_at_end")) : "-")
              << ", drained in " << get("drain_s") << " s)\n"
              << "  HTTP requests/s   " << get("http_per_s") << "\n"
              << "  POST->paid        " << latency("latency_ms") << "\n"
              << "  settlement        " << get("settlement_detection") << " (ws frames "
              << get("ws_frames") << ", settled by poll " << get("settled_by_poll") << ")\n"
              << "  errors            " << get("errors") << " (timeouts " << get("timeouts")
              << ")\n";
    if (r.contains("messages_per_order")) {
      std::cout << "  messages/order    " << JsonLine(r.at("messages_per_order")) << "\n";
    }
    if (r.contains("ceiling")) {
      std::cout << "  broker ceiling    " << JsonLine(r.at("ceiling")) << "\n";
    }
  } else if (mode == "get") {
    std::cout << "get: " << get("requests_per_s") << " req/s over " << get("connections")
              << " connections, " << latency("latency_ms") << ", errors " << get("errors") << "\n";
  } else if (mode == "broker") {
    std::cout << "broker ceiling (" << get("size") << " B, " << get("publishers") << " pub / "
              << get("consumers") << " cons): " << get("msgs_per_s") << " msgs/s (published "
              << get("published_per_s") << "/s, consumed " << get("consumed_per_s") << "/s)\n";
  } else if (mode == "startup") {
    std::cout << "startup: " << (r.contains("server") ? JsonLine(r.at("server")) : "-") << "\n";
  }
  if (r.contains("server") && mode != "startup") {
    std::cout << "  server process    " << JsonLine(r.at("server")) << "\n";
  }
  if (r.contains("broker_process")) {
    std::cout << "  broker process    " << JsonLine(r.at("broker_process")) << "\n";
  }
  if (r.contains("client_cpu_percent")) {
    std::cout << "  bench CPU         " << get("client_cpu_percent") << " %\n";
  }
}

int Emit(const json::object& report, bool json_only) {
  if (!json_only) PrintHuman(report);
  std::cout << JsonLine(report) << std::endl;
  return report.contains("error") ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  CLI::App cli{"shopflow-bench: load generator and broker ceiling for shopflow"};
  cli.require_subcommand(1);
  cli.fallthrough();  // --json-only may follow the subcommand too
  bool json_only = false;
  cli.add_flag("--json-only", json_only, "Print only the JSON line");

  ServerOptions orders_server, get_server, startup_server;
  OrdersOptions orders;
  BrokerOptions ceiling;
  std::string ceiling_url;
  auto* orders_cmd = cli.add_subcommand("orders", "POST /api/orders until each order is paid");
  AddServerOptions(orders_cmd, orders_server);
  orders_cmd->add_option("-c,--concurrency", orders.concurrency, "Closed loop: orders in flight")
      ->capture_default_str();
  orders_cmd->add_option("-r,--rate", orders.rate, "Open loop: orders started per second")
      ->capture_default_str();
  orders_cmd->add_option("--connections", orders.connections, "Open loop: connections")
      ->capture_default_str();
  orders_cmd->add_option("-n,--orders", orders.orders, "Stop after this many orders (0: none)")
      ->capture_default_str();
  orders_cmd->add_option("-d,--duration", orders.duration_s, "Seconds of load")
      ->capture_default_str();
  orders_cmd->add_option("--products", orders.products, "Products created for the run")
      ->capture_default_str();
  orders_cmd
      ->add_option("--settle", orders.settle,
                   "How settlements are learned: ws (the /ws stream, polling as a fallback) or "
                   "poll")
      ->check(CLI::IsMember({"ws", "poll"}))
      ->capture_default_str();
  orders_cmd
      ->add_option("--ws-target", orders.ws_target,
                   "The stream to subscribe to in ws mode (/ws: every frame, as a dashboard)")
      ->capture_default_str();
  orders_cmd
      ->add_option("--poll-interval-us", orders.poll_interval_us,
                   "Minimum time between settlement scans when polling")
      ->capture_default_str();
  orders_cmd
      ->add_option("--settle-timeout", orders.settle_timeout_s, "Seconds an order may stay pending")
      ->capture_default_str();
  orders_cmd
      ->add_option("--drain-timeout", orders.drain_timeout_s,
                   "Seconds to wait after the run for queued messages and the outbox to drain "
                   "(0: do not wait)")
      ->capture_default_str();
  orders_cmd->add_option("--ceiling-url", ceiling_url,
                         "Also measure the broker ceiling at this AMQP URL after the load");
  orders_cmd->add_option("--ceiling-size", ceiling.size, "Ceiling message size in bytes")
      ->capture_default_str();

  GetOptions get;
  auto* get_cmd = cli.add_subcommand("get", "Keep-alive GET /api/orders/:id throughput");
  AddServerOptions(get_cmd, get_server);
  get_cmd->add_option("-c,--connections", get.connections, "Connections")->capture_default_str();
  get_cmd->add_option("-t,--threads", get.threads, "Client threads")->capture_default_str();
  get_cmd->add_option("-d,--duration", get.duration_s, "Seconds")->capture_default_str();

  BrokerOptions broker;
  auto* broker_cmd = cli.add_subcommand("broker", "RabbitMQ ceiling with shopflow's settings");
  broker_cmd->add_option("--url", broker.url, "AMQP URL")->capture_default_str();
  broker_cmd->add_option("--size", broker.size, "Message body bytes")->capture_default_str();
  broker_cmd->add_option("--publishers", broker.publishers)->capture_default_str();
  broker_cmd->add_option("--consumers", broker.consumers)->capture_default_str();
  broker_cmd->add_option("--window", broker.window, "Unconfirmed publishes per publisher")
      ->capture_default_str();
  broker_cmd->add_option("--prefetch", broker.prefetch)->capture_default_str();
  broker_cmd->add_option("-d,--duration", broker.duration_s, "Measured seconds")
      ->capture_default_str();
  broker_cmd->add_option("--warmup", broker.warmup_s, "Seconds before measuring")
      ->capture_default_str();

  auto* startup_cmd =
      cli.add_subcommand("startup", "Spawn the server, time spawn -> GET /readyz 200, stop it");
  AddServerOptions(startup_cmd, startup_server);

  CLI11_PARSE(cli, argc, argv);

  json::object report;
  if (*broker_cmd) return Emit(RunBrokerCeiling(broker), json_only);

  ServerOptions& so = *orders_cmd ? orders_server : *get_cmd ? get_server : startup_server;
  if (*startup_cmd && so.spawn.empty()) {
    std::cerr << "startup needs --spawn BINARY\n";
    return 2;
  }
  Server server(so);
  if (!server.Start(report)) {
    report["mode"] = orders_cmd->parsed() ? "orders" : get_cmd->parsed() ? "get" : "startup";
    return Emit(report, json_only);
  }
  server.Begin();
  if (*orders_cmd) {
    report = RunOrders(server.target(), orders);
  } else if (*get_cmd) {
    report = RunGet(server.target(), get);
  } else {
    report["mode"] = "startup";
  }
  server.End(report);
  if (*orders_cmd && !ceiling_url.empty() && !report.contains("error")) {
    ceiling.url = ceiling_url;
    json::object c = RunBrokerCeiling(ceiling);
    // One order costs `consumed` deliveries (each one persisted, delivered and acked): the
    // broker's share of the run is settled/s × deliveries per order against the ceiling.
    if (c.contains("msgs_per_s") && report.contains("messages_per_order")) {
      const double per_order =
          report["messages_per_order"].as_object()["consumed"].to_number<double>();
      const double load = report["settled_per_s"].to_number<double>() * per_order;
      const double top = c["msgs_per_s"].to_number<double>();
      c["orders_msgs_per_s"] = std::round(load);
      c["utilisation_percent"] = top > 0 ? std::round(load / top * 1000.0) / 10.0 : 0.0;
    }
    report["ceiling"] = std::move(c);
  }
  return Emit(report, json_only);
}
