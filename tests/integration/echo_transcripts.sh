#!/bin/bash
# echo_transcripts.sh - 06 and 07 talking to each other print what their
# expected.txt files say (both normalised with tests/normalize.sed).
#
# transcripts.sh runs each alone: 06 with --demo (a client greenlet of its
# own sends hello 0..2), 07 with --local-server (an echo server thread of
# its own). Here the two real programs talk instead: 06 --port 0, and
# 07 --threads 1 --messages 3 against it, then SIGTERM to 06. 06 must print
# its expected.txt without the demo client's "[demo]" lines, and 07 its
# expected.txt exactly: the transcripts show the same exchange either way.
source "$(dirname "$0")/echo_common.bash"

start_06 s06
timeout 30 "$C07" --port "$port" --threads 1 --messages 3 >"$out/07.out" 2>"$out/07.err" ||
    fail "07 failed: $(cat "$out/07.err")"
wait_for "$sout" '^connection 1 closed'
stop_06 TERM

grep -v '^\[demo\]' "$root/06_socket_server/expected.txt" | normalize >"$out/06.expected"
normalize "$sout" >"$out/06.actual"
diff -u "$out/06.expected" "$out/06.actual" || fail "06's output differs from its expected.txt"
pass "06 (served by 07) matches 06_socket_server/expected.txt without its [demo] lines"

normalize "$root/07_load_client/expected.txt" >"$out/07.expected"
normalize "$out/07.out" >"$out/07.actual"
diff -u "$out/07.expected" "$out/07.actual" || fail "07's output differs from its expected.txt"
pass "07 (against 06) matches 07_load_client/expected.txt"
