#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace shopflow {

/// Every setting of a shopflow process, typed. Built by app/ from defaults < config file <
/// environment < command line; modules receive only the parts they need.
struct Settings {
  // HTTP
  std::string host = "127.0.0.1";                 // SHOPFLOW_HOST
  int port = 3000;                                // PORT
  size_t max_body_bytes = 1 << 20;                // SHOPFLOW_MAX_BODY_BYTES
  std::chrono::milliseconds read_timeout{30000};  // SHOPFLOW_READ_TIMEOUT_MS
  int http_threads = 1;                           // SHOPFLOW_HTTP_THREADS
  std::chrono::milliseconds idle_timeout{60000};  // SHOPFLOW_IDLE_TIMEOUT_MS (keep-alive wait)
  size_t max_connections = 10000;                 // SHOPFLOW_MAX_CONNECTIONS (0: no limit)
  size_t max_header_count = 100;                  // SHOPFLOW_MAX_HEADER_COUNT

  // Security (issue 8; README "Security").
  std::string auth = "auto";    // SHOPFLOW_AUTH: auto (on unless the host is loopback), on, off
  std::string jwt_secret;       // SHOPFLOW_JWT_SECRET (or SHOPFLOW_JWT_SECRET_FILE), >= 32 bytes
  std::string jwt_secret_file;  // SHOPFLOW_JWT_SECRET_FILE: read at load time into jwt_secret
  std::string jwt_issuer = "shopflow";        // SHOPFLOW_JWT_ISSUER
  std::string jwt_audience = "shopflow-api";  // SHOPFLOW_JWT_AUDIENCE
  std::chrono::seconds jwt_leeway{30};        // SHOPFLOW_JWT_LEEWAY_S (clock skew tolerated)
  std::string api_keys_file;                  // SHOPFLOW_API_KEYS_FILE (lines `role name key`)
  /// Requests per second per client: 0 = auto (100 with authentication on, unlimited off),
  /// -1 = unlimited.
  double rate_limit_rps = 0;    // SHOPFLOW_RATE_LIMIT_RPS
  double rate_limit_burst = 0;  // SHOPFLOW_RATE_LIMIT_BURST (0: twice the rate)

  // Storage and transport
  std::string data_dir = "./data";  // SHOPFLOW_DATA_DIR
  std::string rabbitmq_url;         // RABBITMQ_URL (empty: embedded bus)
  std::string mongodb_url;          // MONGODB_URL (empty: SQLite)

  // Modules this process runs (all by default).
  std::vector<std::string> modules = {"orders", "payments", "inventory", "notifications"};

  // Retry policy of consumers.
  int retry_max_attempts = 5;                           // SHOPFLOW_RETRY_MAX_ATTEMPTS
  std::chrono::milliseconds retry_initial_delay{1000};  // SHOPFLOW_RETRY_INITIAL_DELAY_MS
  /// Handler threads per module queue (competing consumers; with RabbitMQ each has its own
  /// connection); handlers are idempotent and order-independent per order. 0 = auto
  /// (ConsumerThreadsFor in app/consumer_threads.hpp picks per bus).
  int consumer_threads = 0;  // SHOPFLOW_CONSUMER_THREADS ("auto" or 1-64)
  int consumer_batch = 32;   // SHOPFLOW_CONSUMER_BATCH: deliveries applied in one transaction
  /// How long a consumer remembers a messageId it applied (the inbox); 0 = forever. A message
  /// delivered again after that is applied again (storage/store_retention.hpp).
  std::chrono::seconds inbox_retention{7 * 24 * 3600};  // SHOPFLOW_INBOX_RETENTION_S
  /// How long an Idempotency-Key's first response is kept; 0 = forever, else at least a day
  /// (API.md). A repeat after that is a new request.
  std::chrono::seconds idempotency_retention{7 * 24 * 3600};  // SHOPFLOW_IDEMPOTENCY_RETENTION_S

  // Payments: the simulated gateway.
  std::chrono::milliseconds gateway_latency{0};  // SHOPFLOW_GATEWAY_LATENCY_MS
  /// pix and boleto payments confirm themselves after this long; 0 = only by
  /// PUT /api/payments/:id/status (the bank's confirmation).
  std::chrono::milliseconds auto_confirm_delay{0};  // SHOPFLOW_AUTO_CONFIRM_MS
  /// A card charge the gateway keeps leaving unanswered fails its payment after this long.
  std::chrono::milliseconds gateway_give_up{10 * 60'000};  // SHOPFLOW_GATEWAY_GIVE_UP_MS

  /// Circuit breakers around external calls (payment gateway, SMTP, webhooks): consecutive
  /// failures that open one, and how long it stays open before a trial call.
  int breaker_failures = 5;                             // SHOPFLOW_BREAKER_FAILURES
  std::chrono::milliseconds breaker_cool_down{30'000};  // SHOPFLOW_BREAKER_COOL_DOWN_MS

  // Notifications.
  std::string smtp_url;                             // SMTP_URL (empty: emails recorded only)
  std::string smtp_from = "shopflow@localhost";     // SMTP_FROM
  std::string sms_webhook_url;                      // SHOPFLOW_SMS_WEBHOOK_URL
  std::string push_webhook_url;                     // SHOPFLOW_PUSH_WEBHOOK_URL
  std::string alert_email = "operators@localhost";  // SHOPFLOW_ALERT_EMAIL (stock alerts)
  std::string templates_dir;  // SHOPFLOW_TEMPLATES_DIR (empty: the built-in templates)

  // Monitoring.
  int64_t messages_max_count = 100'000;          // SHOPFLOW_MESSAGES_MAX (event log rows kept)
  std::chrono::seconds messages_max_age{86400};  // SHOPFLOW_MESSAGES_MAX_AGE_S
  int64_t dlq_alert_threshold = 10;              // SHOPFLOW_DLQ_ALERT_THRESHOLD (dead letters)
  int64_t redrive_rate = 50;                     // SHOPFLOW_REDRIVE_RATE (re-drives per second)
  /// Breaking modules on purpose through /api/faults: "auto" (on when listening on loopback),
  /// "on" or "off".
  std::string fault_injection = "auto";  // SHOPFLOW_FAULT_INJECTION

  std::string log_level = "info";  // SHOPFLOW_LOG_LEVEL
};

}  // namespace shopflow
