#include "load_modes.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "bench_support.hpp"

namespace shopflow::bench {
namespace {

/// A tag unique to this run, so that its products and its customer's orders are its own even
/// on a server that already holds data.
std::string RunTag() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return std::to_string(getpid()) + "-" + std::to_string(ms);
}

std::optional<json::object> ParseObject(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string StringField(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t IntField(const json::object& obj, std::string_view key) {
  const auto* v = obj.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : -1;
}

/// Creates `count` products with stock that never runs out; their ids, or the error.
std::vector<std::string> CreateProducts(const Target& t, int count, const std::string& tag,
                                        std::string& error) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    json::object body{{"name", "Bench item " + std::to_string(i)},
                      {"sku", "BENCH-" + tag + "-" + std::to_string(i)},
                      {"price", 9.99},
                      {"stock", 1'000'000'000}};
    HttpReply r = BlockingRequest(t.host, t.port, http::verb::post, "/api/inventory/products",
                                  json::serialize(body));
    auto obj = ParseObject(r.body);
    if (r.status != 201 || !obj) {
      error = "creating a product: " + std::to_string(r.status) + " " + r.error + r.body;
      return {};
    }
    ids.push_back(StringField(*obj, "productId"));
  }
  return ids;
}

std::string OrderBody(const std::string& customer, const std::string& product,
                      const std::string& card) {
  return json::serialize(
      json::object{{"customerId", customer},
                   {"items", json::array{json::object{{"productId", product}, {"quantity", 1}}}},
                   {"paymentMethod", "credit_card"},
                   {"paymentDetails", json::object{{"cardNumber", card}}}});
}

/// Places one order and polls it until it leaves `pending` (set-up and warm-up only). With
/// modules in separate processes the orders module learns new products from events, so a
/// rejected order is retried for a while.
std::string PlaceAndSettle(const Target& t, const std::string& customer, const std::string& product,
                           const std::string& card, std::string& error) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
  std::string id;
  while (id.empty()) {
    HttpReply r = BlockingRequest(t.host, t.port, http::verb::post, "/api/orders",
                                  OrderBody(customer, product, card));
    if (r.status == 201) {
      if (auto obj = ParseObject(r.body)) id = StringField(*obj, "orderId");
    } else if (SteadyClock::now() > deadline) {
      error = "placing an order: " + std::to_string(r.status) + " " + r.error + r.body;
      return {};
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  while (SteadyClock::now() < deadline) {
    HttpReply r = BlockingRequest(t.host, t.port, http::verb::get, "/api/orders/" + id);
    auto obj = ParseObject(r.body);
    const std::string status = obj ? StringField(*obj, "status") : "";
    if (status == "paid") return id;
    if (!status.empty() && status != "pending") {
      error = "the warm-up order ended " + status + ": " + r.body;
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  error = "the warm-up order " + id + " was not paid within 30 s";
  return {};
}

/// The server's event counters (GET /api/stats), for messages per order.
struct EventCounts {
  bool ok = false;
  int64_t published = 0;
  int64_t consumed = 0;
};

EventCounts ReadEventCounts(const Target& t) {
  EventCounts c;
  HttpReply r = BlockingRequest(t.host, t.port, http::verb::get, "/api/stats");
  auto obj = ParseObject(r.body);
  if (r.status != 200 || !obj) return c;
  const auto* events = obj->if_contains("events");
  if (!events || !events->is_object()) return c;
  c.published = IntField(events->as_object(), "published");
  c.consumed = IntField(events->as_object(), "consumed");
  c.ok = c.published >= 0 && c.consumed >= 0;
  return c;
}

/// What is still to be done on the server: messages on its queues (GET /api/stats
/// queues.total_messages) and events not yet relayed (GET /api/health outbox.backlog, answered with
/// 503 too when the backlog is over its threshold).
struct Backlog {
  bool ok = false;
  int64_t queued = 0;
  int64_t outbox = 0;
  bool empty() const { return ok && queued == 0 && outbox == 0; }
};

Backlog ReadBacklog(const Target& t) {
  Backlog b;
  HttpReply stats = BlockingRequest(t.host, t.port, http::verb::get, "/api/stats");
  HttpReply health = BlockingRequest(t.host, t.port, http::verb::get, "/api/health");
  auto s = ParseObject(stats.body);
  auto h = ParseObject(health.body);
  if (stats.status != 200 || !s || !h) return b;
  const auto* queues = s->if_contains("queues");
  const auto* outbox = h->if_contains("outbox");
  if (!queues || !queues->is_object() || !outbox || !outbox->is_object()) return b;
  b.queued = IntField(queues->as_object(), "total_messages");
  // A backlog the server cannot tell (null) counts as empty: nothing to wait for.
  const auto* backlog = outbox->as_object().if_contains("backlog");
  b.outbox = backlog && backlog->is_int64() ? backlog->as_int64() : 0;
  b.ok = b.queued >= 0;
  return b;
}

/// `total` of GET /api/orders?customerId=..&status=.., or -1.
int64_t CountOrders(const Target& t, const std::string& customer, const std::string& status) {
  HttpReply r = BlockingRequest(t.host, t.port, http::verb::get,
                                "/api/orders?limit=1&customerId=" + customer + "&status=" + status);
  auto obj = ParseObject(r.body);
  return r.status == 200 && obj ? IntField(*obj, "total") : -1;
}

/// `v` to a multiple of `unit` (0.1, 0.01, ...); dividing by the integer 1/unit keeps the
/// shortest decimal form ("183.6", not "183.60000000000002").
double Round(double v, double unit) {
  const double scale = std::round(1.0 / unit);
  return std::round(v * scale) / scale;
}

/// Waits (polling every 100 ms, up to `timeout_s`) for the server's backlog to drain. Adds
/// `backlog_at_end`, `drain_s` (null when it did not drain in time) and
/// `settled_per_s_drained` (settled orders over the run plus the drain) to `report`.
void MeasureDrain(const Target& target, double timeout_s, json::object& report) {
  // The server refreshes queue depths at most once a second, so an empty reading is confirmed
  // by another one after that age; the drain ends at the first of the two.
  constexpr auto kCacheAge = std::chrono::milliseconds(1100);
  const auto start = SteadyClock::now();
  const Backlog at_end = ReadBacklog(target);
  if (!at_end.ok) return;
  report["backlog_at_end"] = json::object{{"queued", at_end.queued}, {"outbox", at_end.outbox}};
  std::optional<SteadyClock::time_point> empty_since;
  for (Backlog now = at_end;; now = ReadBacklog(target)) {
    const auto t = SteadyClock::now();
    if (!now.empty()) {
      empty_since.reset();
    } else if (!empty_since) {
      empty_since = t;
    } else if (t - *empty_since >= kCacheAge) {
      break;
    }
    if (SecondsBetween(start, t) >= timeout_s) {
      report["drain_s"] = nullptr;
      return;
    }
    std::this_thread::sleep_for(empty_since ? kCacheAge : std::chrono::milliseconds(100));
  }
  const double drain = SecondsBetween(start, *empty_since);
  report["drain_s"] = Round(drain, 0.01);
  const double seconds = report["seconds"].to_number<double>() + drain;
  report["settled_per_s_drained"] =
      Round(static_cast<double>(report["settled"].as_int64()) / std::max(1e-9, seconds), 0.1);
}

// ---------------------------------------------------------------------------------------------
// The orders run: workers post; the /ws stream (or a poller) learns settlements.
//
// Settlement detection, "ws" (default): the bench subscribes to the stream before the first
// order (only the frames of ORDER_CONFIRMED and ORDER_FAILED, `--ws-target`) and
// takes each `message_flow` frame of ORDER_CONFIRMED (published when an order becomes paid, after
// the commit) or ORDER_FAILED of this run's customer as that order's settlement, stamped when the
// frame is read. The hub drops clients that fall behind, and with modules in separate processes
// a process's stream may miss events, so a poller stays on as a safety net: one scan per
// second while the stream is up (orders it finds settled count as `settled_by_poll`), and scans
// at full speed once the stream has dropped.
//
// A scan lists this run's customer's *pending* orders
// (GET /api/orders?customerId=C&status=pending&limit=500). An order whose POST answer arrived
// before the scan was sent and that the scan no longer lists has settled; it is stamped with the
// moment the scan's answer arrived. When more than one page is pending (only under overload),
// paging is not one snapshot, so such orders are confirmed one by one with GET /api/orders/:id.
// The run's final counts come from the server (status=paid / status=failed totals).
class OrdersRun {
 public:
  OrdersRun(asio::io_context& io, Target target, OrdersOptions options,
            std::vector<std::string> products, std::string customer)
      : io_(io),
        target_(std::move(target)),
        options_(std::move(options)),
        products_(std::move(products)),
        customer_(std::move(customer)),
        wake_(io, SteadyClock::time_point::max()),
        poll_pause_(io) {}

  /// Subscribes to /ws (in "ws" mode), then starts the load.
  void Start() {
    auto begin = [this]() -> asio::awaitable<void> {
      if (options_.settle == "ws") co_await ConnectWs();
      Launch();
    };
    asio::co_spawn(io_, begin, asio::detached);
  }

  json::object Report() const {
    const double window = std::max(1e-9, SecondsBetween(start_, last_settled_));
    uint64_t requests = poll_connection_->requests();
    for (const auto& c : connections_) requests += c->requests();
    json::object errors;
    int64_t error_total = 0;
    for (const auto& [what, n] : post_errors_) {
      errors[what] = n;
      error_total += n;
    }
    error_total += timeouts_ + scan_errors_;
    const std::string detection = !ws_connected_  ? "poll"
                                  : ws_drops_ > 0 ? "ws, polling while the stream was down"
                                                  : "ws";
    json::object r{{"mode", "orders"},
                   {"loop", options_.rate > 0 ? "open" : "closed"},
                   {"concurrency", options_.rate > 0 ? 0 : options_.concurrency},
                   {"rate", options_.rate},
                   {"connections", options_.rate > 0 ? options_.connections : options_.concurrency},
                   {"products", options_.products},
                   {"started", launched_},
                   {"created", created_},
                   {"settled", settled_},
                   {"failed", failed_},
                   {"timeouts", timeouts_},
                   {"errors", error_total},
                   {"post_errors", std::move(errors)},
                   {"scan_errors", scan_errors_},
                   {"seconds", Round(window, 0.001)},
                   {"settled_per_s", Round(static_cast<double>(settled_) / window, 0.1)},
                   {"http_requests", requests},
                   {"http_per_s", Round(static_cast<double>(requests) / window, 0.1)},
                   {"latency_ms", ToJson(Summarize(latencies_))},
                   {"settlement_detection", detection},
                   {"ws_frames", ws_frames_},
                   {"ws_drops", ws_drops_},
                   {"settled_by_poll", settled_by_poll_},
                   {"scans", scans_},
                   {"scan_period_ms", ToJson(Summarize(scan_periods_))}};
    if (!ws_error_.empty()) r["ws_error"] = ws_error_;
    return r;
  }

 private:
  using WsStream = beast::websocket::stream<beast::tcp_stream>;
  static constexpr int64_t kMaxWsDrops = 20;  // then poll for the rest of the run

  void Launch() {
    start_ = SteadyClock::now();
    deadline_ = start_ + std::chrono::duration_cast<SteadyClock::duration>(
                             std::chrono::duration<double>(options_.duration_s));
    last_settled_ = start_;
    const bool open = options_.rate > 0;
    const int senders = open ? options_.connections : options_.concurrency;
    for (int i = 0; i < senders; ++i) {
      connections_.push_back(
          std::make_unique<HttpConnection>(io_.get_executor(), target_.host, target_.port));
    }
    active_senders_ = senders;
    for (int i = 0; i < senders; ++i) {
      auto sender = [this, i]() -> asio::awaitable<void> {
        if (options_.rate > 0) {
          co_await OpenSender(*connections_[i]);
        } else {
          co_await ClosedWorker(*connections_[i]);
        }
      };
      asio::co_spawn(io_, sender, asio::detached);
    }
    if (open) {
      auto scheduler = [this]() -> asio::awaitable<void> { co_await Schedule(); };
      asio::co_spawn(io_, scheduler, asio::detached);
    }
    poll_connection_ =
        std::make_unique<HttpConnection>(io_.get_executor(), target_.host, target_.port);
    auto poller = [this]() -> asio::awaitable<void> { co_await Poll(); };
    asio::co_spawn(io_, poller, asio::detached);
    if (ws_live_) {
      auto reader = [this]() -> asio::awaitable<void> { co_await ReadWs(); };
      asio::co_spawn(io_, reader, asio::detached);
    }
  }

  struct InFlight {
    SteadyClock::time_point started;     // POST sent (closed) or scheduled (open)
    SteadyClock::time_point registered;  // POST answer received
    std::shared_ptr<asio::steady_timer> waiter;
  };

  bool MayStart() const {
    if (options_.orders > 0 && launched_ >= options_.orders) return false;
    return SteadyClock::now() < deadline_;
  }

  /// Posts one order; on 201 it joins the in-flight set. Returns its id, or "".
  asio::awaitable<std::string> Post(HttpConnection& connection, SteadyClock::time_point started) {
    const std::string& product = products_[static_cast<size_t>(launched_) % products_.size()];
    ++launched_;
    HttpReply r = co_await connection.Request(http::verb::post, "/api/orders",
                                              OrderBody(customer_, product, options_.card));
    std::string id;
    if (r.status == 201) {
      if (auto obj = ParseObject(r.body)) id = StringField(*obj, "orderId");
    }
    if (id.empty()) {
      ++post_errors_[r.status == 0 ? "connection" : std::to_string(r.status)];
      if (r.status == 0) {  // don't spin on a dead server
        asio::steady_timer pause(io_, std::chrono::milliseconds(10));
        boost::system::error_code ec;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      co_return id;
    }
    ++created_;
    inflight_[id] = InFlight{started, SteadyClock::now(), nullptr};
    // The stream may announce the settlement before the POST answer is read.
    if (auto early = ws_seen_.find(id); early != ws_seen_.end()) {
      Settle(id, std::max(early->second.at, inflight_[id].registered), early->second.failed);
      ws_seen_.erase(early);
    }
    co_return id;
  }

  asio::awaitable<void> ClosedWorker(HttpConnection& connection) {
    while (MayStart()) {
      const std::string id = co_await Post(connection, SteadyClock::now());
      if (id.empty()) continue;
      auto it = inflight_.find(id);
      if (it == inflight_.end()) continue;  // settled already (cannot happen before a scan)
      auto waiter = std::make_shared<asio::steady_timer>(
          io_, std::chrono::duration_cast<SteadyClock::duration>(
                   std::chrono::duration<double>(options_.settle_timeout_s)));
      it->second.waiter = waiter;
      boost::system::error_code ec;
      co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {  // expired: the poller never saw it settle
        inflight_.erase(id);
        ++timeouts_;
      }
    }
    SenderDone();
  }

  asio::awaitable<void> Schedule() {
    const auto period = std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(1.0 / options_.rate));
    asio::steady_timer timer(io_);
    int64_t scheduled = 0;
    while (true) {
      const auto intended = start_ + period * scheduled;
      if (intended >= deadline_ || (options_.orders > 0 && scheduled >= options_.orders)) break;
      if (intended > SteadyClock::now()) {
        timer.expires_at(intended);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      arrivals_.push_back(intended);
      ++scheduled;
      wake_.cancel();
    }
    scheduling_done_ = true;
    wake_.cancel();
  }

  asio::awaitable<void> OpenSender(HttpConnection& connection) {
    while (true) {
      if (arrivals_.empty()) {
        if (scheduling_done_) break;
        boost::system::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      const auto intended = arrivals_.front();
      arrivals_.pop_front();
      co_await Post(connection, intended);
    }
    SenderDone();
  }

  /// Makes the poller scan (or notice the end of the run) without waiting out its interval.
  void WakePoller() {
    scan_now_ = true;
    poll_pause_.cancel();
  }

  void SenderDone() {
    if (--active_senders_ == 0) {
      senders_done_ = true;
      WakePoller();
      drain_deadline_ =
          SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(options_.settle_timeout_s));
    }
  }

  void Settle(const std::string& id, SteadyClock::time_point at, bool failed,
              bool by_poll = false) {
    auto it = inflight_.find(id);
    if (it == inflight_.end()) return;
    if (by_poll && ws_connected_) ++settled_by_poll_;
    if (failed) {
      ++failed_;
    } else {
      ++settled_;
      latencies_.push_back(MillisBetween(it->second.started, at));
    }
    last_settled_ = std::max(last_settled_, at);
    if (it->second.waiter) it->second.waiter->cancel();
    inflight_.erase(it);
    if (senders_done_ && inflight_.empty()) WakePoller();  // the run is over
  }

  asio::awaitable<void> Poll() {
    boost::system::error_code ec;
    std::optional<SteadyClock::time_point> previous;
    while (!(senders_done_ && inflight_.empty())) {
      const auto scan_start = SteadyClock::now();
      if (senders_done_ && scan_start > drain_deadline_) {
        timeouts_ += static_cast<int64_t>(inflight_.size());  // open loop leftovers
        inflight_.clear();
        break;
      }
      if (!inflight_.empty()) {
        if (previous && !ws_live_) scan_periods_.push_back(MillisBetween(*previous, scan_start));
        previous = scan_start;
        co_await Scan(scan_start);
      }
      ForgetOldSightings(scan_start);
      if (std::exchange(scan_now_, false)) continue;
      // WakePoller() cancels this wait (a dropped stream, the end of the run).
      poll_pause_.expires_at(
          scan_start + (ws_live_ ? std::chrono::microseconds(options_.sweep_interval_ms * 1000)
                                 : std::chrono::microseconds(options_.poll_interval_us)));
      co_await poll_pause_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    finished_ = true;
    if (ws_) beast::get_lowest_layer(*ws_).close();  // ends ReadWs
  }

  asio::awaitable<void> ConnectWs() {
    boost::system::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    ws_ = std::make_unique<WsStream>(io_.get_executor());
    asio::ip::tcp::resolver resolver(io_.get_executor());
    auto endpoints =
        co_await resolver.async_resolve(target_.host, std::to_string(target_.port), token);
    auto& tcp = beast::get_lowest_layer(*ws_);
    tcp.expires_after(std::chrono::seconds(10));
    if (!ec) co_await tcp.async_connect(endpoints, token);
    if (!ec) {
      tcp.expires_never();
      ws_->set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::client));
      co_await ws_->async_handshake(target_.host + ":" + std::to_string(target_.port),
                                    options_.ws_target, token);
    }
    if (ec) {
      ws_error_ = "cannot subscribe to /ws: " + ec.message();
      ws_.reset();
      co_return;
    }
    ws_live_ = ws_connected_ = true;
  }

  asio::awaitable<void> ReadWs() {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (ws_ && !finished_) {
      co_await ws_->async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        ++ws_frames_;
        OnFrame(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()),
                SteadyClock::now());
        buffer.consume(buffer.size());
        continue;
      }
      ws_live_ = false;
      if (finished_) break;
      // Dropped (the hub drops a client that falls behind, e.g. when this machine is busy): poll
      // at full speed, subscribe again, then scan once at once to cover the gap.
      ++ws_drops_;
      ws_error_ = "the /ws stream dropped: " + ec.message();
      buffer.consume(buffer.size());
      WakePoller();
      if (ws_drops_ > kMaxWsDrops) {
        ws_.reset();
        break;
      }
      co_await ConnectWs();
      if (ws_live_) WakePoller();  // one scan now covers the gap
    }
  }

  /// A frame of the stream: ORDER_CONFIRMED / ORDER_FAILED of this run's customer settles an
  /// order. Cheap substring checks first: most frames are other events.
  void OnFrame(std::string_view text, SteadyClock::time_point at) {
    const bool confirmed = text.find("\"ORDER_CONFIRMED\"") != std::string_view::npos;
    if (!confirmed && text.find("\"ORDER_FAILED\"") == std::string_view::npos) return;
    if (text.find(customer_) == std::string_view::npos) return;
    auto frame = ParseObject(std::string(text));
    if (!frame || StringField(*frame, "type") != "message_flow") return;
    const std::string type = StringField(*frame, "eventType");
    const auto* data = frame->if_contains("data");
    if ((type != "ORDER_CONFIRMED" && type != "ORDER_FAILED") || !data || !data->is_object()) {
      return;
    }
    if (StringField(data->as_object(), "customerId") != customer_) return;
    const std::string id = StringField(data->as_object(), "orderId");
    if (inflight_.contains(id)) {
      Settle(id, at, type == "ORDER_FAILED");
    } else if (!ws_seen_.contains(id)) {
      // Not (yet) registered: its POST answer may still be on the way. Settled orders are seen
      // again (consumed frames); ForgetOldSightings drops those.
      ws_seen_.emplace(id, Sighting{at, type == "ORDER_FAILED"});
    }
  }

  void ForgetOldSightings(SteadyClock::time_point now) {
    std::erase_if(ws_seen_, [&](const auto& entry) {
      return now - entry.second.at > std::chrono::seconds(10);
    });
  }

  asio::awaitable<void> Scan(SteadyClock::time_point scan_start) {
    ++scans_;
    std::unordered_set<std::string> pending;
    int64_t offset = 0;
    int64_t total = 0;
    int pages = 0;
    do {
      HttpReply r = co_await poll_connection_->Request(
          http::verb::get, "/api/orders?status=pending&limit=500&customerId=" + customer_ +
                               "&offset=" + std::to_string(offset));
      auto obj = r.status == 200 ? ParseObject(r.body) : std::nullopt;
      const auto* data = obj ? obj->if_contains("data") : nullptr;
      if (!data || !data->is_array()) {
        ++scan_errors_;
        co_return;
      }
      for (const auto& o : data->as_array()) {
        if (o.is_object()) pending.insert(StringField(o.as_object(), "orderId"));
      }
      total = IntField(*obj, "total");
      offset += static_cast<int64_t>(data->as_array().size());
      ++pages;
      if (data->as_array().empty()) break;
    } while (offset < total);
    const auto answered = SteadyClock::now();

    std::vector<std::string> gone;
    for (const auto& [id, f] : inflight_) {
      if (f.registered < scan_start && !pending.contains(id)) gone.push_back(id);
    }
    for (const auto& id : gone) {
      if (pages == 1) {
        Settle(id, answered, false, true);
        continue;
      }
      HttpReply r = co_await poll_connection_->Request(http::verb::get, "/api/orders/" + id);
      auto obj = r.status == 200 ? ParseObject(r.body) : std::nullopt;
      const std::string status = obj ? StringField(*obj, "status") : "";
      if (!status.empty() && status != "pending") {
        Settle(id, SteadyClock::now(), status != "paid", true);
      }
    }
  }

  asio::io_context& io_;
  const Target target_;
  const OrdersOptions options_;
  const std::vector<std::string> products_;
  const std::string customer_;

  std::vector<std::unique_ptr<HttpConnection>> connections_;
  std::unique_ptr<HttpConnection> poll_connection_;
  asio::steady_timer wake_;        // open loop: cancelled when arrivals are queued
  asio::steady_timer poll_pause_;  // between scans
  struct Sighting {
    SteadyClock::time_point at;
    bool failed = false;
  };
  std::unique_ptr<WsStream> ws_;
  bool ws_connected_ = false, ws_live_ = false, finished_ = false, scan_now_ = false;
  int64_t ws_frames_ = 0, ws_drops_ = 0, settled_by_poll_ = 0;
  std::string ws_error_;
  std::unordered_map<std::string, Sighting> ws_seen_;
  std::deque<SteadyClock::time_point> arrivals_;
  bool scheduling_done_ = false;
  int active_senders_ = 0;
  bool senders_done_ = false;

  SteadyClock::time_point start_{}, deadline_{}, drain_deadline_{}, last_settled_{};
  std::unordered_map<std::string, InFlight> inflight_;
  int64_t launched_ = 0, created_ = 0, settled_ = 0, failed_ = 0, timeouts_ = 0;
  int64_t scans_ = 0, scan_errors_ = 0;
  std::map<std::string, int64_t> post_errors_;
  std::vector<double> latencies_;
  std::vector<double> scan_periods_;
};

}  // namespace

json::object RunOrders(const Target& target, const OrdersOptions& options) {
  const std::string tag = RunTag();
  std::string error;
  auto products = CreateProducts(target, std::max(1, options.products), tag, error);
  if (products.empty()) return {{"mode", "orders"}, {"error", error}};
  if (PlaceAndSettle(target, "bench-warmup-" + tag, products[0], options.card, error).empty()) {
    return {{"mode", "orders"}, {"error", error}};
  }

  const std::string customer = "bench-" + tag;
  const EventCounts before = ReadEventCounts(target);
  asio::io_context io(1);
  OrdersRun run(io, target, options, std::move(products), customer);
  run.Start();
  io.run();
  json::object report = run.Report();
  if (options.drain_timeout_s > 0) MeasureDrain(target, options.drain_timeout_s, report);
  const EventCounts after = ReadEventCounts(target);

  // The server's own view of this run's orders (the client only saw "no longer pending").
  const int64_t paid = CountOrders(target, customer, "paid");
  const int64_t failed = CountOrders(target, customer, "failed");
  report["server_paid"] = paid;
  report["server_failed"] = failed;
  const int64_t settled = report["settled"].as_int64();
  if (paid >= 0 && paid < settled) {
    // Orders counted as settled that the server does not hold as paid are errors.
    report["settled_not_paid"] = settled - paid;
    report["errors"] = report["errors"].as_int64() + std::max<int64_t>(0, settled - paid);
  }
  if (before.ok && after.ok && settled > 0) {
    const double n = static_cast<double>(settled);
    report["messages_per_order"] = json::object{
        {"published", Round(static_cast<double>(after.published - before.published) / n, 0.01)},
        {"consumed", Round(static_cast<double>(after.consumed - before.consumed) / n, 0.01)}};
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// get mode

json::object RunGet(const Target& target, const GetOptions& options) {
  const std::string tag = RunTag();
  std::string error;
  auto products = CreateProducts(target, 1, tag, error);
  const std::string id = products.empty() ? std::string()
                                          : PlaceAndSettle(target, "bench-get-" + tag, products[0],
                                                           "4111111111111111", error);
  if (id.empty()) return {{"mode", "get"}, {"error", error}};
  const std::string path = "/api/orders/" + id;

  const int threads = std::max(1, options.threads);
  std::mutex merge_mutex;
  std::vector<double> latencies;
  int64_t ok = 0, errors = 0;
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                                    std::chrono::duration<double>(options.duration_s));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const int mine = options.connections / threads + (t < options.connections % threads ? 1 : 0);
    pool.emplace_back([&, mine] {
      asio::io_context io(1);
      std::vector<double> my_latencies;
      int64_t my_ok = 0, my_errors = 0;
      std::vector<std::unique_ptr<HttpConnection>> conns;
      for (int c = 0; c < mine; ++c) {
        conns.push_back(
            std::make_unique<HttpConnection>(io.get_executor(), target.host, target.port));
        auto reader = [&, conn = conns.back().get()]() -> asio::awaitable<void> {
          while (SteadyClock::now() < deadline) {
            const auto sent = SteadyClock::now();
            HttpReply r = co_await conn->Request(http::verb::get, path);
            if (r.status == 200) {
              ++my_ok;
              my_latencies.push_back(MillisBetween(sent, SteadyClock::now()));
            } else {
              ++my_errors;
            }
          }
        };
        asio::co_spawn(io, reader, asio::detached);
      }
      io.run();
      std::lock_guard lock(merge_mutex);
      ok += my_ok;
      errors += my_errors;
      latencies.insert(latencies.end(), my_latencies.begin(), my_latencies.end());
    });
  }
  for (auto& t : pool) t.join();
  const double seconds = SecondsBetween(start, SteadyClock::now());
  return {{"mode", "get"},
          {"connections", options.connections},
          {"threads", threads},
          {"seconds", Round(seconds, 0.001)},
          {"requests", ok},
          {"errors", errors},
          {"requests_per_s", Round(static_cast<double>(ok) / seconds, 0.1)},
          {"latency_ms", ToJson(Summarize(std::move(latencies)))}};
}

}  // namespace shopflow::bench
