#pragma once

#include <cstdint>

// A SQLite VFS that writes each transaction's WAL frames with one system call instead of two
// per page. Include only where <sqlite3.h> is (this directory).

namespace shopflow::sqlite {

/// The name of a VFS that is the default one (unix) except for WAL files: their writes are
/// gathered in memory and written together when the transaction's commit frame has been
/// written (before SQLite makes the commit visible to other connections or returns from the
/// commit), before any other operation on the file (read, sync, truncate, size, close, file
/// control) and when a write does not continue the gathered ones or they reach 4 MiB. SQLite
/// writes a frame as two writes (its 24-byte header, then the page), so a commit of n pages
/// costs one write instead of 2n; what reaches the file, and when it is visible and durable,
/// is unchanged. Registered on the first call (thread-safe); pass it to sqlite3_open_v2. Null
/// (SQLite's default VFS) if it cannot be registered, which is logged.
const char* WalWriteBufferVfs();

/// Process-wide counters of WAL files opened through the VFS.
struct WalWriteStats {
  uint64_t writes_asked = 0;    // writes SQLite asked for
  uint64_t writes_issued = 0;   // writes made to the file
  uint64_t commit_flushes = 0;  // of those, made because a commit frame was complete
};
WalWriteStats WalWriteStatsNow();

}  // namespace shopflow::sqlite
