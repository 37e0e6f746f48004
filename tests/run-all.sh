#!/bin/bash
# run-all.sh - run every test and end with one line "N passed, N failed".
#   unit/test_*            Check programs (under valgrind when VALGRIND=1)
#   ../NN_*/expected.txt   lesson transcripts, via transcripts.sh
#   integration/*.sh       scripts: exit 0 pass, 77 skip, anything else fail
# UNIT_ONLY=1 or VALGRIND=1 runs the unit tests alone.
set -u
# The tests read the programs' English messages: a Chinese environment
# (LANGUAGE, LC_ALL) must not translate them. --lang zh still works.
unset LANGUAGE LC_ALL
export LC_MESSAGES=C
cd "$(dirname "$0")"
mkdir -p out
pass=0 fail=0 skip=0 failed=()

record() { # name status
    case $2 in
        0) pass=$((pass + 1)); echo "PASS: $1" ;;
        77) skip=$((skip + 1)); echo "SKIP: $1" ;;
        *) fail=$((fail + 1)); failed+=("$1"); echo "FAIL: $1 (status $2)" ;;
    esac
}

for t in unit/test_*; do
    [ -x "$t" ] && [ "${t%.c}" = "$t" ] || continue
    name=$(basename "$t")
    if [ -n "${VALGRIND:-}" ]; then
        CK_FORK=no CL_UNDER_VALGRIND=1 valgrind -q --error-exitcode=99 \
            --leak-check=full --errors-for-leak-kinds=definite \
            "./$t" >"out/$name.log" 2>&1
    else
        "./$t" >"out/$name.log" 2>&1
    fi
    st=$?
    grep -E '^[0-9]+%: Checks' "out/$name.log" | sed "s/^/  $name: /"
    [ $st -eq 0 ] || tail -n 30 "out/$name.log"
    record "$name" $st
done

if [ -z "${UNIT_ONLY:-}" ] && [ -z "${VALGRIND:-}" ]; then
    bash ./transcripts.sh >out/transcripts.log 2>&1
    st=$?
    cat out/transcripts.log
    record transcripts $st
    for t in integration/*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        timeout 600 bash "$t" >"out/$name.log" 2>&1
        st=$?
        [ $st -eq 0 ] || [ $st -eq 77 ] || tail -n 30 "out/$name.log"
        record "$name" $st
    done
fi

[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
