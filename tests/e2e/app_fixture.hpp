#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "app/application.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "events/observed_event_bus.hpp"
#include "tests/e2e/event_recorder.hpp"
#include "tests/support/http_client.hpp"

namespace shopflow::testing {

/// Waits until `condition` holds or `timeout` passes; true if it held. Polls with short waits:
/// this waits on a condition with a deadline, it does not sleep a fixed time for an event.
inline bool WaitFor(const std::function<bool()>& condition,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return condition();
}

/// A whole shopflow process (embedded bus, SQLite in a fresh directory) on an ephemeral port,
/// and a client talking to it.
class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::path(::testing::TempDir()) / ("shopflow-e2e-" + NewId());
    StartApp();
  }

  void TearDown() override {
    client_.reset();
    if (app_) app_->Stop();
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }

  virtual Settings MakeSettings() {
    Settings s;
    s.port = 0;
    s.data_dir = data_dir_.string();
    s.retry_initial_delay = std::chrono::milliseconds(10);
    return s;
  }

  virtual void StartApp() { StartAppWith({}); }

  void StartAppWith(ApplicationHooks hooks) {
    auto app = Application::Create(MakeSettings(), SystemClock::Instance(), std::move(hooks));
    ASSERT_TRUE(app) << app.error().message;
    app_ = std::move(*app);
    app_->events().AddObserver(&recorder_);
    auto port = app_->Start();
    ASSERT_TRUE(port) << port.error().message;
    client_ = std::make_unique<HttpClient>("127.0.0.1", *port);
  }

  void RestartApp() {
    client_.reset();
    app_->Stop();
    app_.reset();
    StartApp();
  }

  HttpResult Post(const std::string& target, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    return client_->Request("POST", target, body, headers);
  }
  HttpResult Put(const std::string& target, const std::string& body) {
    return client_->Request("PUT", target, body, {{"Content-Type", "application/json"}});
  }
  HttpResult Get(const std::string& target) { return client_->Request("GET", target); }
  HttpResult Delete(const std::string& target) { return client_->Request("DELETE", target); }

  /// Creates a product and returns its JSON.
  json::object CreateProduct(const std::string& sku, double price, int64_t stock,
                             const std::string& category = "books") {
    json::object body{{"name", "Product " + sku},
                      {"sku", sku},
                      {"price", price},
                      {"stock", stock},
                      {"category", category}};
    auto r = Post("/api/inventory/products", ToJsonText(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().is_object() ? r.Json().as_object() : json::object{};
  }

  std::filesystem::path data_dir_;
  std::unique_ptr<Application> app_;
  std::unique_ptr<HttpClient> client_;
  EventRecorder recorder_;
};

/// The error code of an API error body ("" if the body has none).
inline std::string ErrorCodeOf(const HttpResult& r) {
  auto v = r.Json();
  if (!v.is_object()) return "";
  const auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return "";
  return GetString(e->as_object(), "code");
}

/// The `field` names of an API error body's details.
inline std::vector<std::string> ErrorFieldsOf(const HttpResult& r) {
  std::vector<std::string> out;
  auto v = r.Json();
  if (!v.is_object()) return out;
  const auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return out;
  if (const auto* d = GetArray(e->as_object(), "details")) {
    for (const auto& item : *d) {
      if (item.is_object()) out.push_back(GetString(item.as_object(), "field"));
    }
  }
  return out;
}

}  // namespace shopflow::testing
