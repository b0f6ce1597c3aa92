#include "app/application.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "app/consumer_threads.hpp"
#include "app/guarded_channel.hpp"
#include "app/guarded_gateway.hpp"
#include "app/inventory_catalog.hpp"
#include "app/openapi.hpp"
#include "app/order_directory_adapter.hpp"
#include "app/static_files.hpp"
#include "core/thread_name.hpp"
#include "events/observed_event_bus.hpp"
#include "http/http_server.hpp"
#include "http/websocket_hub.hpp"
#include "inventory/inventory_events.hpp"
#include "inventory/inventory_routes.hpp"
#include "inventory/product_service.hpp"
#include "monitor/circuit_breaker.hpp"
#include "monitor/dlq/dead_letter_manager.hpp"
#include "monitor/dlq/dlq_routes.hpp"
#include "monitor/fault_injector.hpp"
#include "monitor/health.hpp"
#include "monitor/live/live_feed.hpp"
#include "monitor/message_logger.hpp"
#include "monitor/message_routes.hpp"
#include "monitor/queue_depth_cache.hpp"
#include "monitor/stats.hpp"
#include "monitor/system_metrics.hpp"
#include "notifications/channel.hpp"
#include "notifications/notification_event_handler.hpp"
#include "notifications/notification_routes.hpp"
#include "notifications/notification_service.hpp"
#include "orders/catalog_replica.hpp"
#include "orders/order_events.hpp"
#include "orders/order_routes.hpp"
#include "orders/order_service.hpp"
#include "payments/gateway.hpp"
#include "payments/order_replica.hpp"
#include "payments/payment_events.hpp"
#include "payments/payment_routes.hpp"
#include "payments/payment_service.hpp"
#include "payments/payment_worker.hpp"
#include "security/audit_trail.hpp"
#include "security/gate.hpp"
#include "security/security_settings.hpp"
#include "storage/mongo/mongo_store.hpp"
#include "storage/outbox_relay.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "storage/store_retention.hpp"
#include "transport/amqp/amqp_event_bus.hpp"
#include "transport/amqp/amqp_url.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow {

struct Application::Parts {
  Settings settings;
  const Clock* clock = nullptr;
  std::unique_ptr<Store> store;              // SqliteStore, or MongoStore when MONGODB_URL is set
  std::unique_ptr<Store> log_store;          // SQLite only: the message log's own file and writer
  Store* message_log = nullptr;              // log_store, or store (MongoDB)
  std::unique_ptr<EventBus> bus;             // the transport: InMemoryEventBus or AmqpEventBus
  std::unique_ptr<EventBus> wrapper;         // test hook around the transport, if any
  std::unique_ptr<ObservedEventBus> events;  // what everything else publishes and consumes on
  std::unique_ptr<OutboxRelay> relay;
  std::unique_ptr<StoreRetention> retention;  // none when marks and keys are kept forever
  std::unique_ptr<inventory::ProductService> products;
  std::unique_ptr<inventory::StockService> stock;
  std::unique_ptr<inventory::InventoryEventHandler> inventory_events;
  std::unique_ptr<orders::Catalog> catalog;
  std::unique_ptr<orders::OrderService> orders;
  std::unique_ptr<orders::OrderEventHandler> order_events;
  std::unique_ptr<payments::SimulatedGateway> simulated_gateway;
  std::unique_ptr<payments::PaymentGateway> gateway;
  std::unique_ptr<payments::OrderDirectory> order_directory;
  std::unique_ptr<payments::PaymentService> payments;
  std::unique_ptr<payments::PaymentEventHandler> payment_events;
  std::unique_ptr<payments::PaymentWorker> payment_worker;
  std::unique_ptr<notifications::NotificationService> notifications;
  std::unique_ptr<notifications::NotificationEventHandler> notification_events;
  Topology topology;
  // Monitoring: observers of the bus, and what /api/health, /api/stats and /metrics read.
  std::unique_ptr<monitor::QueueDepthCache> depths;
  std::unique_ptr<monitor::CircuitBreakerSet> breakers;
  std::unique_ptr<monitor::MessageLogger> logger;
  std::unique_ptr<monitor::MessageQueries> queries;
  std::unique_ptr<monitor::StatsCollector> stats;
  std::unique_ptr<monitor::SystemMetrics> metrics;
  monitor::HealthSources health;
  std::unique_ptr<monitor::HealthMonitor> health_monitor;
  std::unique_ptr<monitor::DeadLetterManager> dlq;  // outlives the HTTP server
  std::unique_ptr<WebSocketHub> hub;                // outlives the server and the feed
  std::unique_ptr<monitor::LiveFeed> feed;
  std::unique_ptr<security::Gate> gate;                          // outlives the HTTP server
  std::unique_ptr<security::AuditTrail> audit;                   // outlives the HTTP server
  std::vector<std::pair<std::string, std::string>> route_table;  // (method, pattern)
  std::unique_ptr<monitor::FaultInjector> faults;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> ready{false};
  std::thread bus_starter;  // retries EventBus::Start while the broker is away at start-up
  std::mutex bus_starter_mutex;
  std::condition_variable bus_starter_wake;
  bool stopped_flag = false;  // guarded by bus_starter_mutex
  bool started = false;
  bool stopped = false;
  int port = 0;
};

