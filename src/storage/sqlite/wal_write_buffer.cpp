#include "storage/sqlite/wal_write_buffer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <new>
#include <string>

// Why: on a paravirtualized machine a system call costs several microseconds, and SQLite writes
// every WAL frame as two pwrite calls (header, page). Under load the event log's writer spent two
// thirds of its time in those calls (perf, c32): ~30 frames per order, ~270 per commit.
//
// Correctness rests on the WAL format (https://sqlite.org/fileformat2.html#walformat) and on
// the order in which SQLite commits: every frame of a transaction is written, the commit frame
// last (its header's bytes 4-7 hold the database size, zero in other frames), and only then does
// SQLite sync (if asked), update the WAL index that other connections read and return. Flushing
// once the commit frame's page is in the buffer therefore puts every committed byte in the file
// at the same point as before (a transaction that spilled also rewrites frame headers after its
// commit frame: see Write). Frames of a transaction not yet committed (a cache spill) may
// wait in the buffer: no other connection reads frames beyond the last commit, and this
// connection's own reads flush first.

namespace shopflow::sqlite {
namespace {

constexpr size_t kMaxPending = 4u << 20;
// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length with 0x1ffff, as
// SQLite itself never asks for more): larger buffers go out in pieces of this size.
constexpr size_t kMaxWrite = 124u << 10;
constexpr int kFrameHeaderBytes = 24;

std::atomic<uint64_t> g_writes_asked{0};
std::atomic<uint64_t> g_writes_issued{0};
std::atomic<uint64_t> g_commit_flushes{0};

struct Pending {
  sqlite3_file* real = nullptr;  // the default VFS's file, right after the WalFile header
  std::string bytes;
  sqlite3_int64 offset = 0;       // of bytes[0]
  bool flush_after_next = false;  // the last write was a commit frame's header: flush the next
};

// SQLite allocates szOsFile bytes for each file; a WAL file opened through this VFS is this
// header followed by the default VFS's own file object.
struct WalFile {
  sqlite3_file base;
  Pending* pending;
};
constexpr int kHeaderBytes =
    static_cast<int>((sizeof(WalFile) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
                     alignof(std::max_align_t));

Pending& StateOf(sqlite3_file* file) { return *reinterpret_cast<WalFile*>(file)->pending; }
sqlite3_file* RealOf(sqlite3_file* file) { return StateOf(file).real; }

int Flush(Pending& p) {
  int rc = SQLITE_OK;
  for (size_t done = 0; done < p.bytes.size() && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, p.bytes.size() - done);
    g_writes_issued.fetch_add(1, std::memory_order_relaxed);
    rc = p.real->pMethods->xWrite(p.real, p.bytes.data() + done, static_cast<int>(n),
                                  p.offset + static_cast<sqlite3_int64>(done));
  }
  p.bytes.clear();
  return rc;
}

int Close(sqlite3_file* file) {
  Pending* p = reinterpret_cast<WalFile*>(file)->pending;
  const int flushed = Flush(*p);
  const int closed = p->real->pMethods->xClose(p->real);
  delete p;
  return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  if (const int rc = Flush(StateOf(file)); rc != SQLITE_OK) return rc;
  return RealOf(file)->pMethods->xRead(RealOf(file), out, amount, offset);
}

bool IsCommitFrameHeader(const void* data, int amount) {
  if (amount != kFrameHeaderBytes) return false;
  const auto* b = static_cast<const unsigned char*>(data);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  g_writes_asked.fetch_add(1, std::memory_order_relaxed);
  Pending& p = StateOf(file);
  if (!p.bytes.empty() && offset != p.offset + static_cast<sqlite3_int64>(p.bytes.size())) {
    if (const int rc = Flush(p); rc != SQLITE_OK) return rc;
  }
  const bool commit_page = p.flush_after_next;
  const bool was_empty = p.bytes.empty();
  if (was_empty) p.offset = offset;
  try {
    p.bytes.append(static_cast<const char*>(data), static_cast<size_t>(amount));
  } catch (const std::bad_alloc&) {
    p.bytes.clear();  // the transaction fails; SQLite writes its frames again next time
    p.flush_after_next = false;
    return SQLITE_IOERR_NOMEM;
  }
  p.flush_after_next = IsCommitFrameHeader(data, amount);
  // A commit frame's header that follows no other frame goes out at once too. That is the case
  // when a transaction that spilled rewrites its frames' checksums after writing them
  // (walRewriteChecksums: a read, then a header, per frame): no page follows the last header,
  // and SQLite publishes the commit right after it. A header that starts a one-frame commit
  // goes out alone as well (two writes, as without this VFS).
  const bool lone_commit_header = p.flush_after_next && was_empty;
  if (commit_page) g_commit_flushes.fetch_add(1, std::memory_order_relaxed);
  if (commit_page || lone_commit_header || p.bytes.size() >= kMaxPending) return Flush(p);
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (const int rc = Flush(StateOf(file)); rc != SQLITE_OK) return rc;
  return RealOf(file)->pMethods->xTruncate(RealOf(file), size);
}

int Sync(sqlite3_file* file, int flags) {
  if (const int rc = Flush(StateOf(file)); rc != SQLITE_OK) return rc;
  return RealOf(file)->pMethods->xSync(RealOf(file), flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (const int rc = Flush(StateOf(file)); rc != SQLITE_OK) return rc;
  return RealOf(file)->pMethods->xFileSize(RealOf(file), size);
}

int Lock(sqlite3_file* file, int level) {
  return RealOf(file)->pMethods->xLock(RealOf(file), level);
}
int Unlock(sqlite3_file* file, int level) {
  return RealOf(file)->pMethods->xUnlock(RealOf(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return RealOf(file)->pMethods->xCheckReservedLock(RealOf(file), out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  if (const int rc = Flush(StateOf(file)); rc != SQLITE_OK) return rc;
  return RealOf(file)->pMethods->xFileControl(RealOf(file), op, arg);
}

int SectorSize(sqlite3_file* file) { return RealOf(file)->pMethods->xSectorSize(RealOf(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return RealOf(file)->pMethods->xDeviceCharacteristics(RealOf(file));
}

// SQLite uses shared memory and memory mapping for database files only; a WAL file forwards
// them should a later version ask.
int ShmMap(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  const sqlite3_io_methods* m = RealOf(file)->pMethods;
  if (m->iVersion < 2 || m->xShmMap == nullptr) return SQLITE_IOERR_SHMMAP;
  return m->xShmMap(RealOf(file), page, page_size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  const sqlite3_io_methods* m = RealOf(file)->pMethods;
  if (m->iVersion < 2 || m->xShmLock == nullptr) return SQLITE_IOERR_SHMLOCK;
  return m->xShmLock(RealOf(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) {
  const sqlite3_io_methods* m = RealOf(file)->pMethods;
  if (m->iVersion >= 2 && m->xShmBarrier != nullptr) m->xShmBarrier(RealOf(file));
}
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  const sqlite3_io_methods* m = RealOf(file)->pMethods;
  if (m->iVersion < 2 || m->xShmUnmap == nullptr) return SQLITE_OK;
  return m->xShmUnmap(RealOf(file), delete_flag);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;  // "no mapping": SQLite reads instead
  if (const int rc = Flush(StateOf(file)); rc != SQLITE_OK) return rc;
  const sqlite3_io_methods* m = RealOf(file)->pMethods;
  if (m->iVersion < 3 || m->xFetch == nullptr) return SQLITE_OK;
  return m->xFetch(RealOf(file), offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  const sqlite3_io_methods* m = RealOf(file)->pMethods;
  if (m->iVersion < 3 || m->xUnfetch == nullptr) return SQLITE_OK;
  return m->xUnfetch(RealOf(file), offset, p);
}

const sqlite3_io_methods kWalMethods = {3,
                                        Close,
                                        Read,
                                        Write,
                                        Truncate,
                                        Sync,
                                        FileSize,
                                        Lock,
                                        Unlock,
                                        CheckReservedLock,
                                        FileControl,
                                        SectorSize,
                                        DeviceCharacteristics,
                                        ShmMap,
                                        ShmLock,
                                        ShmBarrier,
                                        ShmUnmap,
                                        Fetch,
                                        Unfetch};

sqlite3_vfs* Base(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* base = Base(vfs);
  // Everything but WAL files is the default VFS's own object, at the start of the allocation.
  if ((flags & SQLITE_OPEN_WAL) == 0) return base->xOpen(base, name, file, flags, out_flags);
  auto* wal = reinterpret_cast<WalFile*>(file);
  wal->base.pMethods = nullptr;  // SQLite closes a file only if its pMethods is set
  auto* real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kHeaderBytes);
  const int rc = base->xOpen(base, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (real->pMethods != nullptr) real->pMethods->xClose(real);
    return rc;
  }
  wal->pending = new (std::nothrow) Pending{real, {}, 0, false};
  if (wal->pending == nullptr) {
    real->pMethods->xClose(real);
    return SQLITE_NOMEM;
  }
  wal->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { Base(vfs)->xDlError(Base(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xRandomness(Base(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) { return Base(vfs)->xSleep(Base(vfs), micros); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Base(vfs)->xCurrentTime(Base(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xGetLastError(Base(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}
int SetSystemCall(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return Base(vfs)->xSetSystemCall(Base(vfs), name, call);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xGetSystemCall(Base(vfs), name);
}
const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xNextSystemCall(Base(vfs), name);
}

constexpr const char* kName = "shopflow-wal-buffer";

sqlite3_vfs* Register() {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr || base->iVersion < 3) {
    spdlog::warn("SQLite: no default VFS of version 3; WAL writes are not gathered");
    return nullptr;
  }
  static sqlite3_vfs vfs{};
  vfs.iVersion = 3;
  vfs.szOsFile = kHeaderBytes + base->szOsFile;
  vfs.mxPathname = base->mxPathname;
  vfs.zName = kName;
  vfs.pAppData = base;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  vfs.xSetSystemCall = SetSystemCall;
  vfs.xGetSystemCall = GetSystemCall;
  vfs.xNextSystemCall = NextSystemCall;
  if (const int rc = sqlite3_vfs_register(&vfs, 0); rc != SQLITE_OK) {
    spdlog::warn("SQLite: cannot register the WAL write VFS ({}); WAL writes are not gathered",
                 sqlite3_errstr(rc));
    return nullptr;
  }
  return &vfs;
}

}  // namespace

const char* WalWriteBufferVfs() {
  static const sqlite3_vfs* registered = Register();
  return registered != nullptr ? registered->zName : nullptr;
}

WalWriteStats WalWriteStatsNow() {
  return {g_writes_asked.load(std::memory_order_relaxed),
          g_writes_issued.load(std::memory_order_relaxed),
          g_commit_flushes.load(std::memory_order_relaxed)};
}

}  // namespace shopflow::sqlite
