#!/bin/bash
# io_autoswitch_limits.sh - lesson 05 against what used to defeat it:
#   - more than 64 URLs (there is no limit: one greenlet each);
#   - numbers as glibc reads them (http://127.1:PORT/);
#   - a DNS server that never answers: the patched resolver gives up at
#     --timeout, and libevent's own warnings stay out of the output (one
#     line per bad URL);
#   - a server that drips a byte every 0.5 s cannot hold a URL past
#     --timeout (a deadline for the whole fetch, not for each read).
# Offline: 127.0.0.1 only; every run is bounded by timeout(1).
. "$(dirname "$0")/io_autoswitch_common.bash"
peer() { serve "$1" perl tests/integration/http_peer.pl "$1"; }
now() { date +%s.%N; }
elapsed_below() { # start, seconds
    awk -v s="$1" -v e="$(now)" -v max="$2" 'BEGIN { exit !(e - s < max) }'
}

# 70 URLs: every one fetched, patched and unpatched.
peer ok
urls=()
for i in $(seq 70); do urls+=("http://127.0.0.1:$port/$i"); done
timeout 60 "$bin" --timeout 5 "${urls[@]}" >"$out/many" 2>"$out/many.err"
st=$?
check "70 URLs: exit status 0 (was $st)" $([ $st -eq 0 ]; echo $?)
check "70 URLs: 140 answers" $([ "$(grep -c '^5 bytes received from' "$out/many")" -eq 140 ]; echo $?)
check "70 URLs: nothing on stderr" $([ ! -s "$out/many.err" ]; echo $?)

# 127.1 is 127.0.0.1, patched (evdns) and unpatched (glibc) alike.
timeout 30 "$bin" --timeout 5 "http://127.1:$port/" >"$out/short" 2>&1
st=$?
cat "$out/short"
check "127.1: exit status 0 (was $st)" $([ $st -eq 0 ]; echo $?)
check "127.1: fetched twice" $([ "$(grep -c "^5 bytes received from http://127.1:$port/\.$" "$out/short")" -eq 2 ]; echo $?)

# A nameserver that never answers: --timeout 1 ends the lookup.
peer dns
echo "nameserver 127.0.0.1:$port" >"$out/resolv.conf"
t0=$(now)
COROLAB_RESOLV_CONF=$out/resolv.conf timeout 30 "$bin" --no-compare --timeout 1 \
    http://slow.test/ http://slow2.test/ >"$out/dns" 2>"$out/dns.err"
st=$?
cat "$out/dns.err"
check "silent DNS: exit status 1 (was $st)" $([ $st -eq 1 ]; echo $?)
check "silent DNS: over within 3 s of --timeout 1" $(elapsed_below "$t0" 3; echo $?)
check "silent DNS: one line per URL, no libevent warnings" $([ "$(wc -l <"$out/dns.err")" -eq 2 ]; echo $?)
check "silent DNS: says it timed out" $(grep -q "http://slow.test/: cannot resolve slow.test: timed out" "$out/dns.err"; echo $?)
# Without --timeout the resolver's own retries end it, still in one line.
COROLAB_RESOLV_CONF=$out/resolv.conf timeout 30 "$bin" --no-compare http://slow.test/ \
    >/dev/null 2>"$out/dns2.err"
st=$?
cat "$out/dns2.err"
check "silent DNS, resolver gives up: exit status 1 (was $st)" $([ $st -eq 1 ]; echo $?)
check "silent DNS, resolver gives up: one line" $([ "$(wc -l <"$out/dns2.err")" -eq 1 ]; echo $?)

# A byte every 0.5 s: each read succeeds, the whole fetch must not.
peer drip
t0=$(now)
timeout 30 "$bin" --timeout 1.5 "http://127.0.0.1:$port/" >/dev/null 2>"$out/drip.err"
st=$?
cat "$out/drip.err"
check "drip: exit status 1 (was $st)" $([ $st -eq 1 ]; echo $?)
check "drip: both runs over within 8 s (--timeout 1.5 each)" $(elapsed_below "$t0" 8; echo $?)
check "drip: timed out reading" $([ "$(grep -c "reading the response: timed out" "$out/drip.err")" -eq 2 ]; echo $?)
exit $fail
