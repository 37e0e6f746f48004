#!/bin/bash
# echo_abuse.sh - 06 keeps serving through bad peers. After each case a
# fresh client (07, 1 thread, 3 messages) must still get every echo:
#   a peer that resets; one that half-closes (it still gets its echo);
#   4 MiB in one go; every byte value; a peer that sends and never reads
#   (06's memory stays bounded: backpressure); --max-conns (over the limit,
#   closed at once, counted); running out of file descriptors (no busy
#   spin, and it recovers); SIGINT with connections open (exit 0, summary).
source "$(dirname "$0")/echo_common.bash"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

start_06 s06

$PEER "$port" reset || fail "reset peer"
fresh_client "a peer that reset its connection"

$PEER "$port" halfclose || fail "half-close"
fresh_client "a half-close"

$PEER "$port" echo 4194304 || fail "4 MiB echo"
fresh_client "a 4 MiB message"

$PEER "$port" garbage || fail "garbage"
grep -q "recv: b'\\\\x00\\\\x01\\\\x02" "$sout" || fail "06 did not print the bytes safely"
fresh_client "every byte value (shown escaped)"

rss0=$(rss_kib "$spid")
$PEER "$port" hog 3 >"$out/hog.out" &
hog=$!
bg_pids+=("$hog")
sleep 1.5
fresh_client "a peer that sends and never reads (while it is still sending)"
wait "$hog" || fail "hog peer"
rss1=$(rss_kib "$spid")
cat "$out/hog.out"
[ $((rss1 - rss0)) -lt 32768 ] || fail "06 grew from $rss0 to $rss1 KiB under a peer that never reads"
pass "06's memory stayed bounded ($rss0 -> $rss1 KiB)"

# SIGINT with two connections open: they are closed, the summary printed.
opened=$(grep -c ' opened$' "$sout")
$PEER "$port" hold 2 5 >/dev/null &
bg_pids+=($!)
for _ in $(seq 100); do
    [ "$(grep -c ' opened$' "$sout")" -ge $((opened + 2)) ] && break
    sleep 0.05
done
stop_06 INT
[ "$(grep -c 'closed: the server is stopping$' "$sout")" = 2 ] || fail "open connections not closed on SIGINT"
pass "SIGINT with 2 connections open: both closed, exit 0, $(tail -n 1 "$sout")"

# --max-conns 5: 8 held connections, 3 of them closed at once.
start_06 limited --quiet --max-conns 5
$PEER "$port" hold 8 1 >"$out/hold.out" || fail "hold peer"
grep -q '^ok holding 8, 3 closed by the server$' "$out/hold.out" || fail "$(cat "$out/hold.out")"
# One warning for the first refusal, not one line each: the rest are counted.
[ "$(grep -c 'refused: 5 open (--max-conns 5) (further refusals are counted in the summary)$' \
     "$out/limited.err")" = 1 ] && [ "$(wc -l <"$out/limited.err")" = 1 ] ||
    fail "not one warning line: $(cat "$out/limited.err")"
fresh_client "--max-conns refusals"
stop_06 TERM
tail -n 1 "$sout" | grep -q ', 3 refused (--max-conns)' || fail "$(tail -n 1 "$sout")"
pass "--max-conns 5: 3 of 8 closed at once, one warning, all counted"

# Out of descriptors: 40 of them in all, 60 connections held open.
(ulimit -n 40 && exec "$S06" --port 0 --quiet) >"$out/starved.out" 2>"$out/starved.err" &
spid=$! sout=$out/starved.out
bg_pids+=("$spid")
port=$(first_port "$sout") || fail "06 with 40 fds did not start"
$PEER "$port" hold 60 3 >"$out/hold60.out" &
holder=$!
bg_pids+=("$holder")
wait_for "$out/starved.err" 'pausing new connections'
t0=$(cpu_ticks "$spid")
sleep 1
t1=$(cpu_ticks "$spid")
[ $((t1 - t0)) -lt 30 ] || fail "06 used $((t1 - t0)) ticks in 1 s while out of fds: a busy spin"
pass "out of fds: 06 waits ($((t1 - t0)) clock ticks of CPU in 1 s)"
wait "$holder"
wait_for "$out/starved.err" 'accepting again'
fresh_client "running out of file descriptors"
stop_06 TERM
pass "06 recovered once descriptors were free again"
