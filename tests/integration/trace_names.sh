#!/bin/bash
# trace_names.sh - --trace names what the lesson's Python names (issue 13):
# 01's generators are c1 and c2 and each switch says next, send N or
# yield; 04's greenlets are "Task 0", "Task 1"... Stdout is unchanged.
set -u
cd "$(dirname "$0")/../.." || exit 2
l1=01_yield_generator l4=04_sync_vs_async
[ -x "$l1/$l1" ] && [ -x "$l4/$l4" ] || { echo "lessons not built"; exit 77; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/integration/check.bash

# 01 --baozi 1: FROM>TO:WHY for every switch, exactly.
"$l1/$l1" --trace --baozi 1 >"$tmp/out1" 2>"$tmp/trace1"
check "01 --trace exits 0" $?
awk '$3 == "->" { w = $5; if ($5 == "send") w = w " " $6; print $2 ">" $4 ":" w }' \
    "$tmp/trace1" >"$tmp/got1"
printf '%s\n' 'main>c1:next' 'c1>main:yield' 'main>c2:next' 'c2>main:yield' \
    'main>c1:send 1' 'c1>main:yield' 'main>c2:send 1' 'c2>main:yield' >"$tmp/want1"
diff -u "$tmp/want1" "$tmp/got1"
check "01's trace: c1 and c2, next / send N / yield" $?
"$l1/$l1" --baozi 1 | cmp -s - "$tmp/out1"
check "01's stdout is the same with --trace" $?

# 04: every spawned and started greenlet is "Task N".
"$l4/$l4" --trace --async-only --tasks 3 --sleep 0.01 >/dev/null 2>"$tmp/trace4"
check "04 --trace exits 0" $?
for i in 0 1 2; do
    grep -qE "spawn Task $i\$" "$tmp/trace4" && grep -qE "hub +-> Task $i +start" "$tmp/trace4"
    check "04's trace spawns and starts 'Task $i'" $?
done
! grep -q 'greenlet-[0-9]' "$tmp/trace4"
check "04's trace has no unnamed greenlet" $?
exit $fail
