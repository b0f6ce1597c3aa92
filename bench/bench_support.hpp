#pragma once

// What every mode of shopflow-bench shares: an async keep-alive HTTP client on Beast, latency
// summaries, the server process (spawned or attached) and its /proc figures.

#include <sys/types.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace shopflow::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

double SecondsBetween(SteadyClock::time_point from, SteadyClock::time_point to);
double MillisBetween(SteadyClock::time_point from, SteadyClock::time_point to);

/// One answer; status 0 means the request failed below HTTP (connect, send, receive, timeout)
/// and `error` says why.
struct HttpReply {
  int status = 0;
  std::string body;
  std::string error;
};

/// One keep-alive HTTP/1.1 connection driven by coroutines on one executor. Not thread-safe:
/// one request at a time, from one strand. It reconnects on demand and retries a request once
/// on a fresh connection when a reused one turns out dead (the usual keep-alive race).
class HttpConnection {
 public:
  HttpConnection(asio::any_io_executor executor, std::string host, uint16_t port);

  asio::awaitable<HttpReply> Request(http::verb verb, std::string target, std::string body = {});
  uint64_t requests() const { return requests_; }

 private:
  asio::awaitable<HttpReply> Attempt(http::verb verb, const std::string& target,
                                     const std::string& body);

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string host_;
  uint16_t port_;
  bool connected_ = false;
  uint64_t requests_ = 0;
};

/// `value` as one line of JSON, numbers in plain decimal ("114.2", not Boost's "1.142E2"), so
/// that the line reads well in a terminal too.
std::string JsonLine(const json::value& value);

/// Latency percentiles in milliseconds (nearest-rank).
struct LatencySummary {
  size_t count = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0, mean = 0;
};
LatencySummary Summarize(std::vector<double> millis);
json::object ToJson(const LatencySummary& s);

/// A point-in-time reading of /proc/<pid>/stat and /proc/<pid>/status.
struct ProcessSample {
  bool ok = false;
  double cpu_seconds = 0;  // utime + stime
  double vm_hwm_mb = 0;    // peak resident set size
  double vm_rss_mb = 0;
};
ProcessSample SampleProcess(pid_t pid);
/// This process's own CPU time (user + system), to show what the load generator costs.
double SelfCpuSeconds();

/// A shopflow server started by the bench (`--spawn`): its stdout is read until the
/// "listening on ...:PORT" line, then drained on a thread (shown with `echo`). Environment is
/// inherited. Stop() sends SIGTERM and waits (SIGKILL after 10 s).
class SpawnedServer {
 public:
  SpawnedServer() = default;
  ~SpawnedServer();
  SpawnedServer(const SpawnedServer&) = delete;
  SpawnedServer& operator=(const SpawnedServer&) = delete;

  /// Starts `binary args...`; fails (with `error`) when it exits or prints no port in 30 s.
  bool Start(const std::string& binary, const std::vector<std::string>& args, bool echo,
             std::string& error);
  /// Polls GET /readyz every millisecond until it answers 200 "ready"; returns the time from
  /// spawn to that answer in ms, or nullopt after 30 s.
  std::optional<double> WaitReady();
  void Stop();

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int out_fd_ = -1;
  SteadyClock::time_point spawned_at_{};
  std::thread drain_;
};

/// Blocking GET/POST helpers for set-up steps, on a private io_context.
HttpReply BlockingRequest(const std::string& host, uint16_t port, http::verb verb,
                          std::string target, std::string body = {});

}  // namespace shopflow::bench
