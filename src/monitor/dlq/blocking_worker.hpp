#pragma once

#include <boost/asio/awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "core/result.hpp"

namespace shopflow::monitor {

/// One thread of its own that runs blocking work in FIFO order: EventBus::SendToQueue (which
/// blocks on publisher confirms with the AMQP transport) and alert callbacks, so that neither
/// runs on an HTTP I/O thread or a bus consumer thread.
///
/// Thread-safe. Stop() (or destruction) runs every job already queued, then joins the thread;
/// jobs posted afterwards are refused. Jobs must not call Stop() or Drain().
class BlockingWorker {
 public:
  BlockingWorker();
  /// Calls Stop().
  ~BlockingWorker();

  BlockingWorker(const BlockingWorker&) = delete;
  BlockingWorker& operator=(const BlockingWorker&) = delete;

  /// Queues `job`; false (and `job` is destroyed unrun, on the caller's thread) after Stop().
  /// A job that throws is logged and forgotten.
  bool Post(std::function<void()> job);

  /// Runs `job` on the worker and resumes the awaiting coroutine on its own executor with the
  /// result, like storage/await.hpp: the worker only posts a timer expiry to that executor and
  /// never touches or destroys an Asio handler. An exception from `job` becomes kInternal;
  /// after Stop(), kUnavailable without running it. Await it from an executor that serializes
  /// its handlers (a strand, or an io_context run by one thread), and keep that executor's
  /// io_context alive until Stop() returned (the worker's post() may still be returning when
  /// the coroutine has resumed).
  boost::asio::awaitable<Result<void>> Run(std::function<Result<void>()> job);

  /// Blocks until every job posted before the call has run; returns at once after Stop().
  void Drain();

  /// Runs the queued jobs, then joins the thread. Idempotent.
  void Stop();

 private:
  void Loop();

  std::mutex stop_mutex_;  // serializes Stop(); never taken by the worker
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace shopflow::monitor
