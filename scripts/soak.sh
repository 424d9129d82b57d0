#!/usr/bin/env bash
# A long mixed-load run against one release-built node, with a kill -9 and restart in the middle,
# then a check that the node still answers and the table is intact. Not part of `make test`.
#   SOAK_SECONDS (default 300) per half, PORT (default 8766).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TERN_BIN:-.build/release/tern}
PORT=${PORT:-8766}
HALF=${SOAK_SECONDS:-300}
DATA=$(mktemp -d /tmp/tern-soak.XXXXXX)
SERVER=""
start() {
    "$BIN" serve --port "$PORT" --data-dir "$DATA" --log-level warning &
    SERVER=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && return; sleep 0.1; done
    echo "server did not start" >&2; exit 1
}
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
start
"$BIN" bench --endpoint "http://127.0.0.1:$PORT" --op mix --connections 16 --seconds "$HALF" --keys 50000
kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
echo "killed -9; restarting on the same data"
start
"$BIN" bench --endpoint "http://127.0.0.1:$PORT" --op mix --connections 16 --seconds "$HALF" --keys 50000
curl -sf "http://127.0.0.1:$PORT/" >/dev/null && echo "soak: node healthy after restart and load"
