#!/bin/bash
# echo_bench.sh - 06 (one greenlet per connection) against a plain epoll
# echo server, both driven by 07 in coroutine mode; 07 against a
# hand-written epoll client; system calls per message; 06 --workers 1 vs 2;
# then 06's backends.
#
#   tests/bench/echo_bench.sh [SECONDS]     each run lasts SECONDS (default 2.5)
#   tests/bench/echo_bench.sh --quick       0.5 s runs, one of each (a smoke test)
#
# For 100 and 1,000 connections of 64-byte and 4 KiB messages it prints:
#   epoll server, 07 --coroutines     messages/s
#   06 --quiet,   07 --coroutines     messages/s, and the ratio to the line
#                                     above (issue 12: target >= 1.0x)
#   epoll server, epoll client        messages/s of a hand-written client,
#                                     and 07's ratio to it (target >= 1.0x)
# then system calls per echoed message (perf stat -e raw_syscalls:sys_enter;
# target 2.0) of 06 as the server and of 07 as the client; then 06
# --workers 1 and 2 with the client pinned to a core of its own (taskset;
# no target); then 06 with --backend epoll, poll and select at 1,000
# connections. Client and server share this machine's cores; the figures
# are what the pair reaches together. Every server is on 127.0.0.1 and is
# stopped at the end. No figure is asserted.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
secs=${1:-2.5}
reps="1 2"
[ "$secs" = --quick ] && secs=0.5 reps=1
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

rate07() { # PORT CONNS [SIZE]
    "$client07" --port "$1" --coroutines "$2" --size "${3:-64}" --duration "$secs" --quiet \
        | sed -n 's/^time: .*, \([0-9]*\) messages\/s$/\1/p'
}

rate_epoll_client() { # PORT CONNS [SIZE]
    "$epoll" --drive --port "$1" --conns "$2" --size "${3:-64}" --seconds "$secs" \
        | sed -n 's/^\([0-9]*\) messages\/s$/\1/p'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

best() { [ "${1:-0}" -ge "${2:-0}" ] && echo "${1:-0}" || echo "${2:-0}"; }

# The machine is shared: each pair is measured twice, alternating, and the
# better run of each kept (the one that noise touched least).
echo "echo: $secs s per run, best of $(echo $reps | wc -w), on $(nproc) cores"
for size in 64 4096; do
    for n in 100 1000; do
        raw=0 ours=0 hand=0
        for _ in $reps; do
            start epoll "$epoll" --serve --port 0
            raw=$(best "$raw" "$(rate07 "$port" "$n" "$size")")
            hand=$(best "$hand" "$(rate_epoll_client "$port" "$n" "$size")")
            stop
            start s06 "$server06" --quiet --port 0
            ours=$(best "$ours" "$(rate07 "$port" "$n" "$size")")
            stop
        done
        [ "$n" = 1000 ] && [ "$size" = 64 ] && epoll1000=$ours
        printf '%5d connections, %4d B:\n' "$n" "$size"
        printf '  epoll server <- 07 --coroutines  %8s messages/s\n' "$raw"
        printf '  06 --quiet   <- 07 --coroutines  %8s messages/s   06: %sx the epoll server  (target >= 1.0x)\n' "$ours" "$(ratio "$ours" "$raw")"
        printf '  epoll server <- epoll client     %8s messages/s   07: %sx the epoll client  (target >= 1.0x)\n' "$hand" "$(ratio "$raw" "$hand")"
    done
done

# System calls per echoed message: perf counts every system call entered
# by the process (setup, accepts and epoll_wait included), divided by the
# messages 07 reports. Target 2.0 (a recv and a send; epoll_wait is
# shared by the sockets ready at once).
if perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
    count() { sed -n 's/^\([0-9]*\),.*raw_syscalls:sys_enter.*/\1/p' "$1"; }
    msgs() { sed -n 's/^messages: \([0-9]*\) sent.*/\1/p' "$1"; }
    per() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
    echo "system calls per message (perf stat -e raw_syscalls:sys_enter, 100 connections, 64 B):"
    # the server: perf runs 06, and ends when 06 is stopped
    start s06perf perf stat -e raw_syscalls:sys_enter -x, -o "$out/s06.perf" -- "$server06" --quiet --port 0
    "$client07" --port "$port" --coroutines 100 --size 64 --duration "$secs" --quiet >"$out/c.txt"
    pkill -TERM -P "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null; unset 'pids[-1]'
    printf '  06 (server)  %s  (target 2.0)\n' "$(per "$(count "$out/s06.perf")" "$(msgs "$out/c.txt")")"
    start epoll "$epoll" --serve --port 0
    perf stat -e raw_syscalls:sys_enter -x, -o "$out/c07.perf" -- \
        "$client07" --port "$port" --coroutines 100 --size 64 --duration "$secs" --quiet >"$out/c.txt"
    stop
    printf '  07 (client)  %s  (target 2.0)\n' "$(per "$(count "$out/c07.perf")" "$(msgs "$out/c.txt")")"
else
    echo "system calls per message: n/a (perf stat -e raw_syscalls:sys_enter does not work here)"
fi

# Both cores (issue 12 item 4): 06 with one worker process, then two, the
# load generator pinned to a core of its own. On a 2-core machine the
# second worker shares the client's core, so there is no target.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    last=$(($(nproc) - 1))
    echo "06 --workers at 1000 connections, 64 B (07 pinned to cpu $last):"
    for w in 1 2; do
        cpus=0; [ "$w" = 2 ] && cpus=0-$last
        r=0
        for _ in $reps; do
            start "w$w" taskset -c "$cpus" "$server06" --quiet --port 0 --workers "$w"
            r=$(best "$r" "$(taskset -c "$last" "$client07" --port "$port" --coroutines 1000 \
                --size 64 --duration "$secs" --quiet | sed -n 's/^time: .*, \([0-9]*\) messages\/s$/\1/p')")
            stop
        done
        [ "$w" = 1 ] && w1=$r
        printf '  --workers %d (cpus %s)  %8s messages/s   %sx one worker  (no target)\n' "$w" "$cpus" "$r" "$(ratio "$r" "$w1")"
    done
else
    echo "06 --workers: n/a (needs 2 cores and taskset)"
fi

echo "06 backends at 1000 connections (07 --coroutines 1000):"
printf '  %-7s %8s messages/s\n' epoll "$epoll1000"
for b in poll select; do
    start "s06-$b" "$server06" --quiet --port 0 --backend "$b"
    printf '  %-7s %8s messages/s\n' "$b" "$(rate07 "$port" 1000)"
    stop
done
