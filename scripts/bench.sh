#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/benchmarks.md: one release-built node on RocksDB (synced
# writes, group commit), 16 connections, 100-byte items. Starts and stops its own server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TERN_BIN:-.build/release/tern}
PORT=${PORT:-8765}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
DATA=$(mktemp -d /tmp/tern-bench.XXXXXX)
"$BIN" serve --port "$PORT" --data-dir "$DATA" --log-level warning &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.1; done
for op in put get mix; do
    "$BIN" bench --endpoint "http://127.0.0.1:$PORT" --op "$op" --connections 16 --seconds "$SECONDS_PER_RUN" --item-bytes 100
done
