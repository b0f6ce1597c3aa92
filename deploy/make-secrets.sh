#!/usr/bin/env bash
# Creates the secrets docker-compose.yml mounts, once: deploy/secrets/api-keys (shopflow's API
# keys file: only a SHA-256 of each key) and deploy/secrets/prometheus.key (the key Prometheus
# scrapes /metrics with, role operator). Never commit deploy/secrets/.
#   deploy/make-secrets.sh [DIR]      (default: deploy/secrets next to this script)
set -euo pipefail
dir=${1:-"$(dirname "$0")/secrets"}
mkdir -p "$dir"
chmod 700 "$dir"
if [[ -e "$dir/api-keys" || -e "$dir/prometheus.key" ]]; then
  echo "make-secrets: $dir already holds secrets; remove them first to rotate" >&2
  exit 1
fi
umask 077
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s' "$key" > "$dir/prometheus.key"
hash=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
printf '# role name key (plain or sha256:<hex>), see README "Security"\noperator prometheus sha256:%s\n' \
  "$hash" > "$dir/api-keys"
chmod 644 "$dir/api-keys" "$dir/prometheus.key"  # read by the containers' own users
echo "make-secrets: wrote $dir/api-keys and $dir/prometheus.key"
