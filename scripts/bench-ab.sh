#!/usr/bin/env bash
# A/B of two release binaries on a shared machine: alternate them, a fresh data directory each
# time, and run `tern bench` against each (docs/benchmarks.md, "After issue 6").
#   scripts/bench-ab.sh OLD_BIN NEW_BIN [put|get|mix] [seconds] [rounds]
# Stops every server it starts, also when interrupted.
set -euo pipefail
old=$1; new=$2; op=${3:-put}; seconds=${4:-6}; rounds=${5:-3}
port=${PORT:-8771}
work=$(mktemp -d /tmp/tern-ab.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
for round in $(seq "$rounds"); do
    for bin in "$old" "$new"; do
        rm -rf "$work/data"
        "$bin" serve --port "$port" --data-dir "$work/data" --log-level error >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
        result=$("$new" bench --endpoint "http://127.0.0.1:$port" --op "$op" --seconds "$seconds" --connections 16 | grep throughput)
        echo "$op round $round $bin: ${result##*throughput=}"
        kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    done
done
