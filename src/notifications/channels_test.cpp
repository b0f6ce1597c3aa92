// The real channels against tiny in-test servers on 127.0.0.1 (port 0): an SMTP server that
// speaks just enough of RFC 5321 for libcurl, and an HTTP server for the webhooks.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "notifications/email_channel.hpp"
#include "notifications/template_renderer.hpp"
#include "notifications/webhook_channel.hpp"

namespace shopflow::notifications {
namespace {

using namespace std::chrono_literals;

/// A connected socket with buffered line and byte reads. Reads give up after 10 s of silence so
/// a misbehaving client cannot hang the test.
class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection() { ::close(fd_); }

  bool ReadLine(std::string& line) {
    for (;;) {
      if (auto end = buffer_.find("\r\n"); end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return true;
      }
      if (!Fill()) return false;
    }
  }
  bool ReadBytes(size_t n, std::string& out) {
    while (buffer_.size() < n) {
      if (!Fill()) return false;
    }
    out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return true;
  }
  void Write(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

 private:
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  const int fd_;
  std::string buffer_;
};

/// Listens on 127.0.0.1:0 and serves each connection with `serve` on one thread.
class TestServer {
 public:
  explicit TestServer(std::function<void(Connection&)> serve) : serve_(std::move(serve)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  void Run() {
    while (!stop_) {
      // Short poll slices only so that the destructor can end the loop; no test waits on them.
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Connection connection(fd);
      serve_(connection);
    }
  }

  std::function<void(Connection&)> serve_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// What the SMTP server was told.
struct SmtpRecord {
  std::string mail_from;
  std::vector<std::string> rcpt_to;
  std::string data;  // the message with CRLF line ends, dot-stuffing undone
  int messages = 0;
};

class SmtpServer {
 public:
  explicit SmtpServer(bool reject_recipients = false)
      : reject_recipients_(reject_recipients), server_([this](Connection& c) { Serve(c); }) {}
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(server_.port()); }
  SmtpRecord record() const {
    std::lock_guard lock(mutex_);
    return record_;
  }

 private:
  void Serve(Connection& c) {
    c.Write("220 test.local ESMTP\r\n");
    std::string line;
    while (c.ReadLine(line)) {
      const std::string verb = line.substr(0, 4);
      if (verb == "EHLO" || verb == "HELO") {
        c.Write("250 test.local\r\n");
      } else if (verb == "MAIL") {
        std::lock_guard lock(mutex_);
        record_.mail_from = line;
        c.Write("250 OK\r\n");
      } else if (verb == "RCPT") {
        std::lock_guard lock(mutex_);
        record_.rcpt_to.push_back(line);
        c.Write(reject_recipients_ ? "550 no such user\r\n" : "250 OK\r\n");
      } else if (verb == "DATA") {
        c.Write("354 end with <CRLF>.<CRLF>\r\n");
        std::string data;
        while (c.ReadLine(line) && line != ".") {
          if (line.rfind("..", 0) == 0) line.erase(0, 1);
          data += line + "\r\n";
        }
        {
          std::lock_guard lock(mutex_);
          record_.data = data;
          ++record_.messages;
        }
        c.Write("250 queued\r\n");
      } else if (verb == "QUIT") {
        c.Write("221 bye\r\n");
        return;
      } else if (verb == "RSET" || verb == "NOOP") {
        c.Write("250 OK\r\n");
      } else {
        c.Write("502 not implemented\r\n");
      }
    }
  }

  const bool reject_recipients_;
  mutable std::mutex mutex_;
  SmtpRecord record_;
  TestServer server_;  // last: its thread starts once the rest exists
};

struct HttpRecord {
  std::string request_line;
  std::string content_type;
  std::string body;
  bool expect_continue = false;
  int requests = 0;
};

class HttpServer {
 public:
  explicit HttpServer(int status) : status_(status), server_([this](Connection& c) { Serve(c); }) {}
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/hooks/notify";
  }
  HttpRecord record() const {
    std::lock_guard lock(mutex_);
    return record_;
  }

