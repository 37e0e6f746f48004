#!/bin/bash
# echo_load_limits.sh - 07 at its limits, in both models (--threads and
# --coroutines): 16 MiB messages (it must read while it writes, or client
# and server both block sending); a signal stops a run at once, says so and
# exits 1; --timeout is per message in both models (a server that drips
# its echo a byte at a time cannot hold a client past it); bytes after the
# last echo are a mismatch, shown as Python's repr; greenlets that get no
# stack are reported (exit 1, no hang); past 10,000 greenlets the shared
# stack takes 12,000 connections at once, and 100,000 greenlets start and
# end. Every run is bounded by timeout(1).
source "$(dirname "$0")/echo_common.bash"

models=(--threads --coroutines)

# 16 MiB messages against 06: more than the socket buffers of both hold.
start_06 s06 --quiet
for model in "${models[@]}"; do
    st=0
    timeout 60 "$C07" --port "$port" $model 2 --messages 2 --size 16M --quiet \
        >"$out/big.out" 2>"$out/big.err" || st=$?
    [ "$st" = 0 ] || fail "07 $model --size 16M: status $st: $(cat "$out/big.out" "$out/big.err")"
    grep -q '^messages: 4 sent, 4 echoed, 0 mismatched$' "$out/big.out" || fail "07 $model --size 16M: $(cat "$out/big.out")"
    pass "07 $model 2 --size 16M: $(grep '^time:' "$out/big.out")"
done

# stopped SIGNAL ARGS...: a run that SIGNAL stops after 0.5 s must end
# within 5 s, say so, and exit 1.
stopped() {
    local sig=$1; shift
    timeout 20 "$C07" "$@" --quiet >"$out/stop.out" 2>"$out/stop.err" &
    local pid=$! t0=$SECONDS st=0
    sleep 0.5
    kill -"$sig" "$pid"
    wait "$pid" || st=$?
    [ "$st" = 1 ] || fail "07 $* stopped by SIG$sig: status $st (124: it did not stop)"
    [ $((SECONDS - t0)) -le 5 ] || fail "07 $* took $((SECONDS - t0)) s to stop on SIG$sig"
    grep -q "^STOPPED: by SIG$sig before the end of the run\$" "$out/stop.out" ||
        fail "07 $* stopped by SIG$sig: $(cat "$out/stop.out" "$out/stop.err")"
    pass "07 $* stopped by SIG$sig: says so, status 1"
}
for model in "${models[@]}"; do
    stopped INT --port "$port" $model 20 --duration 30
done
stop_06 INT

# serve MODE: a perl peer server (echo_peer.pl); sets $p.
serve() {
    $PEER 0 serve "$1" >"$out/peer-$1.out" 2>&1 &
    bg_pids+=($!)
    p=$(first_port "$out/peer-$1.out") || fail "perl peer ($1) did not start"
}

# Waiting on a server that never answers: each signal, each model.
serve silent
for model in "${models[@]}"; do
    for sig in INT TERM; do
        stopped "$sig" --port "$p" $model 20 --timeout 60
    done
done

# A server that drips the echo a byte every 0.1 s: 20 bytes take 2 s, past
# a --timeout of 1 s for the message (though each byte comes within it).
serve drip
for model in "${models[@]}"; do
    st=0
    timeout 20 "$C07" --port "$p" $model 1 --messages 1 --size 20 --timeout 1 \
        >"$out/drip.out" 2>"$out/drip.err" || st=$?
    [ "$st" = 1 ] || fail "07 $model against a dripping server: status $st: $(cat "$out/drip.out")"
    grep -q '\[1\] recv: timed out$' "$out/drip.err" || fail "07 $model: $(cat "$out/drip.err")"
    pass "07 $model --timeout 1 against a 2 s drip: recv timed out, status 1"
done

