#!/bin/bash
# echo_workers.sh - 06 --workers 2 runs two server processes on one port
# (SO_REUSEPORT), each with its own hub (issue 13). 50 clients connect from
# 50 source ports; the kernel spreads them over the two listeners by a hash
# of the addresses, so both workers serve some (the chance that one gets
# all 50 is 2^-49). The parent prints one line per worker and the summary
# adds them up. --demo cannot be combined with --workers (usage error).
source "$(dirname "$0")/echo_common.bash"
perl -MTime::HiRes -e1 2>/dev/null || { echo "SKIP: perl's Time::HiRes is needed"; exit 77; }

start_06 workers --quiet --workers 2
sed -n 3p "$sout" | grep -q '^workers: 2 processes share the port' || fail "no workers line: $(cat "$sout")"
[ "$(pgrep -c -P "$spid")" = 2 ] || fail "not 2 worker processes under 06 (pid $spid)"
timeout 30 $PEER "$port" pingers 50 1 >"$out/pingers.out" 2>&1 || fail "$(cat "$out/pingers.out")"
cat "$out/pingers.out"
fresh_client "the workers served 50 clients"
stop_06 TERM
grep '^worker ' "$sout"
mapfile -t per < <(sed -n 's/^worker [12] (pid [0-9]*): \([0-9]*\) connections, .*/\1/p' "$sout")
[ "${#per[@]}" = 2 ] || fail "not one line per worker: $(cat "$sout")"
[ "${per[0]}" -gt 0 ] && [ "${per[1]}" -gt 0 ] || fail "one worker served nobody: ${per[*]}"
[ $((per[0] + per[1])) = 51 ] || fail "the workers' connections do not add up to 51: ${per[*]}"
tail -n 1 "$sout" | grep -q '^summary: 51 connections, [0-9]* bytes echoed' || fail "$(tail -n 1 "$sout")"
pass "2 workers shared 51 connections: ${per[0]} + ${per[1]}"

"$S06" --demo --workers 2 >/dev/null 2>"$out/usage.err"
[ $? = 2 ] && grep -q 'without --workers' "$out/usage.err" || fail "--demo --workers: $(cat "$out/usage.err")"
pass "--demo --workers 2 is refused with a usage error"
