#!/bin/bash
# transcripts.sh - run every built lesson and compare its output with the
# lesson's expected.txt, and with --lang zh with its expected.zh.txt if it
# has one. See tests/README.md, "Transcripts".
#
# For each NN_name/ holding expected.txt and a built NN_name binary:
#   args    NN_name/transcript.args if present (shell words, one line)
#   stdin   /dev/null; stdout a pipe (never a tty); NO_COLOR=1
#   status  must be 0, or the number in NN_name/transcript.status
#   output  stdout only (stderr is shown on failure), compared with
#           expected.txt by compare.sh (both normalised with normalize.sed)
# Prints PASS/FAIL per lesson (with the first lines of the diff), then
# "transcripts: N passed, N failed". Exit status 1 if any failed.
#   TRANSCRIPT_TIMEOUT  seconds a lesson may run (default 120)
#   TRANSCRIPT_ONLY     run only lessons whose folder name contains this
set -u
cd "$(dirname "$0")/.." || exit 2
root=$PWD
out=$root/tests/out/transcripts
mkdir -p "$out"
timeout_s=${TRANSCRIPT_TIMEOUT:-120}
pass=0 fail=0

# check_one NAME EXPECTED TAG: run NAME's binary (args, lang, langarg, and
# want_status set by the caller) and compare its stdout with NAME/EXPECTED.
check_one() {
    local name=$1 exp=$2 tag=$3 base=$out/${3// /_}
    base=${base//[()]/}
    (cd "$name" && NO_COLOR=1 timeout "$timeout_s" "${lang[@]}" "./$name" "${langarg[@]}" "${args[@]}") \
        </dev/null >"$base.raw" 2>"$base.stderr"
    status=$?

    problem=""
    if [ "$status" = 124 ]; then
        problem="timed out after ${timeout_s}s"
    elif [ "$status" != "$want_status" ]; then
        problem="exit status $status, expected $want_status"
    fi
    if tests/compare.sh -q -e -o "$base.diff" -L "$tag (output)" "$name/$exp" "$base.raw" &&
        [ -z "$problem" ]; then
        pass=$((pass + 1))
        echo "PASS: $tag"
    else
        fail=$((fail + 1))
        echo "FAIL: $tag${problem:+ ($problem)}"
        head -n 20 "$base.diff" | sed 's/^/    /'
        [ "$(wc -l <"$base.diff")" -le 20 ] || echo "    ... (full diff: tests/out/transcripts/${base##*/}.diff)"
        if [ -s "$base.stderr" ]; then
            echo "    stderr:"
            head -n 10 "$base.stderr" | sed 's/^/    | /'
        fi
    fi
}

for dir in [0-9][0-9]_*/; do
    name=${dir%/}
    [ -f "$name/expected.txt" ] || continue
    case $name in *"${TRANSCRIPT_ONLY:-}"*) ;; *) continue ;; esac
    bin=$name/$name
    if [ ! -x "$bin" ]; then
        echo "SKIP: $name (not built)"
        continue
    fi
    args=()
    if [ -f "$name/transcript.args" ]; then
        eval "args=($(<"$name/transcript.args"))"
    fi
    want_status=0
    [ -f "$name/transcript.status" ] && want_status=$(tr -d ' \n' <"$name/transcript.status")

    # Each language's transcript: expected.txt in English (LC_ALL=C, so the
    # environment's language cannot leak in), expected.zh.txt with --lang zh.
    for exp in expected.txt expected.zh.txt; do
        [ -f "$name/$exp" ] || continue
        if [ "$exp" = expected.txt ]; then
            tag=$name lang=(env -u LANGUAGE LC_ALL=C) langarg=()
        else
            tag="$name (zh)" lang=(env) langarg=(--lang zh)
        fi
        check_one "$name" "$exp" "$tag"
    done
done

echo "transcripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
