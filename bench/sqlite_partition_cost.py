#!/usr/bin/env python3
"""What retention of the message log costs in SQLite, row by row (today) or a partition at a
time (docs/PERFORMANCE.md, "Next: a message log in partitions").

  bench/sqlite_partition_cost.py [ROWS]        ROWS per partition, default 33000

Tables shaped like the log (`id` key, a ~1 KB document, six indexed columns with the log's
kinds of values), WAL, synchronous=NORMAL and secure_delete=FAST (shopflow's writer settings).
Row by row: three partitions' worth of rows in one table, then the oldest ROWS deleted in
batches of 1,000 (what retention does). Partitions: three tables of ROWS rows, then one emptied
with `DELETE FROM t` (SQLite's truncate optimization). Prints CPU seconds and WAL bytes of the
removal only. Python's sqlite3 uses the system's libsqlite3, the one shopflow links.
"""
import os
import sqlite3
import sys
import tempfile
import time

COLUMNS = ["messageId", "eventType", "correlationId", "status", "orderId", "createdAt"]
BATCH = 1000


def open_db(path, tables):
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=wal", "synchronous=normal", "secure_delete=fast"):
        db.execute(f"pragma {pragma}")
    cols = "".join(f', "{c}"' for c in COLUMNS)
    for table in tables:
        db.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL{cols})")
        for c in COLUMNS:
            db.execute(f'CREATE INDEX "ix:{table}:{c}" ON {table} ("{c}")')
    return db


def rows(n, start):
    doc = "x" * 1000
    for i in range(start, start + n):
        key = f"{i:026d}"  # sorts like a ULID
        order = f"{i // 28:026d}"  # 28 rows per order
        yield (key, doc, key, f"TYPE{i % 12}", order, ("published", "consumed")[i % 2], order, key)


def fill(db, table, n, start):
    db.execute("BEGIN")
    db.executemany(f"INSERT INTO {table} VALUES (?,?,?,?,?,?,?,?)", rows(n, start))
    db.execute("COMMIT")
    db.execute("pragma wal_checkpoint(truncate)")


def measure(db, path, statements):
    cpu = time.process_time()
    for sql in statements:
        db.execute("BEGIN")
        db.execute(sql)
        db.execute("COMMIT")
    return time.process_time() - cpu, os.path.getsize(path + "-wal")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 33000
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "rows.db")
        db = open_db(path, ["messages"])
        fill(db, "messages", 3 * n, 0)
        oldest = f"DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT {BATCH})"
        cpu, wal = measure(db, path, [oldest] * (n // BATCH))
        print(f"row by row:  {n // BATCH * BATCH} rows removed, {cpu:.3f} s CPU, {wal // 1024} KB of WAL")
        db.close()

        path = os.path.join(scratch, "partitions.db")
        db = open_db(path, ["p0", "p1", "p2"])
        for i, table in enumerate(["p0", "p1", "p2"]):
            fill(db, table, n, i * n)
        cpu, wal = measure(db, path, ["DELETE FROM p0"])
        print(f"a partition: {n} rows removed, {cpu:.3f} s CPU, {wal // 1024} KB of WAL")
        db.close()


if __name__ == "__main__":
    main()
