#!/usr/bin/env bash
# The cluster benchmark of docs/benchmarks.md (issue 7): in one run on this machine,
#   1. one release-built node (a cluster of one) on a fresh data directory: tern bench put, get;
#   2. a three-node cluster (N = 3, W = 2, all on this machine) on fresh data directories:
#      the same tern bench, its connections spread over the three nodes;
# and prints each cluster figure as a ratio to the single node's.
# Settings (environment): TERN_BIN (default .build/release/tern), SECONDS_PER_RUN (10),
# CONNECTIONS (16), KEYS (10000). Starts and stops everything it uses, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TERN_BIN:-.build/release/tern}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-16}
KEYS=${KEYS:-10000}
[ -x "$BIN" ] || { echo "bench-cluster.sh: $BIN is missing (make release)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/tern-bench-cluster.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() {
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done
    echo "bench-cluster.sh: nothing answers on port $1" >&2
    return 1
}

bench() {  # endpoints op -> req/s
    "$BIN" bench --endpoint "$1" --op "$2" --seconds "$SECONDS_PER_RUN" --connections "$CONNECTIONS" --keys "$KEYS" \
        | grep throughput | sed 's/.*throughput=\([0-9.]*\).*/\1/'
}

declare -A single cluster
"$BIN" serve --port 8791 --data-dir "$WORK/single" --log-level error >/dev/null 2>&1 &
PIDS+=($!)
wait_http 8791
for op in put get; do single[$op]=$(bench http://127.0.0.1:8791 "$op"); done
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true; PIDS=()

SEEDS=127.0.0.1:7791,127.0.0.1:7792,127.0.0.1:7793
for i in 1 2 3; do
    "$BIN" serve --node-id "n$i" --port "879$((i + 1))" --cluster-port "779$i" --seeds "$SEEDS" \
        --data-dir "$WORK/n$i" --log-level error >/dev/null 2>&1 &
    PIDS+=($!)
done
for i in 1 2 3; do wait_http "879$((i + 1))"; done
ENDPOINTS=http://127.0.0.1:8792,http://127.0.0.1:8793,http://127.0.0.1:8794
for op in put get; do cluster[$op]=$(bench "$ENDPOINTS" "$op"); done

printf '%-6s %14s %14s %8s\n' op "single req/s" "cluster req/s" ratio
for op in put get; do
    printf '%-6s %14s %14s %8s\n' "$op" "${single[$op]}" "${cluster[$op]}" \
        "$(awk -v c="${cluster[$op]}" -v s="${single[$op]}" 'BEGIN { printf "%.2f", c / s }')"
done
