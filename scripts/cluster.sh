#!/usr/bin/env bash
# Starts or stops a three-node Tern cluster on this machine (`make cluster`, `make cluster-stop`):
# nodes n1..n3, DynamoDB API on 127.0.0.1:8001..8003, peers on 7001..7003, data in
# $DATA_DIR/n1..n3 (default ./data), logs in $DATA_DIR/nX.log, pids in $DATA_DIR/cluster.pids.
#   scripts/cluster.sh start [BIN]    (BIN default .build/release/tern)
#   scripts/cluster.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:-./data}
PIDS="$DATA_DIR/cluster.pids"
SEEDS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003

case "${1:-}" in
start)
    BIN=${2:-.build/release/tern}
    if [ -f "$PIDS" ] && xargs -r kill -0 < "$PIDS" 2>/dev/null; then
        echo "cluster.sh: a cluster is already running (pids in $PIDS); make cluster-stop first" >&2
        exit 1
    fi
    mkdir -p "$DATA_DIR"
    : > "$PIDS"
    for i in 1 2 3; do
        "$BIN" serve --node-id "n$i" --port "800$i" --cluster-port "700$i" --seeds "$SEEDS" \
            --data-dir "$DATA_DIR/n$i" > "$DATA_DIR/n$i.log" 2>&1 &
        echo $! >> "$PIDS"
    done
    for i in 1 2 3; do
        for _ in $(seq 200); do
            curl -s -o /dev/null "http://127.0.0.1:800$i/" && break
            sleep 0.1
        done
        curl -s -o /dev/null "http://127.0.0.1:800$i/" || { echo "cluster.sh: n$i did not start; see $DATA_DIR/n$i.log" >&2; exit 1; }
    done
    echo "cluster of 3 up: http://127.0.0.1:8001 http://127.0.0.1:8002 http://127.0.0.1:8003 (logs in $DATA_DIR/n*.log)"
    ;;
stop)
    [ -f "$PIDS" ] || { echo "cluster.sh: no cluster running (no $PIDS)"; exit 0; }
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$PIDS"
    while read -r pid; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done < "$PIDS"
    rm -f "$PIDS"
    echo "cluster stopped"
    ;;
*)
    echo "usage: scripts/cluster.sh start [BIN] | stop" >&2
    exit 2
    ;;
esac
