#!/usr/bin/env bash
# The benchmark recorded in docs/benchmarks.md (DESIGN.md §9). One run measures, on this machine
# and under the same load generator:
#   1. an nginx stub answering `{}` to every POST (Debian's nginx-light; the yardstick),
#   2. one release-built `tern serve` on a fresh RocksDB data directory (synced writes, group
#      commit): GetItem, durable PutItem and a 50/50 mix, driven by wrk with the same request
#      shape (scripts/wrk/dynamo.lua) as the stub got,
#   3. the stub again (the machine is shared: a drift between the two stub runs shows up),
#   4. `tern bench` put/get/mix against the same node, the figures recorded before issue 6
#      (TERN_BENCH=0 skips them).
# and prints req/s, p50 and p99 latency and each Tern figure as a ratio to the stub's mean.
#
# Settings (environment): TERN_BIN (default .build/release/tern), PORT (8765), NGINX_PORT (8766),
# SECONDS_PER_RUN (10), THREADS (2, wrk threads), CONNECTIONS (16), KEYS (10000), TERN_BENCH (1).
# Needs nginx and wrk (`make bench` installs nginx-light and wrk when missing). Starts and stops
# everything it uses, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${TERN_BIN:-.build/release/tern}
PORT=${PORT:-8765}
NGINX_PORT=${NGINX_PORT:-8766}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
KEYS=${KEYS:-10000}
TERN_BENCH=${TERN_BENCH:-1}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
LUA="$ROOT/scripts/wrk/dynamo.lua"

for tool in "$BIN" "$NGINX" "$(command -v wrk || echo wrk)"; do
    [ -x "$tool" ] || { echo "bench.sh: $tool is missing (make bench installs nginx-light and wrk; TERN_BIN is a release build)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tern-bench.XXXXXX)
SERVER=""
NGINX_PID=""
stop() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$SERVER"
    stop "$NGINX_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for_port() {  # port, pid: bounded wait until something answers on 127.0.0.1:port
    for _ in $(seq 200); do
        kill -0 "$2" 2>/dev/null || { echo "bench.sh: process $2 exited during start-up" >&2; return 1; }
        if curl -s -o /dev/null -X POST "http://127.0.0.1:$1/"; then return 0; fi
        sleep 0.05
    done
    echo "bench.sh: nothing answers on port $1" >&2
    return 1
}

# -- the nginx stub ---------------------------------------------------------------------------
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            default_type application/x-amz-json-1.0;
            return 200 '{}';
        }
    }
}
EOF

start_nginx() {
    "$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    wait_for_port "$NGINX_PORT" "$NGINX_PID"
}

# -- measuring ---------------------------------------------------------------------------------
RESULTS="$WORK/results"
: > "$RESULTS"

measure() {  # label, port, op
    local label=$1 port=$2 op=$3 out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" -s "$LUA" "http://127.0.0.1:$port/" -- "$op" "$KEYS" tern-bench)
    local line
    line=$(grep '^WRK_RESULT' <<<"$out") || { echo "$out" >&2; echo "bench.sh: wrk printed no result" >&2; exit 1; }
    echo "  $label: $line" >&2
    awk -v label="$label" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "%s %.1f %.3f %.3f %d\n", label, f["requests"] / (f["duration_us"] / 1e6), f["p50_us"] / 1000, f["p99_us"] / 1000, f["status"] + f["socket"]
    }' <<<"$line" >> "$RESULTS"
}

tern_bench() {  # label, op: the same load from `tern bench` (one blocking thread per connection)
    local label=$1 op=$2 out
    out=$("$BIN" bench --endpoint "http://127.0.0.1:$PORT" --op "$op" --connections "$CONNECTIONS" \
        --seconds "$SECONDS_PER_RUN" --keys "$KEYS" --item-bytes 100)
    echo "$out" | sed 's/^/  /' >&2
    # "requests=N errors=E throughput=R req/s" and "latency p50=Xms p99=Yms p99.9=Zms max=Wms"
    awk -v label="$label" '
        /throughput=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
        /^latency/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); sub(/ms$/, "", kv[2]); f[kv[1]] = kv[2] } }
        END { printf "%s %.1f %.3f %.3f %d\n", label, f["throughput"], f["p50"], f["p99"], f["errors"] }
    ' <<<"$out" >> "$RESULTS"
}

echo "machine: $(nproc) cores, $(uname -r), load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "wrk: -t$THREADS -c$CONNECTIONS -d${SECONDS_PER_RUN}s, $KEYS keys, 100-byte items" >&2

start_nginx
measure "nginx-stub-before" "$NGINX_PORT" get
stop "$NGINX_PID"; NGINX_PID=""

mkdir -p "$WORK/tern"
"$BIN" serve --port "$PORT" --data-dir "$WORK/tern/data" --log-level warning &
SERVER=$!
wait_for_port "$PORT" "$SERVER"
# Creates the table and pre-loads every key (a one-second get run follows; not measured here).
"$BIN" bench --endpoint "http://127.0.0.1:$PORT" --op get --connections "$CONNECTIONS" --seconds 1 \
    --keys "$KEYS" --item-bytes 100 >/dev/null
measure "tern-GetItem" "$PORT" get
measure "tern-PutItem-durable" "$PORT" put
measure "tern-mix-50/50" "$PORT" mix
if [ "$TERN_BENCH" = 1 ]; then
    tern_bench "tern-bench-put" put
    tern_bench "tern-bench-get" get
    tern_bench "tern-bench-mix" mix
fi
stop "$SERVER"; SERVER=""

start_nginx
measure "nginx-stub-after" "$NGINX_PORT" get
stop "$NGINX_PID"; NGINX_PID=""
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# -- the table ---------------------------------------------------------------------------------
# RESULTS: one line per run: label, req/s, p50 ms, p99 ms, failed requests.
awk '
{ label[NR] = $1; rate[NR] = $2; p50[NR] = $3; p99[NR] = $4; bad[NR] = $5
  if ($1 ~ /^nginx/) { stub += $2; stubs++ } }
END {
    stub = stub / stubs
    printf "%-22s %10s %8s %8s %15s %7s\n", "run", "req/s", "p50 ms", "p99 ms", "ratio to nginx", "errors"
    for (i = 1; i <= NR; i++)
        printf "%-22s %10.0f %8.2f %8.2f %15.3f %7d\n", label[i], rate[i], p50[i], p99[i], rate[i] / stub, bad[i]
    printf "(ratio: req/s over the mean of the two nginx stub runs, %.0f req/s)\n", stub
}' "$RESULTS"
if awk '$5 != 0 { bad = 1 } END { exit !bad }' "$RESULTS"; then
    echo "bench.sh: some requests failed (non-2xx or socket errors): the figures are not valid" >&2
    exit 1
fi
