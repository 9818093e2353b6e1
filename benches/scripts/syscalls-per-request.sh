#!/usr/bin/env bash
# System calls per request of one benchmark server under a fixed HTTP load, counted by
# `strace -c -f` attached to the server only (the load generator is not traced).
#
#   benches/scripts/syscalls-per-request.sh [VARIANT...]     (default: baseline
#                                                              typed-value-encrypt typed-id-memory)
#   SCENARIO=fresh|sticky|untouched   (default fresh)   DURATION=seconds (default 5)
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
trap 'rm -rf "$work"' EXIT
for variant in "$@"; do
    "$bin/bench-server" --variant "$variant" --port 0 > "$work/server.out" 2>&1 &
    server=$!
    addr=
    for _ in $(seq 100); do
        addr=$(awk '/^listening/{print $2}' "$work/server.out")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || { echo "$variant: the server did not start" >&2; cat "$work/server.out" >&2; exit 1; }
    # Warm up (the storage's tables, the allocator) before tracing.
    "$bin/loadgen" --addr "$addr" --scenario "$scenario" --warmup 0.5 --duration 2 > /dev/null 2>&1
    strace -c -f -p "$server" -o "$work/strace.txt" 2> /dev/null &
    tracer=$!
    sleep 1
    "$bin/loadgen" --addr "$addr" --scenario "$scenario" --warmup 0 --duration "$duration" \
        > "$work/load.json" 2> /dev/null
    sleep 0.5
    kill -INT "$tracer"; wait "$tracer" || true
    kill "$server"; wait "$server" 2>/dev/null || true
    requests=$(grep -o '"requests":[0-9]*' "$work/load.json" | cut -d: -f2)
    echo "== $variant, $scenario: $requests requests while traced"
    awk -v n="$requests" '$NF ~ /^[a-z_0-9]+$/ && $NF != "total" && $4 ~ /^[0-9]+$/ {
        printf "  %-14s %9d calls  %8.5f per request\n", $NF, $4, $4 / n }
        $NF == "total" { printf "  %-14s %9d calls  %8.5f per request\n", "total", $4, $4 / n }' \
        "$work/strace.txt"
done
