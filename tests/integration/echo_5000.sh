#!/bin/bash
# echo_5000.sh - 06 holds 5,000 connections at once, in one thread: 07 opens
# 5,000 greenlet clients, all connect before any sends and none closes
# before all are done, 5 messages each, every echo checked; 06's summary
# must say 5000 at once. (The issue asks 06 for 10,000: the same code, run
# it by hand with --coroutines 10000; 5,000 keeps this test short.)
source "$(dirname "$0")/echo_common.bash"

need=$((2 * 5000 + 200))  # client and server each hold 5,000 descriptors
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
    echo "SKIP: the hard limit on open files is $hard; this test needs $need (ulimit -Hn)"
    exit 77
fi

start_06 s06 --quiet
timeout 300 "$C07" --port "$port" --coroutines 5000 --messages 5 --quiet --timeout 30 \
    >"$out/07.out" 2>"$out/07.err" || fail "07: $(cat "$out/07.out" "$out/07.err")"
cat "$out/07.out"
grep -q '^connections: 5000 opened, 0 failed$' "$out/07.out" || fail "not 5000 connections"
grep -q '^every echo matched what was sent$' "$out/07.out" || fail "echo mismatch"
stop_06 TERM
tail -n 1 "$sout"
tail -n 1 "$sout" | grep -q '^summary: 5000 connections, [0-9]* bytes echoed, at most 5000 at once$' ||
    fail "06 did not hold 5000 at once"
pass "5000 concurrent connections served by one thread"
