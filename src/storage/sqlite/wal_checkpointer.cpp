#include "storage/sqlite/wal_checkpointer.hpp"

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/thread_name.hpp"

namespace shopflow::sqlite {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(WalCheckpointerOptions options) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(options.path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  DatabasePtr db(raw);  // a failed open still allocates a handle that must be closed
  if (rc != SQLITE_OK) {
    return UnavailableError("cannot open '" + options.path + "' to checkpoint it: " +
                            (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  // A checkpoint syncs the WAL before copying and the database file after, on the connection
  // that runs it: the same synchronous level as the writer's.
  const char* sync =
      options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  if (sqlite3_exec(db.get(), sync, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return UnavailableError("cannot configure the checkpointer of '" + options.path +
                            "': " + sqlite3_errmsg(db.get()));
  }
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(std::move(options), std::move(db)));
}

WalCheckpointer::WalCheckpointer(WalCheckpointerOptions options, DatabasePtr db)
    : options_(std::move(options)), db_(std::move(db)) {
  thread_ = std::thread([this] {
    SetThreadName(options_.thread_name);
    Loop();
  });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::Attach(sqlite3* writer) { sqlite3_wal_hook(writer, &Hook, this); }

void WalCheckpointer::Detach(sqlite3* writer) { sqlite3_wal_hook(writer, nullptr, nullptr); }

WalCheckpointer::Stats WalCheckpointer::stats() const {
  return Stats{background_.load(std::memory_order_relaxed),
               by_writer_.load(std::memory_order_relaxed)};
}

int WalCheckpointer::Hook(void* self, sqlite3* writer, const char* schema, int wal_pages) {
  static_cast<WalCheckpointer*>(self)->OnCommit(writer, schema, wal_pages);
  return SQLITE_OK;  // the commit itself succeeded whatever happens here
}

void WalCheckpointer::OnCommit(sqlite3* writer, const char* schema, int wal_pages) {
  if (wal_pages >= options_.limit_pages) {
    // A pass of the thread still running would make this one fail (SQLITE_BUSY) and let the
    // WAL grow by whatever is written meanwhile: wait for it, so the WAL stays within the limit
    // plus one commit. The wait is one pass at most, and the writer alone reaches this point.
    std::lock_guard pass(pass_mutex_);
    if (sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
        SQLITE_OK) {
      by_writer_.fetch_add(1, std::memory_order_relaxed);
    }
    last_wake_pages_ = 0;
    return;
  }
  if (wal_pages < last_wake_pages_) last_wake_pages_ = 0;  // the WAL started over
  if (wal_pages - last_wake_pages_ < options_.step_pages) return;
  last_wake_pages_ = wal_pages;
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  wake_.notify_one();
}

void WalCheckpointer::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || requested_; });
      if (stop_) return;
      requested_ = false;
    }
    int rc;
    {
      std::lock_guard pass(pass_mutex_);
      rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                     nullptr);
    }
    if (rc == SQLITE_OK) {
      background_.fetch_add(1, std::memory_order_relaxed);
    } else if (rc != SQLITE_BUSY) {
      // The writer's own pass at the limit still bounds the WAL; say why this one failed.
      spdlog::warn("checkpoint of {} failed: {}", options_.path, sqlite3_errmsg(db_.get()));
    }
  }
}

}  // namespace shopflow::sqlite
