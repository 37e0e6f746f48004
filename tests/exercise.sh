#!/bin/bash
# exercise.sh - check a lesson's exercises (NN_name/exercises/README.md).
#
#   tests/exercise.sh LESSON                 list the lesson's exercises
#   tests/exercise.sh LESSON qN [ANSWER]     "predict the output": your
#         prediction (the file ANSWER, or typed in, ending with Ctrl-D) is
#         compared with a real run of the lesson with exercises/qN.args
#   tests/exercise.sh LESSON NAME            "make a change": the lesson as
#         built in its folder (your edited copy) is run with
#         exercises/NAME/args and compared with exercises/NAME/expected.txt;
#         when exercises/NAME/ has a Makefile, the exercise is a program of
#         its own there (NAME.c): it is built (make) and run instead
#   tests/exercise.sh LESSON NAME 'OPTIONS'  "find the options": when
#         exercises/NAME/ has no args file, the options are yours
#   make exercise LESSON=03 Q=1 ANSWER=my-answer.txt
#   make exercise LESSON=03 EX=third-greenlet
#   make exercise LESSON=07 EX=find-options ARGS='--local-server ...'
#
# LESSON is a number (03), a folder name or a path to a lesson folder.
# Comparisons go through tests/compare.sh, so times, ports and ids are
# normalised as in the tests. Prints PASS or FAIL (with a diff); exit
# status 0 pass, 1 fail, 2 usage error. EXERCISE_TIMEOUT (default 60 s)
# bounds a run.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
compare=$root/tests/compare.sh
timeout_s=${EXERCISE_TIMEOUT:-60}

die() { echo "exercise.sh: $*" >&2; exit 2; }

lesson=${1:-}
[ -n "$lesson" ] || die "usage: tests/exercise.sh LESSON [qN [ANSWER] | NAME]  (e.g. make exercise LESSON=03)"
if [ -d "$lesson" ]; then
    dir=$(cd "$lesson" && pwd)
else
    case $lesson in [0-9]) lesson=0$lesson ;; esac
    dir=$(ls -d "$root"/"$lesson"_*/ "$root"/"$lesson"/ 2>/dev/null | head -n 1)
    [ -n "$dir" ] || die "no lesson '$lesson' (try 03 or 03_gevent_sleep)"
    dir=${dir%/}
fi
name=$(basename "$dir")
ex=$dir/exercises
[ -d "$ex" ] || die "$name has no exercises/ folder"

if [ $# -lt 2 ]; then
    echo "Exercises of $name (read $name/exercises/README.md):"
    for q in "$ex"/q*.args; do
        [ -f "$q" ] || continue
        q=$(basename "$q" .args)
        echo "  predict: make exercise LESSON=${name%%_*} Q=${q#q} ANSWER=your-prediction.txt"
    done
    for d in "$ex"/*/; do
        [ -f "$d/expected.txt" ] || continue
        d=$(basename "$d")
        if [ -f "$ex/$d/args" ] || [ -f "$ex/$d/Makefile" ]; then
            echo "  change:  make exercise LESSON=${name%%_*} EX=$d"
        else
            echo "  options: make exercise LESSON=${name%%_*} EX=$d ARGS='your options'"
        fi
    done
    exit 0
fi

# Run a program as the tests do: from its folder, NO_COLOR, stdin closed.
run_prog() { # FOLDER PROGRAM ARGS_FILE OUT
    local args=()
    [ -x "$1/$2" ] || die "${1#"$root"/}/$2 is not built (run make in ${1#"$root"/})"
    eval "args=($(cat "$3"))"
    (cd "$1" && NO_COLOR=1 timeout "$timeout_s" "./$2" "${args[@]}") \
        </dev/null >"$4" 2>"$4.stderr"
    local st=$?
    if [ $st -ne 0 ]; then
        echo "note: ./$2 $(cat "$3") exited with status $st; its stderr:"
        sed 's/^/  | /' "$4.stderr" | head -n 10
    fi
}
run_lesson() { run_prog "$dir" "$name" "$@"; }

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
what=$2
case $what in
q[0-9]*)
    [ -f "$ex/$what.args" ] || die "$name has no question $what (see its exercises/README.md)"
    answer=${3:-}
    if [ -z "$answer" ]; then
        [ -t 0 ] && echo "Type what you predict ./$name $(cat "$ex/$what.args") prints, then Ctrl-D:"
        cat >"$tmp/answer"
        answer=$tmp/answer
    fi
    [ -r "$answer" ] || die "cannot read your answer '$answer'"
    run_lesson "$ex/$what.args" "$tmp/real"
    if "$compare" -E "the real run of ./$name $(cat "$ex/$what.args")" \
        -L "your prediction" "$tmp/real" "$answer" >"$tmp/report"; then
        echo "PASS: $name $what: your prediction is what the program printed"
        exit 0
    fi
    echo "FAIL: $name $what: the program printed something else"
    echo "  ('-' lines: what it printed; '+' lines: what you predicted)"
    tail -n +5 "$tmp/report"
    exit 1
    ;;
*)
    [ -f "$ex/$what/expected.txt" ] || die "$name has no exercise '$what' (see its exercises/README.md)"
    args=$ex/$what/args
    if [ ! -f "$args" ]; then # the options are the answer
        printf '%s\n' "${3:-}" >"$tmp/args"
        args=$tmp/args
    fi
    prog=$name
    if [ -f "$ex/$what/Makefile" ]; then # a program of its own
        prog=$what
        make -s --no-print-directory -C "$ex/$what" >"$tmp/build" 2>&1 ||
            { echo "FAIL: $name $what: it does not build:"; cat "$tmp/build"; exit 1; }
        run_prog "$ex/$what" "$what" "$args" "$tmp/real"
    else
        run_lesson "$args" "$tmp/real"
    fi
    if "$compare" -E "$name/exercises/$what/expected.txt" \
        -L "./$prog $(cat "$args")" "$ex/$what/expected.txt" "$tmp/real" >"$tmp/report"; then
        echo "PASS: $name $what: ./$prog $(cat "$args") prints what the exercise expects"
        exit 0
    fi
    echo "FAIL: $name $what: your program's output differs from the exercise's"
    echo "  ('-' lines: what the exercise expects; '+' lines: what your program printed)"
    tail -n +5 "$tmp/report"
    exit 1
    ;;
esac
