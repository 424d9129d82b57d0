#!/usr/bin/env bash
# A/B of two release binaries on a shared machine: alternate them, a fresh data directory each
# time, and load each with the same requests (docs/benchmarks.md, "After issue 6").
#   scripts/bench-ab.sh OLD_BIN NEW_BIN [put|get|mix] [seconds] [rounds]
# LOAD=bench (default): `tern bench` (16 connections) is the load.
# LOAD=wrk: 10,000 keys pre-loaded by `tern bench`, then wrk -t2 -c16 with scripts/wrk/dynamo.lua
#   (the request shape of scripts/bench.sh); needs wrk (`make bench-deps`).
# Each line gives the throughput and the server's CPU time per request (user + system, from
# /proc/<pid>/stat over the measured run): on a machine whose load varies, the CPU per request
# moves much less from run to run than the throughput does.
# Stops every server it starts, also when interrupted.
set -euo pipefail
old=$1; new=$2; op=${3:-put}; seconds=${4:-6}; rounds=${5:-3}
load=${LOAD:-bench}
port=${PORT:-8771}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tern-ab.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$rounds"); do
    for bin in "$old" "$new"; do
        rm -rf "$work/data"
        "$bin" serve --port "$port" --data-dir "$work/data" --log-level error >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
        endpoint="http://127.0.0.1:$port"
        if [ "$load" = wrk ]; then
            "$new" bench --endpoint "$endpoint" --op put --seconds 3 --connections 16 --keys 10000 --table tern-bench >/dev/null
            before=$(cpu_ticks "$pid")
            out=$(wrk -t2 -c16 -d"${seconds}s" -s "$root/scripts/wrk/dynamo.lua" "$endpoint/" -- "$op" 10000 tern-bench)
            after=$(cpu_ticks "$pid")
            grep -q "Non-2xx\|Socket errors" <<<"$out" && { echo "$out" >&2; echo "bench-ab.sh: errors under wrk" >&2; exit 1; }
            requests=$(awk '/requests in/ {print $1}' <<<"$out")
            throughput="$(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s"
        else
            before=$(cpu_ticks "$pid")
            result=$("$new" bench --endpoint "$endpoint" --op "$op" --seconds "$seconds" --connections 16 | grep throughput)
            after=$(cpu_ticks "$pid")
            requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$result")
            throughput=${result##*throughput=}
        fi
        cpu=$(( (after - before) * 1000000 / ticks_per_second / (requests > 0 ? requests : 1) ))
        echo "$op round $round $bin: $throughput, server CPU ${cpu} µs/request"
        kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    done
done
