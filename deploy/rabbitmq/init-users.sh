#!/bin/sh
# Entrypoint of the rabbitmq service: writes the user definitions from the environment
# (deploy/.env), then starts the broker through the image's own entrypoint.
set -eu
: "${RABBITMQ_USER:?set RABBITMQ_USER in deploy/.env}"
: "${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD in deploy/.env}"
dir=/etc/rabbitmq/definitions.d
mkdir -p "$dir"
umask 077
cat > "$dir/10-users.json" <<JSON
{"users": [{"name": "$RABBITMQ_USER", "password": "$RABBITMQ_PASSWORD", "tags": ["administrator"]}],
 "vhosts": [{"name": "ecommerce"}],
 "permissions": [{"user": "$RABBITMQ_USER", "vhost": "ecommerce",
                  "configure": ".*", "write": ".*", "read": ".*"}]}
JSON
chown rabbitmq:rabbitmq "$dir/10-users.json"
unset RABBITMQ_PASSWORD
exec docker-entrypoint.sh rabbitmq-server