 private:
  void Serve(Connection& c) {
    HttpRecord r;
    std::string line;
    if (!c.ReadLine(r.request_line)) return;
    size_t length = 0;
    bool expect_continue = false;
    while (c.ReadLine(line) && !line.empty()) {
      std::string lower = line;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.rfind("content-length:", 0) == 0) length = std::stoul(line.substr(15));
      if (lower.rfind("content-type:", 0) == 0) r.content_type = line.substr(14);
      if (lower.rfind("expect: 100-continue", 0) == 0) expect_continue = true;
    }
    r.expect_continue = expect_continue;
    if (expect_continue) c.Write("HTTP/1.1 100 Continue\r\n\r\n");
    if (!c.ReadBytes(length, r.body)) return;
    {
      std::lock_guard lock(mutex_);
      r.requests = record_.requests + 1;
      record_ = r;
    }
    c.Write("HTTP/1.1 " + std::to_string(status_) +
            " Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  }

  const int status_;
  mutable std::mutex mutex_;
  HttpRecord record_;
  TestServer server_;
};

std::string DecodeQuotedPrintable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
    } else if (text.substr(i + 1, 2) == "\r\n") {
      i += 2;  // soft line break
    } else {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

std::string Normalized(std::string text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

OutgoingMessage Email(std::string to, std::string subject, std::string html) {
  OutgoingMessage m;
  m.notification_id = "01JTESTNOTIFICATION0000000";
  m.type = NotificationType::kEmail;
  m.recipient = std::move(to);
  m.subject = std::move(subject);
  m.content = std::move(html);
  return m;
}

TEST(EmailChannel, DeliversTheRenderedHtmlOverSmtp) {
  SmtpServer smtp;
  TemplateRenderer renderer;
  auto rendered = renderer.Render(
      templates::kOrderConfirmation,
      json::object{
          {"orderId", "01JORDER"},
          {"customerId", "<b>ana</b>"},
          {"items",
           json::array{
               json::object{{"productId", "p1"}, {"quantity", 2}, {"price", 5}, {"total", 10}}}},
          {"totalAmount", 10}});
  ASSERT_TRUE(rendered.ok());
  EmailChannel channel({smtp.url(), "Shop <shop@example.com>", 2000ms, 5000ms});
  auto sent = channel.Send(Email("ana@example.com", rendered->subject, rendered->html));
  ASSERT_TRUE(sent.ok()) << sent.error().message;

  const SmtpRecord r = smtp.record();
  EXPECT_EQ(r.messages, 1);
  EXPECT_EQ(r.mail_from, "MAIL FROM:<shop@example.com>");
  ASSERT_EQ(r.rcpt_to.size(), 1u);
  EXPECT_EQ(r.rcpt_to[0], "RCPT TO:<ana@example.com>");
  const size_t split = r.data.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos);
  const std::string headers = r.data.substr(0, split + 2);
  EXPECT_NE(headers.find("From: Shop <shop@example.com>\r\n"), std::string::npos);
  EXPECT_NE(headers.find("To: ana@example.com\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Subject: We received your order 01JORDER\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Content-Type: text/html; charset=UTF-8\r\n"), std::string::npos);
  EXPECT_NE(headers.find("Message-ID: <01JTESTNOTIFICATION0000000@shopflow>\r\n"),
            std::string::npos);
  const std::string body = DecodeQuotedPrintable(r.data.substr(split + 4));
  EXPECT_EQ(Normalized(body), Normalized(rendered->html + "\n"));
  EXPECT_NE(body.find("&lt;b&gt;ana&lt;/b&gt;"), std::string::npos);
}

TEST(EmailChannel, RecordsOnlyWithoutAnSmtpUrl) {
  EmailChannel channel({"", "shop@example.com", 2000ms, 5000ms});
  EXPECT_TRUE(channel.RecordsOnly());
  EXPECT_TRUE(channel.Send(Email("customer-42", "s", "<p>x</p>")).ok());
  SmtpServer smtp;
  EXPECT_FALSE(EmailChannel({smtp.url(), "shop@example.com", 2000ms, 5000ms}).RecordsOnly());
}

TEST(EmailChannel, RefusesRecipientsThatCouldInjectSmtpCommands) {
  SmtpServer smtp;
  EmailChannel channel({smtp.url(), "shop@example.com", 2000ms, 5000ms});
  auto sent = channel.Send(Email("a@b>\r\nRCPT TO:<evil@x", "s", "x"));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(smtp.record().messages, 0);
}

TEST(EmailChannel, ARefusedRecipientIsAFailure) {
  SmtpServer smtp(/*reject_recipients=*/true);
  EmailChannel channel({smtp.url(), "shop@example.com", 2000ms, 5000ms});
  auto sent = channel.Send(Email("nobody@example.com", "s", "x"));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(smtp.record().messages, 0);
}

TEST(EmailChannel, AnUnreachableServerIsAFailure) {
  // A port that was just free: nothing listens there.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  EmailChannel channel(
      {"smtp://127.0.0.1:" + std::to_string(port), "shop@example.com", 2000ms, 5000ms});
  auto sent = channel.Send(Email("ana@example.com", "s", "x"));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
}

TEST(EmailChannel, ASilentServerTimesOut) {
  std::atomic<bool> release{false};
  TestServer silent([&](Connection& c) {
    std::string line;
    while (!release && c.ReadLine(line)) {
    }
  });
  EmailChannel channel(
      {"smtp://127.0.0.1:" + std::to_string(silent.port()), "shop@example.com", 1000ms, 300ms});
  const auto started = std::chrono::steady_clock::now();
  auto sent = channel.Send(Email("ana@example.com", "s", "x"));
  release = true;
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(SmsChannel, PostsJsonToTheWebhook) {
  HttpServer hook(200);
  SmsChannel channel({hook.url(), 2000ms, 5000ms});
  EXPECT_FALSE(channel.RecordsOnly());
  OutgoingMessage m;
  m.notification_id = "n1";
  m.type = NotificationType::kSms;
  m.recipient = "+5511999990000";
  // Over 1 KiB, where libcurl 7.x would otherwise wait for "100 Continue".
  m.content = "Seu pedido \"42\" chegou" + std::string(1500, '.');
  ASSERT_TRUE(channel.Send(m).ok());
  const HttpRecord r = hook.record();
  EXPECT_EQ(r.requests, 1);
  EXPECT_FALSE(r.expect_continue);
  EXPECT_EQ(r.request_line, "POST /hooks/notify HTTP/1.1");
  EXPECT_EQ(r.content_type, "application/json");
  auto body = ParseJson(r.body);
  ASSERT_TRUE(body.ok()) << r.body;
  EXPECT_EQ(
      body->as_object(),
      (json::object{{"notificationId", "n1"}, {"to", "+5511999990000"}, {"message", m.content}}));
}

TEST(PushChannel, PostsTitleBodyAndDataAndTreatsNon2xxAsFailure) {
  HttpServer hook(500);
  PushChannel channel({hook.url(), 2000ms, 5000ms});
  EXPECT_FALSE(channel.RecordsOnly());
  OutgoingMessage m;
  m.notification_id = "n2";
  m.type = NotificationType::kPush;
  m.recipient = "device-1";
  m.subject = "Shipped";
  m.content = "Your order is on its way";
  m.data = {{"orderId", "o1"}};
  auto sent = channel.Send(m);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(sent.error().message.find("HTTP 500"), std::string::npos) << sent.error().message;
  auto body = ParseJson(hook.record().body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->as_object(), (json::object{{"notificationId", "n2"},
                                             {"to", "device-1"},
                                             {"title", "Shipped"},
                                             {"body", "Your order is on its way"},
                                             {"data", json::object{{"orderId", "o1"}}}}));
}

TEST(Channels, WithoutUrlsEveryChannelRecordsOnly) {
  NotificationsOptions options;  // no SMTP, no webhooks
  NotificationChannels channels = MakeChannels(options);
  EXPECT_TRUE(channels.email->RecordsOnly());
  EXPECT_TRUE(channels.sms->RecordsOnly());
  EXPECT_TRUE(channels.push->RecordsOnly());
  OutgoingMessage m = Email("customer-1", "s", "x");
  EXPECT_TRUE(channels.email->Send(m).ok());
  m.type = NotificationType::kSms;
  EXPECT_TRUE(channels.sms->Send(m).ok());
  m.type = NotificationType::kPush;
  EXPECT_TRUE(channels.push->Send(m).ok());
}

}  // namespace
}  // namespace shopflow::notifications
