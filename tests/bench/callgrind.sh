#!/bin/bash
# callgrind.sh - instructions per switch for each mechanism of ./switch,
# counted by valgrind's callgrind: the difference between a run of 2N and
# one of N switches, divided by N, so start-up and set-up cancel out.
# Instruction counts do not vary with the machine's load, unlike times.
#   ./callgrind.sh [N]      (default N = 200000)
set -u
cd "$(dirname "$0")" || exit 2
n=${1:-200000}
command -v valgrind >/dev/null || { echo "callgrind.sh: no valgrind" >&2; exit 77; }
[ -x ./switch ] || { echo "callgrind.sh: build ./switch first (make)" >&2; exit 2; }

# Total instructions of one run of ./switch --only MECH -n SWITCHES.
irefs() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        ./switch --only "$1" -n "$2" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

for mech in $(./switch --list); do
    a=$(irefs "$mech" "$n")
    b=$(irefs "$mech" $((2 * n)))
    if [ -z "$a" ] || [ -z "$b" ]; then
        echo "$mech: callgrind failed"
        continue
    fi
    awk -v m="$mech" -v a="$a" -v b="$b" -v n="$n" \
        'BEGIN { printf "%s: %.1f instructions/switch\n", m, (b - a) / n }'
done
