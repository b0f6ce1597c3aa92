#include "bench_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <numeric>
#include <regex>
#include <sstream>

namespace shopflow::bench {

double SecondsBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double MillisBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// ---------------------------------------------------------------------------------------------
// HttpConnection

HttpConnection::HttpConnection(asio::any_io_executor executor, std::string host, uint16_t port)
    : stream_(std::move(executor)), host_(std::move(host)), port_(port) {}

asio::awaitable<HttpReply> HttpConnection::Request(http::verb verb, std::string target,
                                                   std::string body) {
  ++requests_;
  const bool reused = connected_;
  HttpReply reply = co_await Attempt(verb, target, body);
  // A keep-alive connection the server closed while idle fails at once: retry it fresh.
  if (reply.status == 0 && reused) reply = co_await Attempt(verb, target, body);
  co_return reply;
}

asio::awaitable<HttpReply> HttpConnection::Attempt(http::verb verb, const std::string& target,
                                                   const std::string& body) {
  HttpReply reply;
  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  stream_.expires_after(std::chrono::seconds(30));
  if (!connected_) {
    stream_.close();
    buffer_.clear();
    asio::ip::tcp::resolver resolver(stream_.get_executor());
    auto endpoints = co_await resolver.async_resolve(host_, std::to_string(port_), token);
    if (!ec) co_await stream_.async_connect(endpoints, token);
    if (ec) {
      reply.error = "connect: " + ec.message();
      co_return reply;
    }
    stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    connected_ = true;
  }
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host_);
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  co_await http::async_write(stream_, req, token);
  http::response<http::string_body> res;
  if (!ec) co_await http::async_read(stream_, buffer_, res, token);
  if (ec) {
    connected_ = false;
    reply.error = ec.message();
    co_return reply;
  }
  if (!res.keep_alive()) connected_ = false;
  reply.status = static_cast<int>(res.result_int());
  reply.body = std::move(res.body());
  co_return reply;
}

HttpReply BlockingRequest(const std::string& host, uint16_t port, http::verb verb,
                          std::string target, std::string body) {
  asio::io_context io;
  HttpConnection connection(io.get_executor(), host, port);
  HttpReply reply;
  auto run = [&]() -> asio::awaitable<void> {
    reply = co_await connection.Request(verb, std::move(target), std::move(body));
  };
  asio::co_spawn(io, run, asio::detached);
  io.run();
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Output

std::string JsonLine(const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_: {
      const double d = value.as_double();
      if (!std::isfinite(d)) return "null";
      char buf[32];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      return ec == std::errc() ? std::string(buf, end) : "null";
    }
    case json::kind::array: {
      std::string out = "[";
      for (const auto& v : value.as_array()) out += (out.size() > 1 ? "," : "") + JsonLine(v);
      return out + "]";
    }
    case json::kind::object: {
      std::string out = "{";
      for (const auto& [k, v] : value.as_object()) {
        if (out.size() > 1) out += ",";
        out += json::serialize(json::string_view(k)) + ":" + JsonLine(v);
      }
      return out + "}";
    }
    default:
      return json::serialize(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Latency summaries

LatencySummary Summarize(std::vector<double> millis) {
  LatencySummary s;
  s.count = millis.size();
  if (millis.empty()) return s;
  std::sort(millis.begin(), millis.end());
  const auto rank = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(millis.size())));
    return millis[std::min(millis.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.p50 = rank(0.50);
  s.p95 = rank(0.95);
  s.p99 = rank(0.99);
  s.max = millis.back();
  s.mean = std::accumulate(millis.begin(), millis.end(), 0.0) / static_cast<double>(s.count);
  return s;
}

json::object ToJson(const LatencySummary& s) {
  const auto round3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  return {{"count", s.count},     {"p50", round3(s.p50)}, {"p95", round3(s.p95)},
          {"p99", round3(s.p99)}, {"max", round3(s.max)}, {"mean", round3(s.mean)}};
}

// ---------------------------------------------------------------------------------------------
// /proc

ProcessSample SampleProcess(pid_t pid) {
  ProcessSample sample;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return sample;
  // The command name (field 2) may contain spaces: the fields after it start past the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return sample;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  // rest starts at field 3 (state); utime and stime are fields 14 and 15.
  if (fields.size() < 13) return sample;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;

  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    const auto kb = [&] { return std::stod(line.substr(line.find(':') + 1)) / 1024.0; };
    if (line.rfind("VmHWM:", 0) == 0) sample.vm_hwm_mb = kb();
    if (line.rfind("VmRSS:", 0) == 0) sample.vm_rss_mb = kb();
  }
  sample.ok = true;
  return sample;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---------------------------------------------------------------------------------------------
// SpawnedServer

SpawnedServer::~SpawnedServer() { Stop(); }

bool SpawnedServer::Start(const std::string& binary, const std::vector<std::string>& args,
                          bool echo, std::string& error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> argv_storage{binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  spawned_at_ = SteadyClock::now();
  pid_ = fork();
  if (pid_ < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid_ == 0) {
    dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    execv(binary.c_str(), argv.data());
    std::fprintf(stderr, "exec %s: %s\n", binary.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  out_fd_ = fds[0];

  // Both the HTTP server's log line ("http: listening on 127.0.0.1:PORT") and main's banner
  // ("listening on http://127.0.0.1:PORT") carry the port; the first one seen wins.
  const std::regex listening(R"(listening on (?:http://)?[^\s]*:(\d+))");
  std::string pending;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
  while (port_ == 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd p{out_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      error = "the server printed no \"listening on\" line within 30 s";
      Stop();
      return false;
    }
    char chunk[4096];
    const ssize_t n = read(out_fd_, chunk, sizeof chunk);
    if (n <= 0) {
      error = "the server exited before listening";
      Stop();
      return false;
    }
    if (echo) std::cerr.write(chunk, n);
    pending.append(chunk, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(pending, m, listening)) port_ = static_cast<uint16_t>(std::stoi(m[1]));
  }
  // Keep reading so that the server never blocks on a full pipe.
  drain_ = std::thread([fd = out_fd_, echo] {
    char chunk[4096];
    for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;) {
      if (echo) std::cerr.write(chunk, n);
    }
  });
  return true;
}

std::optional<double> SpawnedServer::WaitReady() {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
  while (SteadyClock::now() < deadline) {
    HttpReply r = BlockingRequest("127.0.0.1", port_, http::verb::get, "/readyz");
    if (r.status == 200 && r.body.find("ready") != std::string::npos) {
      return MillisBetween(spawned_at_, SteadyClock::now());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

void SpawnedServer::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (SteadyClock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();  // the pipe reaches EOF once the server is gone
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
}

}  // namespace shopflow::bench
