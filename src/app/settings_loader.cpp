#include "app/settings_loader.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/json.hpp"

namespace shopflow {

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

namespace {

std::optional<int64_t> ToInt(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string item(text.substr(start, comma - start));
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// One setting, reachable by its config-file key and its environment variable.
struct Field {
  const char* key;
  const char* env;
  std::function<bool(Settings&, std::string_view)> set;
};

template <class Int>
std::function<bool(Settings&, std::string_view)> IntSetter(Int Settings::*member, int64_t min,
                                                           int64_t max) {
  return [=](Settings& s, std::string_view text) {
    auto v = ToInt(text);
    if (!v || *v < min || *v > max) return false;
    s.*member = static_cast<Int>(*v);
    return true;
  };
}

// A non-negative whole number of the duration's unit; with `least`, 0 or at least that many.
template <class Duration>
std::function<bool(Settings&, std::string_view)> DurationSetter(Duration Settings::*member,
                                                                int64_t least = 0) {
  return [=](Settings& s, std::string_view text) {
    auto v = ToInt(text);
    if (!v || *v < 0 || (*v != 0 && *v < least)) return false;
    s.*member = Duration(*v);
    return true;
  };
}

// A non-negative decimal number (or exactly `special`, e.g. -1 for "unlimited").
std::function<bool(Settings&, std::string_view)> RateSetter(double Settings::*member, int special) {
  return [=](Settings& s, std::string_view text) {
    if (auto i = ToInt(text); i && *i == special) {
      s.*member = special;
      return true;
    }
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || !(v >= 0) || v > 1e6) return false;
    s.*member = v;
    return true;
  };
}

std::function<bool(Settings&, std::string_view)> StringSetter(std::string Settings::*member) {
  return [=](Settings& s, std::string_view text) {
    s.*member = std::string(text);
    return true;
  };
}

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {"host", "SHOPFLOW_HOST", StringSetter(&Settings::host)},
      {"port", "PORT", IntSetter(&Settings::port, 0, 65535)},
      {"maxBodyBytes", "SHOPFLOW_MAX_BODY_BYTES", IntSetter(&Settings::max_body_bytes, 1, 1 << 30)},
      {"readTimeoutMs", "SHOPFLOW_READ_TIMEOUT_MS", DurationSetter(&Settings::read_timeout)},
      {"httpThreads", "SHOPFLOW_HTTP_THREADS", IntSetter(&Settings::http_threads, 1, 64)},
      {"idleTimeoutMs", "SHOPFLOW_IDLE_TIMEOUT_MS", DurationSetter(&Settings::idle_timeout)},
      {"maxConnections", "SHOPFLOW_MAX_CONNECTIONS",
       IntSetter(&Settings::max_connections, 0, 1'000'000)},
      {"maxHeaderCount", "SHOPFLOW_MAX_HEADER_COUNT",
       IntSetter(&Settings::max_header_count, 1, 10'000)},
      {"auth", "SHOPFLOW_AUTH",
       [](Settings& s, std::string_view text) {
         if (text != "auto" && text != "on" && text != "off") return false;
         s.auth = std::string(text);
         return true;
       }},
      {"jwtSecret", "SHOPFLOW_JWT_SECRET", StringSetter(&Settings::jwt_secret)},
      {"jwtSecretFile", "SHOPFLOW_JWT_SECRET_FILE", StringSetter(&Settings::jwt_secret_file)},
      {"jwtIssuer", "SHOPFLOW_JWT_ISSUER", StringSetter(&Settings::jwt_issuer)},
      {"jwtAudience", "SHOPFLOW_JWT_AUDIENCE", StringSetter(&Settings::jwt_audience)},
      {"jwtLeewayS", "SHOPFLOW_JWT_LEEWAY_S",
       [](Settings& s, std::string_view text) {
         auto v = ToInt(text);
         if (!v || *v < 0 || *v > 600) return false;
         s.jwt_leeway = std::chrono::seconds(*v);
         return true;
       }},
      {"apiKeysFile", "SHOPFLOW_API_KEYS_FILE", StringSetter(&Settings::api_keys_file)},
      {"rateLimitRps", "SHOPFLOW_RATE_LIMIT_RPS", RateSetter(&Settings::rate_limit_rps, -1)},
      {"rateLimitBurst", "SHOPFLOW_RATE_LIMIT_BURST", RateSetter(&Settings::rate_limit_burst, 0)},
      {"dataDir", "SHOPFLOW_DATA_DIR", StringSetter(&Settings::data_dir)},
      {"rabbitmqUrl", "RABBITMQ_URL", StringSetter(&Settings::rabbitmq_url)},
      {"mongodbUrl", "MONGODB_URL", StringSetter(&Settings::mongodb_url)},
      {"modules", "SHOPFLOW_MODULES",
       [](Settings& s, std::string_view text) {
         s.modules = SplitList(text);
         return !s.modules.empty();
       }},
      {"retryMaxAttempts", "SHOPFLOW_RETRY_MAX_ATTEMPTS",
       IntSetter(&Settings::retry_max_attempts, 1, 20)},
      {"retryInitialDelayMs", "SHOPFLOW_RETRY_INITIAL_DELAY_MS",
       DurationSetter(&Settings::retry_initial_delay)},
      {"consumerThreads", "SHOPFLOW_CONSUMER_THREADS",
       [count = IntSetter(&Settings::consumer_threads, 1, 64)](Settings& s, std::string_view text) {
         if (text != "auto") return count(s, text);
         s.consumer_threads = 0;  // ConsumerThreadsFor decides per bus
         return true;
       }},
      {"consumerBatch", "SHOPFLOW_CONSUMER_BATCH", IntSetter(&Settings::consumer_batch, 1, 1000)},
      {"gatewayLatencyMs", "SHOPFLOW_GATEWAY_LATENCY_MS",
       DurationSetter(&Settings::gateway_latency)},
      {"autoConfirmMs", "SHOPFLOW_AUTO_CONFIRM_MS", DurationSetter(&Settings::auto_confirm_delay)},
      {"gatewayGiveUpMs", "SHOPFLOW_GATEWAY_GIVE_UP_MS",
       DurationSetter(&Settings::gateway_give_up)},
      {"breakerFailures", "SHOPFLOW_BREAKER_FAILURES",
       IntSetter(&Settings::breaker_failures, 1, 1000)},
      {"breakerCoolDownMs", "SHOPFLOW_BREAKER_COOL_DOWN_MS",
       DurationSetter(&Settings::breaker_cool_down)},
      {"smtpUrl", "SMTP_URL", StringSetter(&Settings::smtp_url)},
      {"smtpFrom", "SMTP_FROM", StringSetter(&Settings::smtp_from)},
      {"smsWebhookUrl", "SHOPFLOW_SMS_WEBHOOK_URL", StringSetter(&Settings::sms_webhook_url)},
      {"pushWebhookUrl", "SHOPFLOW_PUSH_WEBHOOK_URL", StringSetter(&Settings::push_webhook_url)},
      {"alertEmail", "SHOPFLOW_ALERT_EMAIL", StringSetter(&Settings::alert_email)},
      {"templatesDir", "SHOPFLOW_TEMPLATES_DIR", StringSetter(&Settings::templates_dir)},
      {"messagesMax", "SHOPFLOW_MESSAGES_MAX",
       IntSetter(&Settings::messages_max_count, 0, 1'000'000'000)},
      {"messagesMaxAgeS", "SHOPFLOW_MESSAGES_MAX_AGE_S",
       DurationSetter(&Settings::messages_max_age)},
      {"inboxRetentionS", "SHOPFLOW_INBOX_RETENTION_S", DurationSetter(&Settings::inbox_retention)},
      // API.md promises at least 24 h.
      {"idempotencyRetentionS", "SHOPFLOW_IDEMPOTENCY_RETENTION_S",
       DurationSetter(&Settings::idempotency_retention, 86'400)},
      {"dlqAlertThreshold", "SHOPFLOW_DLQ_ALERT_THRESHOLD",
       IntSetter(&Settings::dlq_alert_threshold, 0, 1'000'000'000)},
      {"redriveRate", "SHOPFLOW_REDRIVE_RATE", IntSetter(&Settings::redrive_rate, 1, 100'000)},
      {"faultInjection", "SHOPFLOW_FAULT_INJECTION",
       [](Settings& s, std::string_view text) {
         if (text != "auto" && text != "on" && text != "off") return false;
         s.fault_injection = std::string(text);
         return true;
       }},
      {"logLevel", "SHOPFLOW_LOG_LEVEL", StringSetter(&Settings::log_level)},
  };
  return fields;
}

std::string ScalarText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_array()) {
    std::string joined;
    for (const auto& item : v.get_array()) {
      if (!joined.empty()) joined += ',';
      joined += ScalarText(item);
    }
    return joined;
  }
  return ToJsonText(v);
}

}  // namespace

Result<Settings> LoadSettings(const std::string& config_path, const EnvLookup& env) {
  Settings settings;
  std::vector<ErrorDetail> problems;
  if (!config_path.empty()) {
    std::ifstream in(config_path);
    if (!in) return ValidationError("cannot read config file " + config_path);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseJson(text.str());
    if (!parsed || !parsed->is_object()) {
      return ValidationError("config file " + config_path + " is not a JSON object");
    }
    for (const auto& kv : parsed->get_object()) {
      const Field* field = nullptr;
      for (const auto& f : Fields()) {
        if (kv.key() == f.key) field = &f;
      }
      if (!field) {
        problems.push_back({std::string(kv.key()), "is not a known setting"});
      } else if (!field->set(settings, ScalarText(kv.value()))) {
        problems.push_back({std::string(kv.key()), "has an invalid value"});
      }
    }
  }
  for (const auto& f : Fields()) {
    if (auto value = env(f.env)) {
      if (!f.set(settings, *value)) problems.push_back({f.env, "has an invalid value"});
    }
  }
  if (!problems.empty()) return ValidationError("invalid settings", std::move(problems));
  if (!settings.jwt_secret_file.empty()) {
    // A file (a Docker or systemd secret) keeps the secret out of the environment and `ps`.
    std::ifstream in(settings.jwt_secret_file);
    if (!in) {
      return ValidationError("cannot read SHOPFLOW_JWT_SECRET_FILE " + settings.jwt_secret_file);
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    settings.jwt_secret = std::move(secret);
  }
  return settings;
}

}  // namespace shopflow
