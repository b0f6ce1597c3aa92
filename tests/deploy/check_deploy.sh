#!/usr/bin/env bash
# Checks of deploy/ and the operations docs (ctest label "deploy").
#   bash tests/deploy/check_deploy.sh build/src/app/shopflow     (from the repository root)
# Each check prints PASS, SKIP or FAIL; the script exits 1 when any check failed.
# Needs no network beyond loopback and no Docker engine.
set -euo pipefail

bin=${1:?usage: check_deploy.sh path/to/shopflow}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
readme=${SHOPFLOW_CHECK_README:-README.md}   # override only to try a README edit

failures=0
tmp=$(mktemp -d)
scratch_vhost=""
shared=""
cleanup() {
  [[ -n $shared ]] && rm -f "$shared"
  if [[ -n $scratch_vhost ]]; then rabbitmqctl -q delete_vhost "$scratch_vhost" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pass() { echo "PASS $1"; }
skip() { echo "SKIP $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# 1. The committed definitions equal a fresh export (retry settings at their defaults).
defs=deploy/rabbitmq/definitions.json
if env -u SHOPFLOW_RETRY_MAX_ATTEMPTS -u SHOPFLOW_RETRY_INITIAL_DELAY_MS \
     "$bin" topology export --vhost ecommerce > "$tmp/fresh.json" 2> "$tmp/export.err"; then
  if cmp -s <(jq -S . "$defs") <(jq -S . "$tmp/fresh.json"); then
    pass "definitions: $defs equals \`shopflow topology export --vhost ecommerce\`"
  else
    fail "definitions: $defs differs from a fresh export; regenerate it:"
    echo "     build/src/app/shopflow topology export --vhost ecommerce > $defs"
    diff <(jq -S . "$defs") <(jq -S . "$tmp/fresh.json") | head -20 | sed 's/^/     /' || true
  fi
else
  fail "definitions: shopflow topology export failed: $(cat "$tmp/export.err")"
fi

# 2. The definitions load into the test RabbitMQ (scratch vhost, deleted afterwards).
if ! command -v rabbitmqctl >/dev/null; then
  skip "rabbitmq import: rabbitmqctl not installed"
elif ! rabbitmqctl -q status >/dev/null 2>&1; then
  skip "rabbitmq import: no local broker answers rabbitmqctl (scripts/broker start; needs root)"
else
  scratch_vhost="shopflow-deploy-check-$$"
  jq --arg v "$scratch_vhost" '
      .vhosts = [{name: $v}]
      | reduce ("exchanges", "queues", "bindings", "policies", "permissions") as $k
          (.; if has($k) then .[$k] |= map(.vhost = $v) else . end)' \
      "$defs" > "$tmp/scratch.json"
  want_q=$(jq '.queues | length' "$defs"); want_x=$(jq '.exchanges | length' "$defs")
  want_b=$(jq '.bindings | length' "$defs")
  # rabbitmqctl may run as the broker user: give it a world-readable copy outside our 0700 dir.
  shared=$(mktemp /tmp/shopflow-deploy-check.XXXXXX)
  cp "$tmp/scratch.json" "$shared" && chmod 0644 "$shared"
  if rabbitmqctl -q import_definitions "$shared" > "$tmp/import.log" 2>&1; then
    got_q=0; got_x=0; got_b=0
    for _ in $(seq 1 20); do   # the import is asynchronous
      got_q=$(rabbitmqctl -q list_queues -p "$scratch_vhost" --no-table-headers name 2>/dev/null | grep -c . || true)
      got_x=$(rabbitmqctl -q list_exchanges -p "$scratch_vhost" name 2>/dev/null | grep -c '^ecommerce\.' || true)
      got_b=$(rabbitmqctl -q list_bindings -p "$scratch_vhost" source_name 2>/dev/null | grep -c '^ecommerce\.' || true)
      [[ $got_q -ge $want_q && $got_x -ge $want_x && $got_b -ge $want_b ]] && break
      sleep 0.5
    done
    if [[ $got_q -eq $want_q && $got_x -eq $want_x && $got_b -eq $want_b ]]; then
      pass "rabbitmq import: $want_x exchanges, $want_q queues, $want_b bindings into scratch vhost $scratch_vhost"
    else
      fail "rabbitmq import: want $want_x/$want_q/$want_b exchanges/queues/bindings, got $got_x/$got_q/$got_b"
    fi
  else
    fail "rabbitmq import: rabbitmqctl import_definitions failed: $(cat "$tmp/import.log")"
  fi
  rm -f "$shared"
  rabbitmqctl -q delete_vhost "$scratch_vhost" >/dev/null 2>&1 || true
  scratch_vhost=""
fi

# 3. docker compose parses the compose file (no engine needed), with .env.example as the .env.
compose=deploy/docker-compose.yml
if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
  if docker compose -f "$compose" --env-file deploy/.env.example --profile single \
       --profile modules --profile monitoring config -q > "$tmp/compose.log" 2>&1; then
    pass "compose: docker compose config accepts $compose"
  else
    fail "compose: docker compose config: $(cat "$tmp/compose.log")"
  fi
else
  skip "compose: \`docker compose\` is unavailable (docker client without the compose plugin); YAML-only check follows"
fi
# Structure of the compose file (python3 + PyYAML), whether or not docker compose ran.
if python3 -c 'import yaml' 2>/dev/null; then
  if python3 - "$compose" deploy/.env.example > "$tmp/yaml.log" 2>&1 <<'PY'
import re, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
assert s["rabbitmq"]["image"] == "rabbitmq:3.12-management", "rabbitmq image"
assert s["mongodb"]["image"] == "mongo:7.0", "mongo image"
for name in ("rabbitmq", "mongodb"):
    assert "healthcheck" in s[name], name + " has no healthcheck"
for name in ("app", "inventory", "orders", "payments", "notifications"):
    dep = s[name]["depends_on"]
    for need in ("rabbitmq", "mongodb"):
        assert dep[need]["condition"] == "service_healthy", f"{name} must wait for {need}"
    assert s[name]["environment"]["RABBITMQ_URL"].endswith("@rabbitmq:5672/ecommerce"), name
assert s["payments"]["deploy"]["replicas"] == 2, "payments replicas"
for name in ("app", "inventory", "orders", "payments", "notifications"):
    env = s[name]["environment"]
    assert env["SHOPFLOW_JWT_SECRET"].startswith("${SHOPFLOW_JWT_SECRET:?"), name + " JWT secret"
    assert any(v.endswith(":" + env["SHOPFLOW_API_KEYS_FILE"] + ":ro") for v in s[name]["volumes"]), name + " API keys"
assert any(v.endswith(":/etc/prometheus/shopflow.key:ro") for v in s["prometheus"]["volumes"]), "prometheus key"
for m in ("inventory", "orders", "payments", "notifications"):
    assert s[m]["command"] == ["serve", "--modules", m], m + " command"
# No literal secrets in the compose file; every ${VAR} is defined in .env.example and back.
text = open(sys.argv[1]).read()
assert "admin123" not in text, "a literal password in the compose file"
used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
defined = {l.split("=", 1)[0] for l in open(sys.argv[2]) if re.match(r"^[A-Z_][A-Z0-9_]*=", l)}
assert used <= defined, f"not in .env.example: {sorted(used - defined)}"
assert defined - used <= {"COMPOSE_PROFILES"}, f"unused in compose: {sorted(defined - used - {'COMPOSE_PROFILES'})}"
PY
  then
    pass "compose: structure (images, health-gated depends_on, per-module services, 2 payments replicas, secrets only via .env)"
  else
    fail "compose: structure: $(tail -1 "$tmp/yaml.log")"
  fi
else
  skip "compose: structure check needs python3 with PyYAML"
fi

# 3b. The secrets deploy/make-secrets.sh makes work: shopflow with authentication on accepts the
#     Prometheus key on /metrics and refuses a request without it.
if "$root/deploy/make-secrets.sh" "$tmp/secrets" > /dev/null 2>&1; then
  secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
  SHOPFLOW_AUTH=on SHOPFLOW_JWT_SECRET="$secret" SHOPFLOW_API_KEYS_FILE="$tmp/secrets/api-keys" \
    "$bin" serve --port 0 --data-dir "$tmp/authdata" > "$tmp/auth.log" 2>&1 &
  auth_pid=$!
  port=""
  for _ in $(seq 1 200); do
    port=$(grep -oE 'listening on http://[^ ]+:[0-9]+' "$tmp/auth.log" | grep -oE '[0-9]+$' || true)
    [[ -n $port ]] && break
    kill -0 "$auth_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $port ]]; then
    fail "secrets: shopflow did not start with them: $(tail -3 "$tmp/auth.log")"
  else
    with=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$tmp/secrets/prometheus.key")" "http://127.0.0.1:$port/metrics")
    without=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
    if [[ $with == 200 && $without == 401 ]]; then
      pass "secrets: make-secrets.sh's Prometheus key reads /metrics (200), no key gets 401"
    else
      fail "secrets: /metrics with the key → $with (want 200), without → $without (want 401)"
    fi
  fi
  kill "$auth_pid" 2>/dev/null || true
  wait "$auth_pid" 2>/dev/null || true
else
  fail "secrets: deploy/make-secrets.sh failed"
fi

# 4. The systemd unit. verify wants ExecStart to exist: point it at a stand-in executable.
if command -v systemd-analyze >/dev/null; then
  install -m 0755 /bin/true "$tmp/shopflow"
  sed "s|/usr/local/bin/shopflow|$tmp/shopflow|" deploy/shopflow.service > "$tmp/shopflow.service"
  if systemd-analyze verify "$tmp/shopflow.service" > "$tmp/verify.log" 2>&1 && ! grep -q . "$tmp/verify.log"; then
    pass "systemd: systemd-analyze verify deploy/shopflow.service"
  else
    fail "systemd: systemd-analyze verify: $(cat "$tmp/verify.log")"
  fi
else
  skip "systemd: systemd-analyze not installed"
fi

# 5. Environment variables: the code (src/app/settings_loader.cpp) and the README table agree,
#    and every variable the deploy files and docs give shopflow is one the code reads.
grep -oE '\{"[A-Za-z]+", "[A-Z][A-Z0-9_]*"' src/app/settings_loader.cpp | sed -E 's/.*"([A-Z0-9_]+)"$/\1/' | sort -u > "$tmp/code"
grep -E '^\| *[A-Za-z]+ *\| *[A-Z][A-Z0-9_]* *\|' "$readme" | awk -F'|' '{gsub(/ /, "", $3); print $3}' | sort -u > "$tmp/readme"
if [[ ! -s $tmp/code ]]; then
  fail "env: no variables found in src/app/settings_loader.cpp"
elif cmp -s "$tmp/code" "$tmp/readme"; then
  pass "env: README configuration table = settings_loader.cpp ($(wc -l < "$tmp/code") variables)"
else
  missing=$(comm -23 "$tmp/code" "$tmp/readme" | tr '\n' ' ')
  extra=$(comm -13 "$tmp/code" "$tmp/readme" | tr '\n' ' ')
  fail "env: README table vs code: read by the code but not in README: [${missing% }]; in README but not read: [${extra% }]"
fi
# App variables of the deploy files: environment of the shopflow services, the systemd unit and
# its env file, the Dockerfile ENV; plus every SHOPFLOW_* name the docs mention.
{
  python3 - "$compose" <<'PY' 2>/dev/null || true
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for s in c["services"].values():
    if s.get("image", "").startswith("shopflow"):
        print("\n".join(s.get("environment", {})))
PY
  sed -nE 's/^#? *([A-Z][A-Z0-9_]*)=.*/\1/p' deploy/shopflow.env
  sed -nE 's/^Environment=([A-Z][A-Z0-9_]*)=.*/\1/p' deploy/shopflow.service
  sed -nE '/^ENV /,/^[^ ]/s/^(ENV)? *([A-Z][A-Z0-9_]*)=.*/\2/p' deploy/Dockerfile
  grep -ohE '\bSHOPFLOW_[A-Z0-9_]+' "$readme" docs/*.md deploy/*.yml deploy/*.env deploy/*.service deploy/Dockerfile
} | sort -u > "$tmp/deploy"
# Variables that are not settings: read by the test suite (README "Tests").
comm -23 "$tmp/deploy" <(printf '%s\n' SHOPFLOW_RANDOM_ORDERS SHOPFLOW_RANDOM_SEED | sort) > "$tmp/deploy2"
unknown=$(comm -23 "$tmp/deploy2" "$tmp/code" | tr '\n' ' ')
if [[ -z $unknown ]]; then
  pass "env: every variable in deploy/ and docs is read by the code ($(wc -l < "$tmp/deploy2") names)"
else
  fail "env: named in deploy/ or docs but not read by the code: ${unknown% }"
fi

# 6. JSON files parse; the dashboard uses the documented metric names.
for f in deploy/rabbitmq/definitions.json deploy/grafana/dashboards/shopflow.json; do
  jq -e . "$f" >/dev/null 2>&1 || fail "json: $f does not parse"
done
metrics=(shopflow_http_requests_total shopflow_http_request_duration_seconds shopflow_events_total
  shopflow_handler_duration_seconds shopflow_queue_depth shopflow_outbox_backlog shopflow_dlq_size
  shopflow_bus_connected shopflow_bus_reconnects_total shopflow_circuit_breaker_state)
absent=()
for m in "${metrics[@]}"; do
  grep -q "\"$m" src/monitor/*.cpp || absent+=("$m(code)")
  grep -q "$m" deploy/grafana/dashboards/shopflow.json || absent+=("$m(dashboard)")
done
if ((${#absent[@]} == 0)); then
  pass "grafana: the dashboard charts all ${#metrics[@]} metrics, each exported by src/monitor"
else
  fail "grafana: missing ${absent[*]}"
fi

# 7. The event catalogue lists every event of src/events/event_types.cpp.
grep -oE '"[a-z_]+(\.[a-z_]+)+", "[a-z]+"' src/events/event_types.cpp | cut -d'"' -f2 | sort -u > "$tmp/keys"
nokey=$(while read -r k; do grep -qs "\`$k\`" docs/EVENT_CATALOGUE.md || echo "$k"; done < "$tmp/keys" | tr '\n' ' ')
if [[ -z $nokey ]]; then
  pass "catalogue: docs/EVENT_CATALOGUE.md lists all $(wc -l < "$tmp/keys") routing keys"
else
  fail "catalogue: routing keys missing from docs/EVENT_CATALOGUE.md: ${nokey% }"
fi

if ((failures)); then
  echo "deploy checks: $failures failed"
  exit 1
fi
echo "deploy checks: all passed"
