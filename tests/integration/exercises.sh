#!/bin/bash
# exercises.sh - every lesson's exercises keep working (tests/README.md,
# "Students"): each prediction question's answer in solutions/ passes
# tests/exercise.sh and a wrong answer fails it; each change exercise
# fails on the lesson as it is, and passes once its solution patch is
# applied to a copy of the lesson (or of the exercise's own program) in a
# temporary folder and built there; a "find the options" exercise fails
# with none and passes with the answer's (solutions/NAME.args).
# So neither the answers nor the patches can rot unseen. Bounded: every
# run is under EXERCISE_TIMEOUT (30 s).
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
export EXERCISE_TIMEOUT=30
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
# Lessons built in $tmp, and exercises built in $tmp/LESSON/exercises/NAME
# (../../../common), use the tree's common/ and its libcorolab.a.
ln -s "$root/common" "$tmp/common"
fails=0 checked=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for ex in [0-9][0-9]_*/exercises; do
    lesson=${ex%/exercises}
    [ -x "$lesson/$lesson" ] || { echo "SKIP: $lesson (not built)"; continue; }

    for q in "$ex"/q*.args; do
        [ -f "$q" ] || continue
        q=$(basename "$q" .args)
        key=$ex/solutions/$q.txt
        [ -f "$key" ] || { fail "$lesson $q has no solutions/$q.txt"; continue; }
        checked=$((checked + 1))
        tests/exercise.sh "$lesson" "$q" "$key" >"$tmp/out" 2>&1 ||
            { fail "$lesson $q: its own answer does not pass"; cat "$tmp/out"; }
        # A wrong prediction: the answer with its last line changed.
        sed '$ s/$/ (or not)/' "$key" >"$tmp/wrong"
        if tests/exercise.sh "$lesson" "$q" "$tmp/wrong" >"$tmp/out" 2>&1; then
            fail "$lesson $q: a wrong answer passes"
        elif ! grep -q '^FAIL: ' "$tmp/out" || ! grep -q '^+.*(or not)$' "$tmp/out"; then
            fail "$lesson $q: a wrong answer fails without a readable diff"
            cat "$tmp/out"
        fi
        # Typed in on stdin works the same as a file.
        tests/exercise.sh "$lesson" "$q" <"$key" >"$tmp/out" 2>&1 ||
            { fail "$lesson $q: the answer typed on stdin does not pass"; cat "$tmp/out"; }
    done

    for d in "$ex"/*/; do
        d=${d%/}
        [ -f "$d/expected.txt" ] || continue
        name=$(basename "$d")
        if [ -f "$ex/solutions/$name.args" ]; then # find the options
            checked=$((checked + 1))
            tests/exercise.sh "$lesson" "$name" "" >"$tmp/out" 2>&1 &&
                fail "$lesson $name passes with no options"
            sol=$(cat "$ex/solutions/$name.args")
            if make -s --no-print-directory exercise LESSON="$lesson" EX="$name" \
                ARGS="$sol" >"$tmp/out" 2>&1; then
                echo "ok: $lesson $name (fails with no options, passes with the answer's)"
            else
                fail "$lesson $name: the answer's options do not pass"
                cat "$tmp/out"
            fi
            continue
        fi
        patch=$ex/solutions/$name.patch
        [ -f "$patch" ] || { fail "$lesson $name has no solutions/$name.patch"; continue; }
        checked=$((checked + 1))
        if tests/exercise.sh "$lesson" "$name" >"$tmp/out" 2>&1; then
            fail "$lesson $name passes without the change"
        fi
        copy=$tmp/$lesson
        rm -rf "$copy"
        mkdir "$copy"
        cp "$lesson"/Makefile "$lesson"/*.c "$copy"/
        cp -r "$ex" "$copy/exercises"
        rm -f "$copy/exercises/$name/$name" # never the starter's build
        patch_dir=$copy # a patch to the lesson, or to the exercise's own program
        [ -f "$d/Makefile" ] && patch_dir=$copy/exercises/$name
        if ! patch -s -p1 -d "$patch_dir" <"$patch" >"$tmp/out" 2>&1; then
            fail "$lesson $name: solutions/$name.patch no longer applies"
            cat "$tmp/out"
            continue
        fi
        if [ ! -f "$d/Makefile" ] && ! make -s -C "$copy" >"$tmp/out" 2>&1; then
            fail "$lesson $name: the solution does not build"
            cat "$tmp/out"
            continue
        fi
        if tests/exercise.sh "$copy" "$name" >"$tmp/out" 2>&1; then
            echo "ok: $lesson $name (fails before the change, passes after)"
        else
            fail "$lesson $name: the solution does not pass"
            cat "$tmp/out"
        fi
    done
done

# The make target says the same.
make -s --no-print-directory exercise LESSON=02 Q=1 \
    ANSWER="$root/02_greenlet_switch/exercises/solutions/q1.txt" >"$tmp/out" 2>&1 &&
    grep -q '^PASS: 02_greenlet_switch q1' "$tmp/out" ||
    { fail "make exercise LESSON=02 Q=1 ANSWER=...: no PASS"; cat "$tmp/out"; }
make -s --no-print-directory exercise LESSON=02 EX=test1-finishes >"$tmp/out" 2>&1 &&
    fail "make exercise LESSON=02 EX=test1-finishes passes on the unchanged lesson"
grep -q '^FAIL: 02_greenlet_switch test1-finishes' "$tmp/out" ||
    { fail "make exercise EX=...: no FAIL line"; cat "$tmp/out"; }

echo "exercises: $checked checked, $fails failed"
[ "$checked" -gt 0 ] && [ "$fails" -eq 0 ]