# A server that adds "extra!\n" after each echo: the second echo differs,
# and bytes are left after the last one. Both shown escaped: b'extra!\n'.
serve extra
for model in "${models[@]}"; do
    st=0
    timeout 20 "$C07" --port "$p" $model 1 --messages 2 --quiet \
        >"$out/extra.out" 2>"$out/extra.err" || st=$?
    [ "$st" = 1 ] || fail "07 $model against a server that adds bytes: status $st"
    grep -qF "[1] echo 1 differs from what was sent: b'extra!\\n'" "$out/extra.err" ||
        fail "07 $model: $(cat "$out/extra.err")"
    grep -qF "[1] bytes after the last echo: b'hello 1extra!\\n'" "$out/extra.err" ||
        fail "07 $model: $(cat "$out/extra.err")"
    grep -q '^messages: 2 sent, 1 echoed, 2 mismatched$' "$out/extra.out" || fail "07 $model: $(cat "$out/extra.out")"
    pass "07 $model against a server that adds bytes: mismatches shown as repr, status 1"
done

# Greenlets that get no stack (address space limited by ulimit -v) are
# reported, and 07 exits 1 instead of waiting for them for ever.
start_06 s06b --quiet
if (bash -c 'ulimit -v 100000 && exec "$0" --version' "$C07"; exit $?) >/dev/null 2>&1; then
    st=0
    (ulimit -v 100000; exec timeout 30 "$C07" --port "$port" --coroutines 2000 --stacks guarded \
        --messages 1 --quiet) >"$out/nostack.out" 2>"$out/nostack.err" || st=$?
    [ "$st" = 1 ] || fail "07 with no room for stacks: status $st (124: it hung)"
    grep -Eq '^07_load_client: [0-9]+ of 2000 greenlets could not start: .*; try --stacks shared$' \
        "$out/nostack.err" || fail "07 with no room for stacks: $(cat "$out/nostack.err")"
    grep -q '^FAILED: [0-9]* of 2000 greenlets could not start' "$out/nostack.out" || fail "$(cat "$out/nostack.out")"
    pass "07 --coroutines 2000 under ulimit -v: $(grep 'could not start' "$out/nostack.err" | cut -d: -f2-), status 1"
else
    echo "skip: 07 does not run under ulimit -v (a sanitizer build?)"
fi

# 12,000 greenlets at once (above 10,000 they share one stack), one
# message each; both 06 and 07 need that many descriptors.
n=12000
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $((n + 100)) ]; then
    echo "skip: $n connections need ulimit -Hn above $((n + 100))"
else
    st=0
    timeout 120 "$C07" --port "$port" --coroutines $n --messages 1 --timeout 30 --quiet \
        >"$out/many.out" 2>"$out/many.err" || st=$?
    [ "$st" = 0 ] || fail "07 --coroutines $n: status $st: $(cat "$out/many.out" "$out/many.err")"
    grep -q "^messages: $n sent, $n echoed, 0 mismatched\$" "$out/many.out" || fail "$(cat "$out/many.out")"
    pass "07 --coroutines $n --messages 1: $(grep '^time:' "$out/many.out")"
fi
stop_06 INT

# 100,000 greenlets (shared stack) against a port nobody listens on: each
# is refused at once, so this needs no descriptors beyond one at a time,
# and shows that 07 starts, counts and ends them all (with guarded stacks
# a third could not get one: 07 used to wait for those for ever).
closed=$("$S06" --port 0 --demo | head -n 1 | sed 's/.*://')
st=0
timeout 120 "$C07" --port "$closed" --coroutines 100000 --messages 1 --quiet \
    >"$out/100k.out" 2>"$out/100k.err" || st=$?
[ "$st" = 1 ] || fail "07 --coroutines 100000 against a closed port: status $st (124: it hung)"
grep -q '^connections: 0 opened, 100000 failed$' "$out/100k.out" || fail "$(cat "$out/100k.out" "$out/100k.err")"
pass "07 --coroutines 100000 against a closed port: 100000 refusals counted, status 1"
