// The shopflow command line: `shopflow serve` runs the system; see --help.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/settings_loader.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"shopflow: an event-driven e-commerce backend on RabbitMQ"};
  cli.set_version_flag("--version", std::string("shopflow ") + SHOPFLOW_VERSION);
  cli.require_subcommand(1);

  auto* serve = cli.add_subcommand("serve", "Run the HTTP API, the dashboard and the modules");
  std::string config_path;
  std::optional<int> port;
  std::optional<std::string> data_dir;
  serve->add_option("--config", config_path, "JSON config file (see config/shopflow.example.json)");
  serve->add_option("--port", port, "HTTP port (overrides PORT; 0 picks a free one)");
  serve->add_option("--data-dir", data_dir, "Data directory (overrides SHOPFLOW_DATA_DIR)");

  CLI11_PARSE(cli, argc, argv);

  auto settings = shopflow::LoadSettings(config_path, shopflow::ProcessEnvironment());
  if (!settings) {
    std::cerr << "shopflow: " << settings.error().message << "\n";
    for (const auto& d : settings.error().details) std::cerr << "  " << d.field << " " << d.issue << "\n";
    return 2;
  }
  if (port) settings->port = *port;
  if (data_dir) settings->data_dir = *data_dir;
  spdlog::info("shopflow {} would listen on http://{}:{}", SHOPFLOW_VERSION, settings->host,
               settings->port);
  return 0;
}
