#!/bin/bash
# compare.sh - tests/compare.sh and `make compare` (tests/README.md,
# "Students"): a matching run passes, also with other timings (it is
# normalised as the transcripts are) and from stdin; a changed line fails
# with a readable diff; bad arguments are refused. Then a lesson folder of
# one's own, 08_mine, made as the README says in a temporary copy of the
# tree: it builds, tests/transcripts.sh checks it, and `make compare
# LESSON=08` compares a run with it. The tree itself never gets an 08.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
l2=02_greenlet_switch l3=03_gevent_sleep
[ -x "$l2/$l2" ] && [ -x "$l3/$l3" ] || { echo "lessons not built"; exit 77; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/integration/check.bash

# --- a student's saved run -----------------------------------------------
"$l2/$l2" >"$tmp/run2"
tests/compare.sh 02 "$tmp/run2" >"$tmp/out"
[ $? -eq 0 ] && grep -q '^SAME: ' "$tmp/out"
check "a saved run of 02 matches" $?
sed 's/^34$/43/' "$tmp/run2" >"$tmp/bad2"
tests/compare.sh 02_greenlet_switch "$tmp/bad2" >"$tmp/out"
[ $? -eq 1 ] && grep -q '^DIFFERENT: ' "$tmp/out" && grep -qx -- '-34' "$tmp/out" &&
    grep -qx -- '+43' "$tmp/out" && grep -q "^--- 02_greenlet_switch/expected.txt" "$tmp/out"
check "a changed line fails, with a diff naming expected.txt (-34 +43)" $?
# Other timings, and colour escapes from a terminal, are not differences.
sed -e 's/2\.00 s/2.03 s/' -e $'s/^func1/\033[31;1mfunc1/' "$l3/expected.txt" >"$tmp/run3"
tests/compare.sh 03 "$tmp/run3" >"$tmp/out"
check "03 with other timings and colours matches (normalised)" $?
sed 's/func2: woke/func2: slept/' "$l3/expected.txt" | tests/compare.sh 3 - >"$tmp/out"
[ $? -eq 1 ] && grep -q '^+func2: slept' "$tmp/out"
check "a run on stdin (-) is compared too" $?
tests/compare.sh 99 "$tmp/run2" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "no lesson '99'" "$tmp/err"
check "an unknown lesson is refused (status 2)" $?
tests/compare.sh 02 "$tmp/missing" 2>/dev/null
[ $? -eq 2 ]
check "an unreadable run is refused (status 2)" $?
make -s --no-print-directory compare LESSON=02 RUN="$tmp/run2" >"$tmp/out" 2>&1 &&
    grep -q '^SAME: ' "$tmp/out"
check "make compare LESSON=02 RUN=... passes" $?
make -s --no-print-directory compare LESSON=02 RUN="$tmp/bad2" >"$tmp/out" 2>&1
[ $? -ne 0 ] && grep -qx -- '+43' "$tmp/out"
check "make compare with a changed line fails and shows it" $?
# The tests' normalisation lives in one place: only compare.sh reads it.
readers=$(grep -lE '^[^#]*normalize\.sed' tests/*.sh | grep -v '^tests/compare\.sh$')
[ -z "$readers" ]
check "only tests/compare.sh applies normalize.sed${readers:+ (also: $readers)}" $?

# --- 08_mine, in a copy of the tree ---------------------------------------
top=$tmp/tree
mkdir -p "$top"
ln -s "$root/common" "$top/common"  # its libcorolab.a, corolab.mk
ln -s "$root/tests" "$top/tests"    # compare.sh, transcripts.sh
cp Makefile "$top/"
mkdir "$top/08_mine"
printf 'PROG := 08_mine\ninclude ../common/corolab.mk\n' >"$top/08_mine/Makefile"
sed 's/\.name = "03_gevent_sleep"/.name = "08_mine"/' "$l3/$l3.c" >"$top/08_mine/08_mine.c"
echo "--sleep1 0.2 --sleep2 0.1" >"$top/08_mine/transcript.args"
cat >"$top/08_mine/expected.txt" <<'EOT'
func1: started, sleeping 0.2 s
func2: started, sleeping 0.1 s
func2: woke up after 0.1 s
func1: woke up after 0.2 s
joinall: both done in 0.20 s (the sleeps overlapped: not 0.3 s)
EOT
make -s -C "$top/08_mine" >"$tmp/out" 2>&1 && [ -x "$top/08_mine/08_mine" ]
check "08_mine builds with its two-line Makefile" $? || cat "$tmp/out"
TRANSCRIPT_ONLY=08 bash "$top/tests/transcripts.sh" >"$tmp/out" 2>&1
[ $? -eq 0 ] && grep -q '^PASS: 08_mine$' "$tmp/out"
check "tests/transcripts.sh checks 08_mine: PASS" $? || cat "$tmp/out"
sed -i 's/func2: woke/func2: awoke/' "$top/08_mine/expected.txt"
TRANSCRIPT_ONLY=08 bash "$top/tests/transcripts.sh" >"$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q '^FAIL: 08_mine' "$tmp/out"
check "and a wrong 08_mine/expected.txt: FAIL" $?
(cd "$top/08_mine" && ./08_mine --sleep1 0.2 --sleep2 0.1) >"$tmp/run8"
make -s --no-print-directory -C "$top" compare LESSON=08 RUN="$tmp/run8" >"$tmp/out" 2>&1
[ $? -ne 0 ] && grep -qx -- '-func2: awoke up after X.XX s' "$tmp/out"
check "make compare LESSON=08 finds 08_mine and shows the difference" $? || cat "$tmp/out"
[ ! -e "$root/08_mine" ]
check "the tree itself has no 08_mine" $?
exit $fail
