#!/bin/bash
# Entrypoint of the mongodb service: a single-node replica set (rs0) with authentication needs a
# key file; create it once in the data volume, then start mongod through the image's entrypoint.
set -euo pipefail
key=/data/db/replica.key
if [[ ! -f $key ]]; then
  head -c 756 /dev/urandom | base64 -w 0 > "$key"
  chmod 400 "$key"
  chown 999:999 "$key"
fi
exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile "$key"