namespace {

/// Whether `host` (the listen address) is reachable only from this machine.
bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace

Application::Application(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Application::~Application() { Stop(); }

Result<std::unique_ptr<Application>> Application::Create(Settings settings, const Clock& clock,
                                                         ApplicationHooks hooks) {
  auto p = std::make_unique<Parts>();
  p->clock = &clock;

  // Which modules this process runs (all by default; a subset to scale out).
  static const std::vector<std::string> kModules = {"orders", "payments", "inventory",
                                                    "notifications"};
  std::vector<std::string> modules;
  for (const auto& m : settings.modules) {
    if (std::find(kModules.begin(), kModules.end(), m) == kModules.end()) {
      return ValidationError("unknown module " + m,
                             {{"modules", "must name orders, payments, inventory, notifications"}});
    }
    if (std::find(modules.begin(), modules.end(), m) == modules.end()) modules.push_back(m);
  }
  if (modules.empty()) return ValidationError("no module to run", {{"modules", "is empty"}});
  // Secure by default (issue 8): refuse to start unprotected before anything is opened.
  auto gate_options = security::MakeGateOptions(settings, IsLoopbackHost(settings.host));
  if (!gate_options) return std::move(gate_options).error();
  std::sort(modules.begin(), modules.end());
  settings.modules = modules;
  auto runs = [&](std::string_view m) {
    return std::find(modules.begin(), modules.end(), m) != modules.end();
  };
  // Ports served by another process fall back to replicas kept from events.
  const bool catalog_replica = runs("orders") && !runs("inventory");
  const bool order_replica = runs("payments") && !runs("orders");

  // Every module declares its collections; shared ones (idempotency keys) are declared once.
  std::vector<std::vector<CollectionSpec>> wanted;
  if (runs("inventory")) {
    wanted.push_back(inventory::ProductService::Collections());
    wanted.push_back(inventory::StockService::Collections());
  }
  if (runs("orders")) wanted.push_back(orders::OrderService::Collections());
  if (catalog_replica) wanted.push_back({orders::CatalogReplicaCollection()});
  if (runs("payments")) wanted.push_back(payments::PaymentService::Collections());
  if (order_replica) wanted.push_back({payments::OrderSnapshotsCollection()});
  if (runs("notifications")) wanted.push_back(notifications::NotificationService::Collections());
  CollectionSpec partition = monitor::MessageLogCollection();
  partition.expire_field = "createdAt";  // a TTL index where the backend has one (MongoDB)
  partition.expire_after = settings.messages_max_age;
  std::vector<CollectionSpec> messages = monitor::MessageLogCollections(partition);
  wanted.push_back(monitor::DeadLetterManager::Collections());
  std::vector<CollectionSpec> collections = MergeCollections(std::move(wanted));

  std::error_code ec;
  std::filesystem::create_directories(settings.data_dir, ec);
  if (ec) {
    return UnavailableError("cannot create data directory " + settings.data_dir + ": " +
                            ec.message());
  }
  // Each set of modules owns its database file: processes of the same module share it (SQLite
  // WAL serializes their writers); processes of different modules never see each other's data.
  std::string db_name = "shopflow";
  if (modules.size() < kModules.size()) {
    db_name.clear();
    for (const auto& m : modules) db_name += (db_name.empty() ? "" : "+") + m;
  }
  if (!settings.mongodb_url.empty()) {
    // MONGODB_URL selects MongoDB (issue 9); a module subset gets its own database beside the
    // URL's, as it gets its own file with SQLite.
    MongoStoreOptions mongo_options;
    mongo_options.url = settings.mongodb_url;
    if (modules.size() < kModules.size()) mongo_options.database_suffix = "_" + db_name;
    mongo_options.collections = collections;
    for (auto& spec : messages) mongo_options.collections.push_back(std::move(spec));
    auto store = MongoStore::Open(std::move(mongo_options));
    if (!store) return std::move(store).error();
    p->store = std::move(*store);
    p->message_log = p->store.get();
  } else {
    SqliteStoreOptions store_options;
    store_options.path = (std::filesystem::path(settings.data_dir) / (db_name + ".db")).string();
    store_options.collections = collections;
    auto store = SqliteStore::Open(std::move(store_options));
    if (!store) return std::move(store).error();
    p->store = std::move(*store);
    // The message log (a row per publication and per delivery, 28 per order, and its retention)
    // in its own file: with one writer per file, its writes no longer queue behind the saga's
    // transactions (or theirs behind it), and the two writers use both cores. It holds nothing
    // the saga needs: the rows are a bounded, best-effort record.
    SqliteStoreOptions log_options;
    log_options.path =
        (std::filesystem::path(settings.data_dir) / (db_name + "-messages.db")).string();
    log_options.collections = std::move(messages);
    auto log_store = SqliteStore::Open(std::move(log_options));
    if (!log_store) return std::move(log_store).error();
    p->log_store = std::move(*log_store);
    p->message_log = p->log_store.get();
  }

  RetryPolicy retry;
  retry.max_attempts = settings.retry_max_attempts;
  retry.initial_delay = settings.retry_initial_delay;
  p->topology = DefaultTopology(retry);
  if (settings.rabbitmq_url.empty()) {
    p->bus = std::make_unique<InMemoryEventBus>(p->topology, clock);
  } else {
    auto url = ParseAmqpUrl(settings.rabbitmq_url);
    if (!url) return ValidationError("RABBITMQ_URL: " + url.error().message);
    spdlog::info("event bus: RabbitMQ at {}", url->Redacted());
    p->bus = std::make_unique<AmqpEventBus>(*url, p->topology, clock);
  }
  if (hooks.wrap_transport) p->wrapper = hooks.wrap_transport(*p->bus);
  p->events = std::make_unique<ObservedEventBus>(p->wrapper ? *p->wrapper : *p->bus, p->topology);
  p->relay = std::make_unique<OutboxRelay>(*p->store, *p->events, OutboxRelayOptions{});
  StoreRetentionOptions retention;
  retention.inbox_keep = settings.inbox_retention;
  // Only the orders and payments modules take Idempotency-Keys (and declare their collection).
  retention.idempotency_keep =
      runs("orders") || runs("payments") ? settings.idempotency_retention : std::chrono::seconds(0);
  if (retention.inbox_keep.count() > 0 || retention.idempotency_keep.count() > 0) {
    // The store stamps marks with the system time, whatever clock the rest runs on.
    p->retention = std::make_unique<StoreRetention>(*p->store, SystemClock::Instance(), retention);
  }

  OutboxRelay* relay = p->relay.get();
  auto backlog = [relay]() -> int64_t {
    auto b = relay->Backlog(1000);
    return b ? static_cast<int64_t>(*b) : -1;
  };
  Parts* parts = p.get();
  std::function<int64_t()> dlq_size = [parts] {
    return parts->dlq ? parts->dlq->DeadCount() : int64_t{-1};
  };
  p->depths = std::make_unique<monitor::QueueDepthCache>(*p->bus);
  p->breakers = std::make_unique<monitor::CircuitBreakerSet>();
  const monitor::CircuitBreakerOptions breaker_options{
      .failure_threshold = settings.breaker_failures, .cool_down = settings.breaker_cool_down};
  monitor::MessageLoggerOptions logger_options;
  logger_options.max_count = settings.messages_max_count;
  logger_options.max_age = settings.messages_max_age;
  p->logger =
      std::make_unique<monitor::MessageLogger>(*p->message_log, p->topology, clock, logger_options);
  p->queries = std::make_unique<monitor::MessageQueries>(*p->message_log, p->topology);
  monitor::StatsSources stats_sources;
  stats_sources.store = p->store.get();
  stats_sources.queue_depths = p->depths.get();
  stats_sources.outbox_backlog = backlog;
  stats_sources.dlq_size = dlq_size;
  p->stats = std::make_unique<monitor::StatsCollector>(clock, stats_sources);
  monitor::SystemMetricsSources metric_sources;
  metric_sources.bus = p->bus.get();
  metric_sources.queue_depths = p->depths.get();
  metric_sources.outbox_backlog = backlog;
  metric_sources.dlq_size = dlq_size;
  if (auto* amqp = dynamic_cast<AmqpEventBus*>(p->bus.get())) {
    metric_sources.bus_reconnects = [amqp] {
      return static_cast<int64_t>(amqp->Counters().connections_lost);
    };
  }
  monitor::MessageLogger* logger = p->logger.get();
  metric_sources.message_log_dropped = [logger] {
    return static_cast<int64_t>(logger->Stats().dropped);
  };
  if (StoreRetention* retention = p->retention.get()) {
    metric_sources.inbox_marks_pruned = [retention] {
      return static_cast<int64_t>(retention->Stats().inbox_marks_removed);
    };
    metric_sources.idempotency_keys_pruned = [retention] {
      return static_cast<int64_t>(retention->Stats().idempotency_keys_removed);
    };
  }
  metric_sources.circuit_breakers = p->breakers.get();
  p->metrics = std::make_unique<monitor::SystemMetrics>(metric_sources);
  p->events->AddObserver(p->logger.get());
  p->events->AddObserver(p->stats.get());
  p->events->AddObserver(p->metrics.get());
  std::vector<Route> module_routes;
  auto add_routes = [&](std::vector<Route> routes) {
    for (auto& r : routes) module_routes.push_back(std::move(r));
  };
  // Breaking a module on purpose (/api/faults): on by default only for a loopback listener.
  const bool faults_on = settings.fault_injection == "on" ||
                         (settings.fault_injection == "auto" && IsLoopbackHost(settings.host));
  // The payment gateway can be broken too (it answers nothing: payments retry, its breaker
  // opens), wherever payments runs.
  std::vector<std::string> fault_targets = modules;
  if (runs("payments")) fault_targets.emplace_back("gateway");
  p->faults = std::make_unique<monitor::FaultInjector>(clock, fault_targets, faults_on);
  // Consumers: each module's handler on its own queue (EVENTS.md topology).
  // Every module takes the deliveries waiting on its queue together: one transaction (one
  // commit, one wait) for all of them instead of one each (notifications: one to store them,
  // the channel calls one by one, one to settle them; payments: one to begin the charges, the
  // gateway's answers awaited together).
  auto subscribe_batch = [&](std::string_view module, std::string_view queue,
                             BatchEventHandler handler) {
    handler = p->faults->WrapBatch(std::string(module), std::move(handler));
    SubscribeOptions options;
    options.concurrency = ConsumerThreadsFor(settings);
    options.max_batch = settings.consumer_batch;
    p->events->SubscribeBatch(std::string(queue), std::move(handler), options);
  };

  if (runs("inventory")) {
    p->products = std::make_unique<inventory::ProductService>(*p->store, clock);
    p->stock = std::make_unique<inventory::StockService>(*p->store, clock);
    p->inventory_events = std::make_unique<inventory::InventoryEventHandler>(*p->store, clock);
    add_routes(inventory::InventoryRoutes(*p->products, *p->stock));
    auto* handler = p->inventory_events.get();
    subscribe_batch("inventory", "inventory.events.queue",
                    [handler](std::span<const Delivery> d) { return handler->HandleBatch(d); });
  }

  if (runs("orders")) {
    if (catalog_replica) {
      p->catalog = std::make_unique<orders::ReplicaCatalog>(*p->store);
    } else {
      p->catalog = std::make_unique<InventoryCatalog>(*p->products);
    }
    // Card numbers are tokenized at intake by the gateway's pure tokenization (issue 8): only
    // the token, brand and last four digits are stored and published.
    orders::CardTokenizer tokenizer = [](std::string_view number) {
      const payments::CardToken card = payments::TokenizeCard(number);
      return json::object{
          {"cardToken", card.token}, {"cardLast4", card.last4}, {"cardBrand", card.brand}};
    };
    p->orders =
        std::make_unique<orders::OrderService>(*p->store, *p->catalog, clock, std::move(tokenizer));
    p->order_events =
        std::make_unique<orders::OrderEventHandler>(*p->store, clock, catalog_replica);
    add_routes(orders::OrderRoutes(*p->orders));
    auto* handler = p->order_events.get();
    subscribe_batch("orders", "orders.events.queue",
                    [handler](std::span<const Delivery> d) { return handler->HandleBatch(d); });
  }

  if (runs("payments")) {
    payments::PaymentsOptions payment_options;
    payment_options.gateway_latency = settings.gateway_latency;
    payment_options.auto_confirm_delay = settings.auto_confirm_delay;
    payment_options.gateway_give_up = settings.gateway_give_up;
    monitor::FaultInjector* faults = p->faults.get();
    p->simulated_gateway = std::make_unique<payments::SimulatedGateway>(
        payment_options.gateway_latency, [faults] { return faults->Trip("gateway"); });
    // Charges sit behind a circuit breaker, visible in /api/health and /metrics like SMTP's.
    p->gateway = std::make_unique<GuardedGateway>(
        *p->simulated_gateway, p->breakers->Get("gateway", clock, breaker_options));
    if (order_replica) {
      p->order_directory = std::make_unique<payments::ReplicaOrderDirectory>(*p->store);
    } else {
      p->order_directory = std::make_unique<OrderDirectoryAdapter>(*p->orders);
    }
    p->payments = std::make_unique<payments::PaymentService>(*p->store, *p->order_directory,
                                                             *p->gateway, clock);
    p->payment_events =
        std::make_unique<payments::PaymentEventHandler>(*p->store, *p->gateway, clock);
    p->payment_worker =
        std::make_unique<payments::PaymentWorker>(*p->store, *p->gateway, clock, payment_options);
    add_routes(payments::PaymentRoutes(*p->payments));
    auto* events = p->payment_events.get();
    BatchEventHandler handler = [events](std::span<const Delivery> d) {
      return events->HandleBatch(d);
    };
    if (order_replica) {
      // The orders this process hears of, for the API's questions (payments/order_replica.hpp).
      Store* store = p->store.get();
      handler = [store, inner = std::move(handler)](std::span<const Delivery> d) {
        if (auto recorded = payments::RecordOrderEvents(*store, d); !recorded) {
          return std::vector<HandlerOutcome>(d.size(),
                                             HandlerOutcome::Retry(recorded.error().message));
        }
        return inner(d);
      };
    }
    subscribe_batch("payments", payments::PaymentEventHandler::kQueue, std::move(handler));
  }

  if (runs("notifications")) {
    notifications::NotificationsOptions notification_options;
    notification_options.smtp_url = settings.smtp_url;
    notification_options.smtp_from = settings.smtp_from;
    notification_options.sms_webhook_url = settings.sms_webhook_url;
    notification_options.push_webhook_url = settings.push_webhook_url;
    notification_options.alert_email = settings.alert_email;
    notification_options.templates_dir = settings.templates_dir;
    // External calls sit behind circuit breakers, visible in /api/health and /metrics.
    auto channels = notifications::MakeChannels(notification_options);
    auto guard = [&](auto& channel, std::string_view name) {
      channel = std::make_unique<GuardedChannel>(std::move(channel),
                                                 p->breakers->Get(name, clock, breaker_options));
    };
    guard(channels.email, "smtp");
    guard(channels.sms, "sms_webhook");
    guard(channels.push, "push_webhook");
    p->notifications = std::make_unique<notifications::NotificationService>(
        *p->store, clock, notification_options, std::move(channels));
    if (auto templates = p->notifications->templates().Verify(); !templates) {
      return std::move(templates).error();
    }
    p->notification_events =
        std::make_unique<notifications::NotificationEventHandler>(*p->notifications);
    add_routes(notifications::NotificationRoutes(*p->notifications));
    auto* handler = p->notification_events.get();
    subscribe_batch("notifications", notifications::NotificationEventHandler::kQueue,
                    [handler](std::span<const Delivery> d) { return handler->HandleBatch(d); });
  }

  // Dead letters: stored, listed, re-driven by hand; an alert email when they pile up.
  monitor::DlqOptions dlq_options;
  dlq_options.alert_threshold = settings.dlq_alert_threshold;
  dlq_options.redrive_rate = static_cast<double>(settings.redrive_rate);
  const std::string alert_email = settings.alert_email;
  monitor::DlqAlertFn on_alert = [parts, alert_email](const json::object& alert) {
    spdlog::warn("dead letters: {}", GetString(alert, "message"));
    if (!parts->notifications) return;
    json::object email{{"to", alert_email},
                       {"subject", "shopflow: dead letters are piling up"},
                       {"content", ToJsonText(alert)}};
    // Runs on the manager's worker thread, which may block: drive the coroutine here.
    const RequestContext context;  // named: the coroutine keeps a reference to it
    std::optional<Result<notifications::Notification>> sent;
    auto send = [&]() -> boost::asio::awaitable<void> {
      sent.emplace(co_await parts->notifications->SendEmail(email, context));
    };
    boost::asio::io_context io;
    boost::asio::co_spawn(io, send(), [](std::exception_ptr e) {
      if (e) spdlog::warn("dead-letter alert email failed with an exception");
    });
    io.run();
    if (sent && !*sent) spdlog::warn("dead-letter alert email: {}", sent->error().message);
  };
  p->dlq = std::make_unique<monitor::DeadLetterManager>(*p->store, *p->events, p->topology, clock,
                                                        dlq_options, std::move(on_alert));
  p->dlq->SubscribeAll(*p->events);
  add_routes(monitor::DlqRoutes(*p->dlq));

  Parts* raw = p.get();
  p->health.store = p->store.get();
  p->health.bus = p->bus.get();
  p->health.modules = settings.modules;
  p->health.version = SHOPFLOW_VERSION;
  p->health.started_at = clock.Now();
  p->health.clock = &clock;
  p->health.ready = [raw] { return raw->ready.load(); };
  p->health.outbox_backlog = backlog;
  p->health.dlq_size = dlq_size;
  p->health.queue_depths = p->depths.get();
  p->health.circuit_breakers = p->breakers.get();
  p->health.thresholds.dlq_growth = settings.dlq_alert_threshold;
  p->health_monitor = std::make_unique<monitor::HealthMonitor>(p->health);

  // The dashboard's live stream: every event, stats once a second, health on change.
  p->hub = std::make_unique<WebSocketHub>(WebSocketHubOptions{});
  monitor::LiveFeedOptions feed_options;
  p->feed = std::make_unique<monitor::LiveFeed>(*p->hub, p->stats->SnapshotFunction(),
                                                p->health_monitor->DocumentFunction(), clock,
                                                feed_options);
  p->events->AddObserver(p->feed.get());
  // With modules in other processes, the stream also shows their traffic, read from a tap on the
  // broker while a dashboard is connected (AmqpEventBus::SetTap).
  auto* amqp_bus = dynamic_cast<AmqpEventBus*>(p->bus.get());
  if (amqp_bus && modules.size() < kModules.size()) {
    WebSocketHub* hub = p->hub.get();
    amqp_bus->SetTap(p->feed.get(), [hub] { return hub->client_count() > 0; });
  }

  std::vector<Route> routes = p->health_monitor->Routes();
  for (auto& r : monitor::MessageRoutes(*p->queries)) routes.push_back(std::move(r));
  for (auto& r : p->stats->Routes()) routes.push_back(std::move(r));
  for (auto& r : p->metrics->Routes()) routes.push_back(std::move(r));
  for (auto& r : OpenApiRoutes()) routes.push_back(std::move(r));
  for (auto& r : p->faults->Routes()) routes.push_back(std::move(r));
  for (auto& r : module_routes) routes.push_back(std::move(r));

  // Issue 8: who may call what (src/security/policy.cpp), checked after routing by the gate;
  // privileged actions are audited.
  p->gate = std::make_unique<security::Gate>(std::move(*gate_options), clock);
  p->audit = std::make_unique<security::AuditTrail>(*p->store, clock);
  for (auto& r : security::SecurityRoutes(*p->gate, *p->audit)) routes.push_back(std::move(r));
  routes = security::AnnotateHealth(p->audit->Wrap(std::move(routes)), p->gate->enabled());
  for (const auto& r : routes) p->route_table.emplace_back(r.method, r.pattern);
  p->route_table.emplace_back("GET", "/ws");
  if (!p->gate->enabled()) {
    spdlog::warn(
        "*** AUTHENTICATION IS OFF: every caller is an admin. Development only, on {} "
        "(set SHOPFLOW_AUTH=on and SHOPFLOW_JWT_SECRET to turn it on) ***",
        settings.host);
  }

  HttpServerOptions http_options;
  http_options.host = settings.host;
  http_options.port = settings.port;
  http_options.threads = settings.http_threads;
  http_options.max_body_bytes = settings.max_body_bytes;
  http_options.read_timeout = settings.read_timeout;
  http_options.idle_timeout = settings.idle_timeout;
  http_options.max_connections = settings.max_connections;
  http_options.max_header_count = settings.max_header_count;
  security::Gate* gate = p->gate.get();
  http_options.guard = [gate](ApiRequest& request, std::string_view route) {
    return gate->Check(request, route);
  };
  monitor::SystemMetrics* metrics = p->metrics.get();
  http_options.on_request = [metrics](const HttpRequestRecord& r) {
    metrics->RecordHttpRequest(r.method, r.route, r.status, r.duration_seconds);
  };
  p->http = std::make_unique<HttpServer>(http_options, std::move(routes));
  p->http->AddWebSocket(*p->hub, "/ws");
  p->http->SetFallback(StaticFilesHandler());  // the dashboard at /
  p->settings = std::move(settings);
  return std::unique_ptr<Application>(new Application(std::move(p)));
}

Result<int> Application::Start() {
  auto& p = *parts_;
  if (p.started) return p.port;
  p.logger->Start();
  if (auto bus = p.bus->Start(); !bus) {
    // A broker that is away at start-up must not stop the API: orders are accepted into the
    // outbox, health says degraded, and the bus is started as soon as the broker answers.
    if (bus.error().code != ErrorCode::kUnavailable) return std::move(bus).error();
    spdlog::warn("event bus not started: {}; retrying in the background", bus.error().message);
    p.bus_starter = std::thread([&p] {
      SetThreadName("bus-starter");
      auto delay = std::chrono::milliseconds(200);
      std::unique_lock lock(p.bus_starter_mutex);
      while (!p.stopped_flag) {
        if (p.bus_starter_wake.wait_for(lock, delay, [&p] { return p.stopped_flag; })) break;
        lock.unlock();
        auto retried = p.bus->Start();
        lock.lock();
        if (retried) {
          spdlog::info("event bus started");
          break;
        }
        delay = std::min(delay * 2, std::chrono::milliseconds(10'000));
      }
    });
  }
  p.relay->Start();
  if (p.retention) p.retention->Start();
  if (p.payment_worker) {
    if (auto recovered = p.payment_worker->RecoverStalled(); !recovered) {
      spdlog::warn("payments: recovering stalled charges failed: {}", recovered.error().message);
    }
    p.payment_worker->Start();
  }
  if (p.notifications) {
    if (auto resent = p.notifications->RetryPending(); !resent) {
      spdlog::warn("notifications: resending pending ones failed: {}", resent.error().message);
    }
  }
  if (auto dlq = p.dlq->Start(); !dlq) {
    spdlog::warn("dead-letter manager: {}", dlq.error().message);
  }
  p.feed->Start();
  auto port = p.http->Start();
  if (!port) {
    if (p.payment_worker) p.payment_worker->Stop();
    if (p.retention) p.retention->Stop();
    p.relay->Stop();
    p.bus->Stop();
    return std::move(port).error();
  }
  p.port = *port;
  p.started = true;
  p.ready = true;
  return p.port;
}

void Application::Stop() {
  auto& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  p.ready = false;
  // Reverse of start: no new requests, then no new deliveries, then flush what was written.
  if (p.http) p.http->Stop();
  {
    std::lock_guard lock(p.bus_starter_mutex);
    p.stopped_flag = true;
  }
  p.bus_starter_wake.notify_all();
  if (p.bus_starter.joinable()) p.bus_starter.join();
  if (p.bus) p.bus->Stop();
  if (p.dlq) p.dlq->Stop();
  if (p.feed) p.feed->Stop();
  if (p.payment_worker) p.payment_worker->Stop();
  if (p.retention) p.retention->Stop();
  if (p.relay) p.relay->Stop();
  if (p.logger) p.logger->Stop();  // last: it writes out what the others produced
}

int Application::port() const { return parts_->port; }
EventBus& Application::bus() { return *parts_->bus; }
ObservedEventBus& Application::events() { return *parts_->events; }
Store& Application::store() { return *parts_->store; }
const std::vector<std::pair<std::string, std::string>>& Application::routes() const {
  return parts_->route_table;
}

}  // namespace shopflow
