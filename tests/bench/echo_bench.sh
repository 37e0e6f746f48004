#!/bin/bash
# echo_bench.sh - 06 (one greenlet per connection) against a plain epoll
# echo server, both driven by 07 in coroutine mode; then 06's backends.
#
#   tests/bench/echo_bench.sh [SECONDS]     each run lasts SECONDS (default 2.5)
#   tests/bench/echo_bench.sh --quick       0.5 s runs (a smoke test)
#
# For 100 and 1,000 connections of 64-byte messages it prints:
#   epoll server, 07 --coroutines     messages/s
#   06 --quiet,   07 --coroutines     messages/s, and the ratio to the line above
#   epoll server, epoll client        messages/s: how hard a hand-written
#                                     client drives the raw server, to compare
#                                     with 07's line
# then 06 with --backend epoll, poll and select at 1,000 connections.
# Client and server share this machine's cores; the figures are what the
# pair reaches together. Every server is on 127.0.0.1 and is stopped at the end.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
secs=${1:-2.5}
[ "$secs" = --quick ] && secs=0.5
server06=$root/06_socket_server/06_socket_server
client07=$root/07_load_client/07_load_client
epoll=$root/tests/bench/echo_epoll
for b in "$server06" "$client07" "$epoll"; do
    [ -x "$b" ] || { echo "echo_bench: $b is not built (run make)" >&2; exit 2; }
done
out=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT

# start NAME CMD...: run a server printing "... listening on ADDR:PORT"
# first; sets $port.
start() {
    local name=$1; shift
    "$@" >"$out/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        port=$(head -n 1 "$out/$name.log" 2>/dev/null | sed -n 's/.*listening on [^ ]*:\([0-9]*\)$/\1/p')
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "echo_bench: $name did not start" >&2
    exit 1
}

stop() {
    kill "${pids[-1]}" 2>/dev/null
    wait "${pids[-1]}" 2>/dev/null
    unset 'pids[-1]'
}

rate07() { # PORT CONNS
    "$client07" --port "$1" --coroutines "$2" --size 64 --duration "$secs" --quiet \
        | sed -n 's/^time: .*, \([0-9]*\) messages\/s$/\1/p'
}

rate_epoll_client() { # PORT CONNS
    "$epoll" --drive --port "$1" --conns "$2" --size 64 --seconds "$secs" \
        | sed -n 's/^\([0-9]*\) messages\/s$/\1/p'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

best() { [ "${1:-0}" -ge "${2:-0}" ] && echo "${1:-0}" || echo "${2:-0}"; }

# The machine is shared: each pair is measured twice, alternating, and the
# better run of each kept (the one that noise touched least).
echo "64-byte messages, $secs s per run, best of 2, on $(nproc) cores"
for n in 100 1000; do
    raw=0 ours=0
    for _ in 1 2; do
        start epoll "$epoll" --serve --port 0
        raw=$(best "$raw" "$(rate07 "$port" "$n")")
        [ -n "${hand:-}" ] && [ "$n" = "$hand_n" ] || { hand=$(rate_epoll_client "$port" "$n"); hand_n=$n; }
        stop
        start s06 "$server06" --quiet --port 0
        ours=$(best "$ours" "$(rate07 "$port" "$n")")
        stop
    done
    [ "$n" = 1000 ] && epoll1000=$ours
    printf '%5d connections:\n' "$n"
    printf '  epoll server <- 07 --coroutines  %8s messages/s\n' "$raw"
    printf '  06 --quiet   <- 07 --coroutines  %8s messages/s   %sx the epoll server\n' "$ours" "$(ratio "$ours" "$raw")"
    printf '  epoll server <- epoll client     %8s messages/s   (07 drives it at %sx this)\n' "$hand" "$(ratio "$raw" "$hand")"
done

echo "06 backends at 1000 connections (07 --coroutines 1000):"
printf '  %-7s %8s messages/s\n' epoll "$epoll1000"
for b in poll select; do
    start "s06-$b" "$server06" --quiet --port 0 --backend "$b"
    printf '  %-7s %8s messages/s\n' "$b" "$(rate07 "$port" 1000)"
    stop
done
