#!/bin/bash
# echo_load.sh - 07 loads 06 and every echo comes back as sent: 100 OS
# threads x 10 messages, 1,000 greenlets x 10 messages, 1 MiB messages; the
# server's summary counts them all. Then 07 against servers that refuse,
# reset or never answer: a message per failure, a summary, exit status 1,
# and no hang (each run is bounded by timeout(1)). echo_load_limits.sh
# goes further: 16 MiB messages, signals, stacks, 12,000 greenlets.
source "$(dirname "$0")/echo_common.bash"

# load NAME ARGS...: a 07 run that must succeed with every echo matched
load() {
    local name=$1; shift
    timeout 120 "$C07" --port "$port" --quiet "$@" >"$out/$name.out" 2>"$out/$name.err" ||
        fail "07 $*: exit status $?: $(cat "$out/$name.out" "$out/$name.err")"
    grep -q '^every echo matched what was sent$' "$out/$name.out" || fail "07 $*: $(cat "$out/$name.out")"
    pass "07 $*: $(grep '^messages:' "$out/$name.out")"
}

start_06 s06 --quiet
load threads --threads 100 --messages 10
grep -q '^connections: 100 opened, 0 failed$' "$out/threads.out" || fail "not 100 connections"
grep -q '^messages: 1000 sent, 1000 echoed, 0 mismatched$' "$out/threads.out" || fail "not 1000 echoes"
load coroutines --coroutines 1000 --messages 10
grep -q '^messages: 10000 sent, 10000 echoed, 0 mismatched$' "$out/coroutines.out" || fail "not 10000 echoes"
load big --coroutines 4 --messages 3 --size 1048576
load padded --threads 10 --duration 0.5 --size 64
stop_06 INT
summary=$(tail -n 1 "$sout")
# 100 + 1000 + 4 + 10 connections, the 1000 greenlets all open at once
echo "$summary" | grep -q '^summary: 1114 connections, [0-9]* bytes echoed' || fail "06: $summary"
echo "$summary" | grep -q 'at most 1000 at once$' || fail "06: $summary"
pass "06 $summary"

# A server that is down: refused at once.
lfd_port=$("$S06" --port 0 --demo | head -n 1 | sed 's/.*://') # a port nobody listens on now
st=0
timeout 30 "$C07" --port "$lfd_port" --threads 5 >"$out/down.out" 2>"$out/down.err" || st=$?
[ "$st" = 1 ] || fail "07 against no server: status $st"
[ "$(grep -c 'Connection refused' "$out/down.err")" = 5 ] || fail "07: $(cat "$out/down.err")"
grep -q '^connections: 0 opened, 5 failed$' "$out/down.out" || fail "07: $(cat "$out/down.out")"
pass "07 against no server: 5 refusals reported, summary, status 1"

# A server that resets every connection, then one that never answers.
for mode in reset silent; do
    $PEER 0 serve "$mode" >"$out/peer-$mode.out" 2>&1 &
    bg_pids+=($!)
    p=$(first_port "$out/peer-$mode.out") || fail "perl peer did not start"
    for model in --threads --coroutines; do
        st=0
        timeout 30 "$C07" --port "$p" $model 3 --timeout 0.5 >"$out/$mode.out" 2>"$out/$mode.err" || st=$?
        [ "$st" = 1 ] || fail "07 $model against a $mode server: status $st"
        grep -q '^FAILED: 3 connections had errors' "$out/$mode.out" || fail "07 $model: $(cat "$out/$mode.out")"
        # A reset can come before the connect has finished (the kernel
        # completes the handshake before the server accepts, and the RST may
        # arrive before 07 looks), or at a send or recv: one line each.
        [ "$(grep -c '\] \(connect to [^:]*\|send\|recv\): ' "$out/$mode.err")" = 3 ] ||
            fail "07 $model: $(cat "$out/$mode.err")"
        pass "07 $model against a $mode server: $(head -n 1 "$out/$mode.err" | sed 's/.*: //'), status 1"
    done
done
