#!/bin/bash
# trace.sh - --trace and COROLAB_TRACE=1 print every switch, in order, with
# its reason, on stderr, and leave stdout alone.
#
# Lesson 03 (func1 sleeps 2 s, func2 1 s) must trace exactly these ten
# switches, the hub's included, func2 waking before func1:
#   main -> hub join F1 | hub -> F1 start | F1 -> hub sleep | hub -> F2 start
#   F2 -> hub sleep | hub -> F2 woke: timer | F2 -> hub ended
#   hub -> F1 woke: timer | F1 -> hub ended | hub -> main woke: done
# (F1 is whichever greenlet starts first: func1, spawned first.) Its stdout,
# normalised as tests/transcripts.sh does, must still match expected.txt.
# Lesson 02 (explicit switches, no hub) must trace its five switches, and
# 05, if built, its waits on fds. No timing is asserted.
set -u
cd "$(dirname "$0")/../.." || exit 2
l3=03_gevent_sleep
[ -x "$l3/$l3" ] || { echo "no $l3/$l3: build it first"; exit 77; }
out=tests/out/trace
mkdir -p "$out"
. tests/integration/check.bash
normalize() { LC_ALL=C sed -E -f tests/normalize.sed "$@"; }

# The switch lines of a trace, one word each: FROM>TO:WHY, where WHY is the
# reason's first word(s) and greenlet names are replaced by F1, F2... in
# order of first appearance (main and hub keep theirs).
switches() {
    awk '$3 == "->" {
        for (i = 2; i <= 4; i += 2)
            if ($i != "main" && $i != "hub" && !($i in id))
                id[$i] = "F" (++n)
        a = ($2 in id) ? id[$2] : $2
        b = ($4 in id) ? id[$4] : $4
        why = $5; if (why == "woke:") why = why $6
        printf "%s>%s:%s\n", a, b, why
    }' "$1"
}

args=()
[ -f "$l3/transcript.args" ] && eval "args=($(<"$l3/transcript.args"))"
normalize "$l3/expected.txt" >"$out/03.expected"

want='main>hub:join
hub>F1:start
F1>hub:sleep
hub>F2:start
F2>hub:sleep
hub>F2:woke:timer
F2>hub:ended
hub>F1:woke:timer
F1>hub:ended
hub>main:woke:done'

run03() { # label, env assignments..., then options after --
    local label=$1
    shift
    (cd "$l3" && env "$@" timeout 60 "./$l3" "${args[@]}" ${TRACE_OPT:-}) \
        </dev/null >"$out/$label.stdout" 2>"$out/$label.stderr"
    check "$label: exit status 0" $?
    normalize "$out/$label.stdout" >"$out/$label.out"
    diff -u "$out/03.expected" "$out/$label.out" >"$out/$label.diff"
    check "$label: stdout matches $l3/expected.txt" $?
}

for how in option env; do
    if [ $how = option ]; then
        TRACE_OPT=--trace run03 option NO_COLOR=1
    else
        TRACE_OPT="" run03 env NO_COLOR=1 COROLAB_TRACE=1
    fi
    echo "--- $how: stderr"
    cat "$out/$how.stderr"
    switches "$out/$how.stderr" >"$out/$how.switches"
    diff -u <(echo "$want") "$out/$how.switches"
    check "$how: the ten switches in order, each with its reason (func2 wakes first)" $?
    check "$how: both spawns traced before the first switch" \
        "$(awk '$3 == "->" {exit} /spawn/ {n++} END {exit n != 2}' "$out/$how.stderr"; echo $?)"
    check "$how: every trace line is aligned (time, then names)" \
        "$(grep -vE '^ +([0-9]+\.[0-9]{6}|seconds)  ' "$out/$how.stderr" | grep -q .; [ $? = 1 ]; echo $?)"
done

TRACE_OPT="" run03 off NO_COLOR=1 COROLAB_TRACE=0
check "COROLAB_TRACE=0: nothing on stderr" "$([ ! -s "$out/off.stderr" ]; echo $?)"
TRACE_OPT="" run03 unset -u COROLAB_TRACE NO_COLOR=1
check "no trace asked: nothing on stderr" "$([ ! -s "$out/unset.stderr" ]; echo $?)"

l2=02_greenlet_switch
if [ -x "$l2/$l2" ]; then
    (cd "$l2" && timeout 60 "./$l2" --trace) </dev/null >"$out/02.stdout" 2>"$out/02.stderr"
    check "02: exit status 0" $?
    diff -u <(normalize "$l2/expected.txt") <(normalize "$out/02.stdout")
    check "02: stdout matches $l2/expected.txt" $?
    cat "$out/02.stderr"
    diff -u <(printf '%s\n' 'main>F1:start' 'F1>F2:start' 'F2>F1:switch' \
                              'F1>F2:switch' 'F2>main:ended') \
        <(switches "$out/02.stderr")
    check "02: explicit switches traced: start, start, switch, switch, ended" $?
fi

l5=05_io_autoswitch
if [ -x "$l5/$l5" ]; then
    (cd "$l5" && timeout 60 "./$l5" --trace --no-compare) </dev/null \
        >"$out/05.stdout" 2>"$out/05.stderr"
    check "05: exit status 0" $?
    check "05: waits on fds traced" \
        "$(grep -qE -- '-> hub +wait fd [0-9]+ for (reading|writing)' "$out/05.stderr"; echo $?)"
    check "05: fd wake-ups traced" \
        "$(grep -qE 'woke: readable \(wait fd [0-9]+ for reading' "$out/05.stderr"; echo $?)"
fi

[ $fail -eq 0 ] && echo "trace: all passed"
exit $fail
