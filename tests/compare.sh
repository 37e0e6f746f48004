#!/bin/bash
# compare.sh - compare a run with a lesson's expected transcript, the way
# the tests do (both normalised by tests/normalize.sed), and show a diff.
#
#   tests/compare.sh LESSON RUN            make compare LESSON=03 RUN=my-run.txt
#   ./03_gevent_sleep | ../tests/compare.sh 03 -
#
# LESSON is a lesson's number (03), its folder name (03_gevent_sleep), a
# path to a lesson folder (your own 08_mine) or to any expected file.
# RUN is a file holding what the program printed, or - for stdin.
# Options (for tests/transcripts.sh and tests/exercise.sh):
#   -o FILE    write the diff to FILE instead of printing it
#   -q         print nothing; the exit status says it
#   -L LABEL   name the run in the diff (default: the RUN argument)
#   -E LABEL   name the expected side in the diff (default: its path)
#   -e         colour escapes count as differences (by default they are
#              removed from the run: a run saved from a terminal is fine)
# Exit status: 0 the same after normalisation, 1 different, 2 usage error.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
norm=$root/tests/normalize.sed
diff_out="" quiet="" label="" keep_escapes="" exp_label=""

usage() {
    echo "usage: tests/compare.sh [-q] [-e] [-o DIFF] [-L LABEL] LESSON RUN" >&2
    echo "  e.g. make compare LESSON=03 RUN=my-run.txt" >&2
    exit 2
}

# The one normalisation: every comparison in the tests goes through here.
normalize() { LC_ALL=C sed -E -f "$norm" "$@"; }

# The expected transcript for LESSON, printed; nothing if there is none.
find_expected() {
    local l=$1 d
    if [ -f "$l" ]; then
        echo "$l"
        return
    fi
    if [ -d "$l" ] && [ -f "$l/expected.txt" ]; then
        echo "${l%/}/expected.txt"
        return
    fi
    case $l in
        [0-9]) l=0$l ;;
    esac
    for d in "$root"/"$l"_*/ "$root"/"$l"/; do
        if [ -f "$d/expected.txt" ]; then
            echo "${d%/}/expected.txt"
            return
        fi
    done
}

while getopts "o:qL:E:e" opt; do
    case $opt in
        o) diff_out=$OPTARG ;;
        q) quiet=1 ;;
        L) label=$OPTARG ;;
        e) keep_escapes=1 ;;
        E) exp_label=$OPTARG ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] && [ -n "$1" ] && [ -n "$2" ] || usage

expected=$(find_expected "$1")
if [ -z "$expected" ]; then
    echo "compare.sh: no lesson '$1' with an expected.txt (try 03, 03_gevent_sleep or a folder)" >&2
    exit 2
fi
run=$2
[ -n "$label" ] || label="$run (your run)"
if [ "$run" = - ]; then
    run=/dev/stdin
    [ "$label" != "- (your run)" ] || label="your run (stdin)"
elif [ ! -r "$run" ]; then
    echo "compare.sh: cannot read the run '$run'" >&2
    exit 2
fi
show_expected=${exp_label:-${expected#"$root"/}}

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
normalize "$expected" >"$tmp/expected"
normalize "$run" >"$tmp/run"
# A colour escape (a run saved from a terminal) is not a difference.
[ -n "$keep_escapes" ] || sed -i -E $'s/\x1b\\[[0-9;]*m//g' "$tmp/run"

if diff -u --label "$show_expected (expected)" --label "$label" \
    "$tmp/expected" "$tmp/run" >"$tmp/diff"; then
    [ -n "$diff_out" ] && : >"$diff_out"
    [ -n "$quiet" ] || echo "SAME: ${label% (your run)} matches $show_expected (after normalisation)"
    exit 0
fi
if [ -n "$diff_out" ]; then
    cp "$tmp/diff" "$diff_out"
elif [ -z "$quiet" ]; then
    echo "DIFFERENT: ${label% (your run)} does not match $show_expected"
    echo "  lines with '-' are expected but missing from the run, '+' are in the run"
    echo "  but not expected (times, ports and ids are normalised first, see"
    echo "  tests/README.md, \"Normalisation\"):"
    echo
    cat "$tmp/diff"
fi
exit 1
