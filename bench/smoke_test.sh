#!/usr/bin/env bash
# ctest bench.smoke: shopflow-bench places 50 orders on a server it spawns (embedded defaults,
# fresh data directory), once learning settlements from /ws and once by polling; each JSON line
# must say that all 50 were paid without errors. Speed is never asserted. The ws run also
# measures a stand-in "broker" (--broker-pid: a busy shell loop) whose CPU must show.
set -euo pipefail
bench=$1
server=$2
(while :; do :; done) &
busy=$!
trap 'kill $busy 2>/dev/null || true' EXIT
for settle in ws poll; do
  extra=()
  [ "$settle" = ws ] && extra=(--broker-pid "$busy")
  out=$("$bench" --json-only orders --spawn "$server" -n 50 -c 8 --products 2 -d 60 \
        --settle-timeout 30 --settle "$settle" "${extra[@]}")
  echo "$out"
  python3 - "$out" "$settle" <<'PY'
import json, sys
r = json.loads(sys.argv[1].strip().splitlines()[-1])
settle = sys.argv[2]
assert "error" not in r, r.get("error")
assert r["mode"] == "orders"
assert r["created"] == 50, r["created"]
assert r["settled"] == r["created"], (r["settled"], r["created"])
assert r["server_paid"] == r["created"], r["server_paid"]
assert r["errors"] == 0, r["errors"]
assert r["latency_ms"]["count"] == 50
assert r["server"]["startup_ms"] > 0 and r["server"]["peak_rss_mb"] > 0
assert r["server"]["cpu_ms_per_order"] > 0, r["server"]
# The server drains 50 orders' follow-up work well within the default 60 s.
assert r["drain_s"] is not None and r["drain_s"] >= 0, r.get("drain_s")
assert r["backlog_at_end"]["queued"] >= 0 and r["backlog_at_end"]["outbox"] >= 0
assert 0 < r["settled_per_s_drained"] <= r["settled_per_s"] * 1.01, r["settled_per_s_drained"]
if settle == "ws":
    assert r["settlement_detection"].startswith("ws"), r["settlement_detection"]
    assert r["ws_frames"] > 0
    b = r["broker_process"]
    assert b["cpu_seconds"] > 0 and b["cpu_ms_per_order"] > 0, b
else:
    assert r["settlement_detection"] == "poll", r["settlement_detection"]
    assert r["scans"] > 0
    assert "broker_process" not in r
print(f"bench smoke ({settle}): ok")
PY
done
