#!/bin/bash
# echo_stdout_stall.sh - 06's log must never stall the server (issue 11).
# 06 writes its per-message lines into a fifo that this script opens and
# stops reading after the first line (a terminal stopped with Ctrl-S, a
# pipe into a program that went away): the fifo fills within a few
# thousand lines. Then 06 must (1) still echo for a fresh client, (2) stop
# on SIGTERM within a few seconds, (3) say in its summary how many lines it
# dropped. Before, it froze in write(): every client timed out and SIGTERM
# was never handled.
source "$(dirname "$0")/echo_common.bash"
perl -MTime::HiRes -e1 2>/dev/null || { echo "SKIP: perl's Time::HiRes is needed"; exit 77; }

fifo=$out/stdout.fifo
mkfifo "$fifo" || fail "mkfifo"
exec 3<>"$fifo" # the reader that stops reading (read-write: never EOF)
"$S06" --port 0 >"$fifo" 2>"$out/s06.err" &
spid=$!
bg_pids+=("$spid")
IFS= read -r -t 5 first <&3 || fail "06 printed no first line: $(cat "$out/s06.err")"
port=${first##*:}
echo "$first"

# Enough traffic for far more than the fifo holds (64 KiB).
timeout 30 $PEER "$port" pingers 20 2 >"$out/pingers.out" 2>&1 ||
    fail "clients were not served with stdout stalled: $(cat "$out/pingers.out")"
cat "$out/pingers.out"
timeout 10 $PEER "$port" echo 100000 >"$out/fresh.out" 2>&1 ||
    fail "a fresh client was not served with stdout stalled: $(cat "$out/fresh.out")"
pass "still serving with stdout stalled: $(cat "$out/fresh.out")"

kill -TERM "$spid"
( sleep 0.5; timeout 10 cat <&3 >"$out/stdout.txt" ) &
bg_pids+=($!)
for _ in $(seq 100); do
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$spid" 2>/dev/null && fail "06 did not stop within 5 s of SIGTERM with stdout stalled"
wait "$spid" || fail "06 exited with status $? after SIGTERM"
pass "stopped promptly on SIGTERM"
sleep 1.5 # the reader takes what is left
summary=$(grep -a '^summary: ' "$out/stdout.txt")
echo "$summary"
[[ $summary =~ \ [1-9][0-9]*\ log\ lines\ dropped\ \(stdout\ full\) ]] ||
    fail "the summary does not count the dropped lines: '$summary'"
pass "dropped log lines counted in the summary"
