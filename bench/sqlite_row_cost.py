#!/usr/bin/env python3
"""Per-row cost of the message log's table layouts in SQLite (docs/PERFORMANCE.md, "Per-row
costs"): inserts and retention deletes of real log rows, with the six indexed fields as VIRTUAL
generated columns (files created before c4e89f6), STORED generated columns (the log's layout
now), plain columns the writer would bind, or no index at all.

  bench/sqlite_row_cost.py MESSAGES_DB [LAYOUT ...]     LAYOUT: virtual stored plain none

MESSAGES_DB is a `*-messages.db` holding enough rows (e.g. after `bench/compare` or a
`shopflow-bench orders` run of a minute; the rows are read, never written). Each layout gets a
scratch database in WAL mode with synchronous=NORMAL (shopflow's settings), is prefilled with
half the rows in id order (their real ids), then runs rounds of 1,000 inserts and deleting the 1,000 oldest rows
(retention), each in its own transaction. A WAL checkpoint (every 10,000 pages, as in
shopflow) lands in whichever statement crosses it, so compare a few runs, not one. Python's sqlite3 uses the system's libsqlite3, the one
shopflow links; absolute figures include Python's per-statement overhead (a few µs), the
differences between layouts do not.
"""
import os
import sqlite3
import sys
import tempfile
import time

FIELDS = ["correlationId", "createdAt", "eventType", "messageId", "orderId", "status"]
BATCH = 1000


def make(path, layout):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=normal")
    db.execute("pragma wal_autocheckpoint=10000")  # shopflow's default (SqliteStoreOptions)
    if layout == "plain":
        cols = "".join(f', "f:{f}"' for f in FIELDS)
    elif layout in ("virtual", "stored"):
        cols = "".join(f', "f:{f}" GENERATED ALWAYS AS (json_extract(doc, \'$.{f}\')) {layout.upper()}'
                       for f in FIELDS)
    else:
        cols = ""
    db.execute(f"CREATE TABLE messages (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL{cols})")
    if layout != "none":
        for f in FIELDS:
            db.execute(f'CREATE INDEX "ix:{f}" ON messages ("f:{f}")')
    return db


def measure(rows, layout, path):
    db = make(path, layout)
    if layout == "plain":
        sql = ("INSERT INTO messages (id, doc, " + ", ".join(f'"f:{f}"' for f in FIELDS) +
               ") VALUES (?, ?" + ", ?" * len(FIELDS) + ")")
    else:
        sql = "INSERT INTO messages (id, doc) VALUES (?, ?)"

    def insert(chunk):
        db.execute("BEGIN")
        for row in chunk:
            db.execute(sql, row if layout == "plain" else row[:2])
        db.execute("COMMIT")

    half = (len(rows) // 2 // BATCH) * BATCH
    for i in range(0, half, BATCH):
        insert(rows[i:i + BATCH])
    t_insert = t_delete = 0.0
    n = 0
    for i in range(half, len(rows) - BATCH + 1, BATCH):
        t = time.perf_counter()
        insert(rows[i:i + BATCH])
        t_insert += time.perf_counter() - t
        t = time.perf_counter()
        db.execute("BEGIN")
        db.execute("DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT ?)",
                   (BATCH,))
        db.execute("COMMIT")
        t_delete += time.perf_counter() - t
        n += BATCH
    db.close()
    return 1e6 * t_insert / n, 1e6 * t_delete / n, n


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    layouts = sys.argv[2:] or ["virtual", "stored", "plain", "none"]
    src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    select = ("SELECT id, doc, " + ", ".join(f"json_extract(doc, '$.{f}')" for f in FIELDS) +
              " FROM messages ORDER BY id")
    rows = [tuple(r) for r in src.execute(select)]
    if len(rows) < 4 * BATCH:
        sys.exit(f"{sys.argv[1]}: {len(rows)} rows; at least {4 * BATCH} are needed")
    avg = sum(len(r[1]) for r in rows) / len(rows)
    print(f"SQLite {sqlite3.sqlite_version}, {len(rows)} rows of {avg:.0f} bytes on average")
    with tempfile.TemporaryDirectory() as workdir:
        for i, layout in enumerate(layouts):
            ins, dele, n = measure(rows, layout, os.path.join(workdir, f"{i}-{layout}.db"))
            print(f"{layout:>8}: insert {ins:6.1f} us/row   delete {dele:6.1f} us/row   ({n} rows)",
                  flush=True)


if __name__ == "__main__":
    main()
