#!/bin/bash
# echo_ipv6.sh - 06 on IPv6 loopback: `--bind ::1` prints its address the
# way a URL writes it ([::1]:PORT, not the ambiguous ::1:PORT), and serves
# a client there. Skips where this machine has no ::1.
source "$(dirname "$0")/echo_common.bash"

ip -6 addr show lo 2>/dev/null | grep -q '::1/128' ||
    { echo "SKIP: no IPv6 loopback (::1) here"; exit 77; }

start_06 s06 --bind ::1
head -n 1 "$sout" | grep -Eq '^06_socket_server listening on \[::1\]:[0-9]+$' ||
    fail "first line is not 'listening on [::1]:PORT': $(head -n 1 "$sout")"
pass "06 says [::1]:$port"

timeout 30 "$C07" --host ::1 --port "$port" --threads 1 --messages 3 --quiet \
    >"$out/c07.out" 2>&1 || fail "07 over ::1: $(cat "$out/c07.out")"
wait_for "$sout" '^connection 1 from \[::1\]:[0-9]+ opened$'
pass "a client over ::1 was served, and its address printed [::1]:PORT"
stop_06
pass "06 stopped with a summary"
