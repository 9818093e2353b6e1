#!/usr/bin/env bash
# System calls per request of one benchmark server under a fixed HTTP load, counted by
# `strace -c -f` attached to the server only (the load generator is not traced).
#
#   benches/scripts/syscalls-per-request.sh [VARIANT...]     (default: baseline
#                                                              typed-value-encrypt typed-id-memory)
#   SCENARIO=fresh|sticky|untouched   (default fresh)   DURATION=seconds (default 5)
#
# A variant on Redis (`*redis*`) gets a `redis-server` of its own on a free port (persistence
# off), traced as well and reported on a line of its own.
#
# Needs the release binaries: cargo build --release -p typed-sessions-bench --bins
# Prints, per variant, the requests served while traced, every system call with its count, and
# the count per request.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${CARGO_TARGET_DIR:-target}/release
scenario=${SCENARIO:-fresh}
duration=${DURATION:-5}
[ $# -gt 0 ] || set -- baseline typed-value-encrypt typed-id-memory
work=$(mktemp -d)
pids=()
# Whatever stops the script, nothing it started outlives it.
trap 'for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; rm -rf "$work"' EXIT
report() { # report FILE REQUESTS LABEL
    echo "$3"
    awk -v n="$2" '$NF ~ /^[a-z_0-9]+$/ && $NF != "total" && $4 ~ /^[0-9]+$/ {
        printf "  %-14s %9d calls  %8.5f per request\n", $NF, $4, $4 / n }
        $NF == "total" { printf "  %-14s %9d calls  %8.5f per request\n", "total", $4, $4 / n }' "$1"
}
for variant in "$@"; do
    server_args=() load_args=() redis=
    case "$variant" in
        baseline|floor-*) load_args+=(--stateless) ;;
    esac
    case "$variant" in
        *redis*)
            port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
            redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
                --loglevel warning --dir "$work" > /dev/null &
            redis=$!
            pids+=("$redis")
            answered=
            for _ in $(seq 100); do
                redis-cli -p "$port" ping 2> /dev/null | grep -q PONG && { answered=1; break; }
                sleep 0.1
            done
            [ -n "$answered" ] || { echo "$variant: redis-server did not answer" >&2; exit 1; }
            server_args+=(--redis "redis://127.0.0.1:$port") ;;
    esac
    "$bin/bench-server" --variant "$variant" --port 0 "${server_args[@]}" > "$work/server.out" 2>&1 &
    server=$!
    pids+=("$server")
    addr=
    for _ in $(seq 100); do
        addr=$(awk '/^listening/{print $2}' "$work/server.out")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "$variant: the server did not start" >&2; cat "$work/server.out" >&2; exit 1; }
    # Warm up (the storage's tables, the allocator) before tracing.
    "$bin/loadgen" --addr "$addr" --scenario "$scenario" --warmup 0.5 --duration 2 \
        "${load_args[@]}" > /dev/null 2>&1
    strace -c -f -p "$server" -o "$work/strace.txt" 2> /dev/null &
    tracer=$!
    pids+=("$tracer")
    if [ -n "$redis" ]; then
        strace -c -f -p "$redis" -o "$work/strace-redis.txt" 2> /dev/null &
        redis_tracer=$!
        pids+=("$redis_tracer")
    fi
    sleep 1
    "$bin/loadgen" --addr "$addr" --scenario "$scenario" --warmup 0 --duration "$duration" \
        "${load_args[@]}" > "$work/load.json" 2> /dev/null
    sleep 0.5
    kill -INT "$tracer"; wait "$tracer" || true
    kill "$server"; wait "$server" 2>/dev/null || true
    requests=$(grep -o '"requests":[0-9]*' "$work/load.json" | cut -d: -f2)
    report "$work/strace.txt" "$requests" "== $variant, $scenario: $requests requests while traced"
    if [ -n "$redis" ]; then
        kill -INT "$redis_tracer"; wait "$redis_tracer" || true
        kill "$redis"; wait "$redis" 2>/dev/null || true
        report "$work/strace-redis.txt" "$requests" "   its redis-server, over the same requests"
    fi
done
