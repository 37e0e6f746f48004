#!/bin/bash
# echo_fairness.sh - one client streaming at full speed must not starve the
# others (issue 11). A firehose (a writer and a reader process on one
# connection, 1 MiB at a time) keeps 06's receive buffer full and its send
# buffer empty, so its greenlet's recv and send never wait; 50 ordinary
# clients beside it each send 64 bytes and wait for the echo, again and
# again. cosock's recv/send yield after a bounded run of calls that did not
# wait, so their p99 latency stays small; before, it was the whole run.
# The bound (1 s) is generous for a loaded 2-core machine.
source "$(dirname "$0")/echo_common.bash"
perl -MTime::HiRes -e1 2>/dev/null || { echo "SKIP: perl's Time::HiRes is needed"; exit 77; }

start_06 fair --quiet
timeout 30 $PEER "$port" firehose 6 >"$out/firehose.out" 2>&1 &
fh=$!
bg_pids+=("$fh")
sleep 1 # the firehose is streaming
timeout 30 $PEER "$port" pingers 50 3 >"$out/pingers.out" 2>&1 ||
    fail "pingers: $(cat "$out/pingers.out")"
cat "$out/pingers.out"
wait "$fh" || fail "firehose: $(cat "$out/firehose.out")"
cat "$out/firehose.out"
read -r replies p99 < <(sed -n 's/.* \([0-9]*\) replies, .* p99 \([0-9.]*\) s.*/\1 \2/p' "$out/pingers.out")
[ -n "${p99:-}" ] || fail "no figures from the pingers"
awk -v p="$p99" 'BEGIN { exit !(p < 1.0) }' ||
    fail "p99 latency ${p99} s beside a firehose (bound: 1 s)"
[ "$replies" -ge 500 ] || fail "only $replies replies to 50 clients in 3 s"
grep -Eq 'got [1-9][0-9]{6,} bytes' "$out/firehose.out" || fail "the firehose itself was starved"
pass "50 clients beside a firehose: p99 ${p99} s, $replies replies"
stop_06
