#!/bin/bash
# echo_trace.sh - lesson 06 under --trace (issue 10): `06 --port 0 --demo
# --trace` traces every switch on stderr, naming each connection's
# greenlet (conn-1) and the demo client, and still prints its transcript
# on stdout. Built with SAN=1 this run is checked by AddressSanitizer: the
# tracer used to read a connection's name after 06 had freed it
# (heap-use-after-free); now greenlets own their names.
source "$(dirname "$0")/echo_common.bash"

(cd "$root/06_socket_server" && timeout 30 ./06_socket_server --port 0 --demo --trace) \
    >"$out/trace.out" 2>"$out/trace.err"
st=$?
grep -q 'AddressSanitizer\|runtime error' "$out/trace.err" && fail "sanitizer: $(grep -m 5 -A 5 'ERROR\|runtime error' "$out/trace.err")"
[ "$st" = 0 ] || fail "06 --demo --trace exited with status $st: $(tail -n 5 "$out/trace.err")"
grep -Eq '^ +[0-9.]+ +main +spawn conn-1$' "$out/trace.err" || fail "no 'spawn conn-1' in the trace"
grep -Eq ' hub +-> conn-1 +start$' "$out/trace.err" || fail "conn-1 never started in the trace"
grep -Eq ' conn-1 +-> hub +ended' "$out/trace.err" || fail "conn-1 never ended in the trace"
grep -Eq ' hub +-> demo +start$' "$out/trace.err" || fail "the demo client is not in the trace"
[ "$(grep -c ' -> ' "$out/trace.err")" -ge 10 ] || fail "too few switches traced"
normalize "$out/trace.out" >"$out/trace.norm"
normalize "$root/06_socket_server/expected.txt" | diff -u - "$out/trace.norm" >"$out/trace.diff" ||
    fail "stdout under --trace differs from expected.txt: $(cat "$out/trace.diff")"
pass "06 --demo --trace: $(grep -c ' -> ' "$out/trace.err") switches traced, conn-1 and demo named, transcript unchanged"
