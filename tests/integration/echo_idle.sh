#!/bin/bash
# echo_idle.sh - 07 --idle holds idle connections open beside the load, on
# 06's poll and epoll backends: every echo matches, 07 reports the idle
# connections, and 06's summary counts them as accepted and open at once.
# Then select past FD_SETSIZE: refused connections, not an abort.
source "$(dirname "$0")/echo_common.bash"

for b in poll epoll; do
    start_06 "s06-$b" --quiet --backend "$b"
    wait_for "$sout" "^backend: $b\$"
    st=0
    timeout 60 "$C07" --port "$port" --quiet --coroutines 50 --messages 5 --idle 200 \
        >"$out/$b.out" 2>"$out/$b.err" || st=$?
    [ "$st" = 0 ] || fail "07 --idle 200 on $b: status $st: $(cat "$out/$b.out" "$out/$b.err")"
    grep -q '^every echo matched what was sent$' "$out/$b.out" || fail "07 on $b: $(cat "$out/$b.out")"
    grep -q '^messages: 250 sent, 250 echoed, 0 mismatched$' "$out/$b.out" || fail "07 on $b: $(cat "$out/$b.out")"
    grep -q '^idle: 200 connections held open, never used$' "$out/$b.out" || fail "07 on $b: $(cat "$out/$b.out")"
    stop_06 INT
    summary=$(tail -n 1 "$sout")
    # 50 active + 200 idle; 250 "hello N" of 7 bytes, all open together during the load
    echo "$summary" | grep -q '^summary: 250 connections, 1750 bytes echoed, at most 250 at once$' ||
        fail "06 --backend $b: $summary"
    pass "06 --backend $b, 07 --coroutines 50 --idle 200: $summary"
done

# The same with OS threads, once.
start_06 s06-threads --quiet
timeout 60 "$C07" --port "$port" --quiet --threads 10 --messages 3 --idle 100 >"$out/threads.out" 2>&1 ||
    fail "07 --threads 10 --idle 100: $(cat "$out/threads.out")"
grep -q '^idle: 100 connections held open, never used$' "$out/threads.out" || fail "$(cat "$out/threads.out")"
stop_06 INT
tail -n 1 "$sout" | grep -q '^summary: 110 connections, .* at most 110 at once$' || fail "06: $(tail -n 1 "$sout")"
pass "07 --threads 10 --idle 100: $(tail -n 1 "$sout")"

# More idle connections than 07 may open: a clear error, status 1, no hang.
start_06 s06-limit --quiet
st=0
(ulimit -n 64; timeout 30 "$C07" --port "$port" --coroutines 1 --idle 100 >"$out/limit.out" 2>&1) || st=$?
[ "$st" = 1 ] || fail "07 --idle past its fd limit: status $st: $(cat "$out/limit.out")"
grep -q -- '--idle 100: cannot open idle connection' "$out/limit.out" || fail "$(cat "$out/limit.out")"
stop_06 INT
pass "07 --idle past what it can open: $(head -n 1 "$out/limit.out" | cut -c1-100)..."

# select: a connection whose descriptor is past FD_SETSIZE is refused (one
# warning, counted in the summary) instead of aborting the server in the
# fortified FD_SET; the server keeps serving the ones it can watch.
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 1200 ]; then
    pass "select past FD_SETSIZE: skipped, hard fd limit $(ulimit -Hn) < 1200"
else
    start_06 s06-select --quiet --backend select
    st=0
    timeout 60 "$C07" --port "$port" --quiet --coroutines 1 --messages 1 --idle 1030 \
        >"$out/select.out" 2>&1 || st=$?
    # 07 sees the refusals only if they come before it checks its idle
    # connections: the hub refuses a descriptor when its greenlet first
    # waits on it (hub_wait_fd: ERANGE), which may be after 07 is done.
    [ "$st" = 0 ] || [ "$st" = 1 ] ||
        fail "07 past select's FD_SETSIZE: status $st: $(cat "$out/select.out")"
    grep -q "refused: descriptor 10[0-9][0-9]: descriptor past select's FD_SETSIZE" "$out/s06-select.err" ||
        fail "06 --backend select: no refusal: $(cat "$out/s06-select.err")"
    [ "$(wc -l <"$out/s06-select.err")" = 1 ] || fail "06 --backend select: more than one warning"
    timeout 30 "$C07" --port "$port" --quiet --coroutines 5 --messages 3 >"$out/select2.out" 2>&1 ||
        fail "06 --backend select no longer serves: $(cat "$out/select2.out")"
    stop_06 INT
    summary=$(tail -n 1 "$sout")
    echo "$summary" | grep -q '^summary: 1036 connections, [0-9]* refused (past FD_SETSIZE), ' ||
        fail "06 --backend select: $summary"
    pass "06 --backend select past FD_SETSIZE: $summary"
fi
