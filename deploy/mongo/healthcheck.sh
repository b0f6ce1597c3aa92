#!/bin/bash
# Health check of the mongodb service: initiates the replica set on first success, then reports
# healthy once this node is PRIMARY.
set -eu
mongosh --quiet -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" \
  --authenticationDatabase admin --eval '
    try { rs.status() } catch (e) {
      rs.initiate({_id: "rs0", members: [{_id: 0, host: "mongodb:27017"}]})
    }
    quit(db.hello().isWritablePrimary ? 0 : 1)'
