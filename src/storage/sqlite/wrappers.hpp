#pragma once

// The only header that hands SQLite's C handles to C++ (ARCHITECTURE.md principle 2). Include it
// only from src/storage/sqlite/ sources: <sqlite3.h> must not leak into other modules.

#include <sqlite3.h>

#include <memory>

namespace shopflow::sqlite {

/// Closes a connection. sqlite3_close_v2 defers the close until every statement of the
/// connection is finalized, so destruction order of statements and connection cannot crash.
struct DatabaseCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

/// Finalizes a prepared statement.
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};

/// An owned connection. Not thread-safe: one thread uses it at a time.
using DatabasePtr = std::unique_ptr<sqlite3, DatabaseCloser>;
/// An owned prepared statement; belongs to exactly one connection.
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

}  // namespace shopflow::sqlite
