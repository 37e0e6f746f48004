#!/bin/bash
# echo_idle_timeout.sh - silent connections cannot lock everyone out
# (issue 11). 06 --max-conns 300 --idle-timeout 1: 300 connections that
# never send fill every slot, so a new client is refused at first; within
# about a second 06 closes all 300 (each counted in the summary as closed
# idle), and a new client is served again. --idle-timeout 0 closes nobody.
# Before, 06 had no idle timeout and the 300 held their slots for ever.
source "$(dirname "$0")/echo_common.bash"

start_06 idle --quiet --max-conns 300 --idle-timeout 1
timeout 30 $PEER "$port" idle 300 6 >"$out/idlers.out" 2>&1 &
idler=$!
bg_pids+=("$idler")
sleep 0.5 # the 300 are in; a newcomer is refused while they stay
timeout 10 $PEER "$port" echo 10 >"$out/refused.out" 2>&1 &&
    fail "a 301st client was served beyond --max-conns 300"
wait "$idler" || fail "idle peer: $(cat "$out/idlers.out")"
cat "$out/idlers.out"
grep -q '^ok 300 idle, 300 closed by the server$' "$out/idlers.out" ||
    fail "06 did not close the 300 silent connections"
fresh_client "300 silent connections timed out"
stop_06
tail -n 1 "$sout"
tail -n 1 "$sout" | grep -Eq '^summary: .*, [1-9][0-9]* refused \(--max-conns\), 300 closed idle \(--idle-timeout\), ' ||
    fail "the summary does not count them: $(tail -n 1 "$sout")"
pass "--idle-timeout 1: 300 silent connections closed, the slots free again"

# --idle-timeout 0: nobody is closed for being silent.
start_06 forever --quiet --idle-timeout 0
timeout 30 $PEER "$port" idle 20 2 >"$out/forever.out" 2>&1 || fail "$(cat "$out/forever.out")"
grep -q '^ok 20 idle, 0 closed by the server$' "$out/forever.out" ||
    fail "--idle-timeout 0 closed someone: $(cat "$out/forever.out")"
stop_06
pass "--idle-timeout 0: 20 silent connections kept"
