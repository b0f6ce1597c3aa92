// The shopflow command line: `shopflow serve` runs the system; see --help.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <iostream>
#ifdef SHOPFLOW_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

#include "app/application.hpp"
#include "app/migrate.hpp"
#include "app/settings_loader.hpp"
#include "core/json.hpp"
#include "events/topology.hpp"
#include "security/jwt.hpp"
#include "transport/amqp/definitions.hpp"

namespace {

// Waits for SIGINT or SIGTERM. Meanwhile, every few seconds, hands memory the allocator keeps
// free back to the system, so that it does not stay with the process after a burst of load.
// With jemalloc (the default build) that is a purge of every arena's unused pages; with glibc's
// malloc, malloc_trim (its per-thread arenas kept several megabytes each that were no longer in
// use: 137 MB taken from the system, 39 MB in use at c32). docs/PERFORMANCE.md has the figures.
int WaitForShutdown(const sigset_t& signals) {
  constexpr timespec kTrimPeriod{5, 0};
  while (true) {
    const int received = sigtimedwait(&signals, nullptr, &kTrimPeriod);
    if (received > 0) return received;
    if (errno == EAGAIN) {
#ifdef SHOPFLOW_WITH_JEMALLOC
      (void)mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // 4096: all arenas
#elif defined(__GLIBC__)
      malloc_trim(0);
#endif
    }
  }
}

int Serve(shopflow::Settings settings) {
  // Block the shutdown signals before any thread starts, so every thread inherits the mask
  // and only the sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::set_level(spdlog::level::from_str(settings.log_level));
  auto app = shopflow::Application::Create(settings);
  if (!app) {
    spdlog::error("start-up failed: {}", app.error().message);
    for (const auto& d : app.error().details) spdlog::error("  {}: {}", d.field, d.issue);
    return 1;
  }
  auto port = (*app)->Start();
  if (!port) {
    spdlog::error("start-up failed: {}", port.error().message);
    return 1;
  }
  std::cout << "shopflow " << SHOPFLOW_VERSION << " listening on http://" << settings.host << ":"
            << *port << "  (bus: " << (settings.rabbitmq_url.empty() ? "embedded" : "rabbitmq")
            << ", store: "
            << (settings.mongodb_url.empty() ? "sqlite in " + settings.data_dir : "mongodb") << ")"
            << std::endl;
  const int received = WaitForShutdown(signals);
  spdlog::info("received {}, shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
  (*app)->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"shopflow: an event-driven e-commerce backend on RabbitMQ"};
  cli.set_version_flag("--version", std::string("shopflow ") + SHOPFLOW_VERSION);
  cli.require_subcommand(1);

  auto* serve = cli.add_subcommand("serve", "Run the HTTP API, the dashboard and the modules");
  std::string config_path;
  std::optional<int> port;
  std::optional<std::string> data_dir;
  serve->add_option("--config", config_path, "JSON config file (see config/shopflow.example.json)");
  serve->add_option("--port", port, "HTTP port (overrides PORT; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  serve->add_option("--data-dir", data_dir, "Data directory (overrides SHOPFLOW_DATA_DIR)");
  std::vector<std::string> modules;
  serve
      ->add_option("--modules", modules,
                   "Modules this process runs, e.g. orders,payments (overrides SHOPFLOW_MODULES)")
      ->delimiter(',');

  auto* topology = cli.add_subcommand("topology", "The broker topology of EVENTS.md");
  topology->require_subcommand(1);
  auto* export_cmd = topology->add_subcommand(
      "export",
      "Print the topology as a RabbitMQ definitions file (rabbitmqctl import_definitions)");
  std::string vhost = "ecommerce";
  export_cmd->add_option("--vhost", vhost, "Virtual host of the definitions")
      ->capture_default_str();
  export_cmd->add_option("--config", config_path, "JSON config file (retry policy)");

  auto* token_cmd = cli.add_subcommand(
      "token", "Mint a bearer token (HS256 JWT) signed with SHOPFLOW_JWT_SECRET; prints it only");
  std::string token_role;
  std::string token_sub;
  std::string token_ttl = "1h";
  token_cmd->add_option("--role", token_role, "customer, operator or admin")
      ->required()
      ->check(CLI::IsMember({"customer", "operator", "admin"}));
  token_cmd->add_option("--sub", token_sub, "The subject: a customer id or a person's name")
      ->required();
  token_cmd->add_option("--ttl", token_ttl, "Lifetime: 45s, 30m, 1h, 7d")->capture_default_str();
  token_cmd->add_option("--config", config_path, "JSON config file (JWT settings)");

  auto* migrate_cmd = cli.add_subcommand(
      "migrate", "Copy a SQLite data directory (documents, pending outbox, inbox) into MongoDB");
  std::string migrate_from;
  std::string migrate_to;
  migrate_cmd
      ->add_option("--from", migrate_from, "sqlite://DATA_DIR or sqlite://FILE (e.g. ./data)")
      ->required();
  migrate_cmd
      ->add_option("--to", migrate_to,
                   "mongodb://user:pass@host:27017/ecommerce?authSource=admin (or sqlite://FILE)")
      ->required();

  CLI11_PARSE(cli, argc, argv);

  if (migrate_cmd->parsed()) {
    return shopflow::RunMigrate(migrate_from, migrate_to, std::cout, std::cerr);
  }

  auto settings = shopflow::LoadSettings(config_path, shopflow::ProcessEnvironment());
  if (!settings) {
    std::cerr << "shopflow: " << settings.error().message << "\n";
    for (const auto& d : settings.error().details)
      std::cerr << "  " << d.field << " " << d.issue << "\n";
    return 2;
  }
  if (token_cmd->parsed()) {
    const auto ttl = shopflow::security::ParseTtl(token_ttl);
    if (!ttl) {
      std::cerr << "shopflow: --ttl must be a positive duration such as 45s, 30m, 1h or 7d\n";
      return 2;
    }
    if (token_sub.empty() || token_sub.size() > 128) {
      std::cerr << "shopflow: --sub must have 1 to 128 characters\n";
      return 2;
    }
    shopflow::security::JwtOptions jwt;
    jwt.secret = settings->jwt_secret;
    jwt.issuer = settings->jwt_issuer;
    jwt.audience = settings->jwt_audience;
    if (jwt.secret.size() < shopflow::security::JwtOptions::kMinSecretBytes) {
      std::cerr << "shopflow: set SHOPFLOW_JWT_SECRET (or SHOPFLOW_JWT_SECRET_FILE) to the "
                   "server's secret, at least 32 bytes\n";
      return 2;
    }
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    std::cout << shopflow::security::SignJwt(
                     {token_sub, *shopflow::security::ParseRole(token_role), now, now + *ttl}, jwt)
              << std::endl;
    return 0;
  }
  if (export_cmd->parsed()) {
    shopflow::RetryPolicy retry;
    retry.max_attempts = settings->retry_max_attempts;
    retry.initial_delay = settings->retry_initial_delay;
    std::cout << shopflow::ToJsonText(
                     shopflow::TopologyDefinitions(shopflow::DefaultTopology(retry), vhost))
              << std::endl;
    return 0;
  }
  if (port) settings->port = *port;
  if (data_dir) settings->data_dir = *data_dir;
  if (!modules.empty()) settings->modules = modules;
  return Serve(std::move(*settings));
}
