#!/bin/bash
# cli.sh - what common/cli.c promises every lesson (issue 13):
#   * stdout is line-buffered wherever it goes: through a pipe, and into a
#     file, 03's first line is there while it still sleeps (not at exit);
#   * every --help fits 80 columns, and --version works (all seven);
#   * a short option means one thing in every lesson;
#   * no colour on a terminal with TERM=dumb or NO_COLOR, colour otherwise;
#   * errors and the "Try '... --help'" line name the command as invoked
#     (an installed corolab-03_gevent_sleep says so), exit status 2.
# Timing: only "the first line came at least 1 s before the end" of a run
# that sleeps 2 s (the lines are printed before the sleeps); no bound on
# how long anything takes.
set -u
cd "$(dirname "$0")/../.." || exit 2
lessons=(01_yield_generator 02_greenlet_switch 03_gevent_sleep 04_sync_vs_async
         05_io_autoswitch 06_socket_server 07_load_client)
for l in "${lessons[@]}"; do
    [ -x "$l/$l" ] || { echo "$l/$l is not built"; exit 77; }
done
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
. tests/integration/check.bash
l3=03_gevent_sleep/03_gevent_sleep

# --- line-buffered through a pipe: stamp each line as it arrives --------
start=$(date +%s.%N)
timeout 60 "$l3" --sleep1 2 --sleep2 2 | while IFS= read -r line; do
    echo "$(date +%s.%N) $line"
done >"$tmp/stamped"
end=$(date +%s.%N)
first=$(head -n 1 "$tmp/stamped" | cut -d' ' -f1)
lines=$(wc -l <"$tmp/stamped")
awk -v f="${first:-0}" -v e="$end" -v s="$start" 'BEGIN { exit !(f > 0 && e - f >= 1.0) }'
check "through a pipe, 03's first line arrives >= 1 s before it ends ($lines lines)" $?
[ "$lines" -eq 5 ]
check "through a pipe, 03 prints its 5 lines" $?

# --- line-buffered into a file: the line is there while 03 still sleeps --
"$l3" --sleep1 3 --sleep2 3 >"$tmp/file.out" &
pid=$!
seen=""
for _ in $(seq 1 250); do # up to 2.5 s, while the sleeps last 3 s
    if [ -s "$tmp/file.out" ]; then
        kill -0 "$pid" 2>/dev/null && seen=yes
        break
    fi
    sleep 0.01
done
wait "$pid"
[ "$seen" = yes ]
check "into a file, 03's first line is written while it still sleeps" $?

# --- --help in 80 columns, --version ------------------------------------
for l in "${lessons[@]}"; do
    "$l/$l" --help >"$tmp/help" 2>&1
    st=$?
    wide=$(awk 'length > 80' "$tmp/help" | head -n 3)
    [ $st -eq 0 ] && [ -z "$wide" ] && [ -s "$tmp/help" ]
    check "$l --help fits 80 columns${wide:+: $wide}" $?
    "$l/$l" --version | grep -q "^$l (corolab) "
    check "$l --version" $?
done

# --- a short option means one thing ---------------------------------------
# Each short option's long names over all seven lessons. -n is "how many"
# (01 --baozi, 04 --tasks), by design. A clash between 05-07 only is
# reported but tolerated while those lessons are rewritten (issue 10); a
# clash involving 01-04 fails.
for l in "${lessons[@]}"; do
    "$l/$l" --help | sed -nE "s/^  -([A-Za-z]), --([a-z-]+).*/\1 \2 ${l%%_*}/p"
done | sort -u >"$tmp/shorts"
while read -r s; do
    longs=$(awk -v s="$s" '$1 == s { print $2 }' "$tmp/shorts" | sort -u | tr '\n' ' ')
    where=$(awk -v s="$s" '$1 == s { print $3 "=--" $2 }' "$tmp/shorts" | tr '\n' ' ')
    [ "$(echo $longs | wc -w)" -le 1 ] && continue
    [ "$s" = n ] && [ "$longs" = "baozi tasks " ] && continue
    if ! echo "$where" | grep -qE '\b0[1-4]='; then
        echo "note: -$s means different things in 05-07: $where(for their owners)"
        continue
    fi
    check "-$s means one thing (it is $where)" 1
done < <(cut -d' ' -f1 "$tmp/shorts" | sort -u)
check "short options of 01-04 clash with no lesson's" 0

# --- colours: only on a terminal, never with TERM=dumb or NO_COLOR -------
esc=$'\033['
on_tty() { # env assignments..., then the command through script(1)
    env "$@" script -qec "01_yield_generator/01_yield_generator --baozi 1" /dev/null </dev/null 2>&1
}
if command -v script >/dev/null; then
    on_tty TERM=xterm NO_COLOR= >"$tmp/tty" && grep -qF "$esc" "$tmp/tty"
    check "on a terminal (TERM=xterm) 01's [producer] is coloured" $?
    on_tty TERM=dumb NO_COLOR= >"$tmp/tty" && ! grep -qF "$esc" "$tmp/tty" &&
        grep -q 'producer' "$tmp/tty"
    check "on a terminal with TERM=dumb: no colour" $?
    on_tty TERM=xterm NO_COLOR=1 >"$tmp/tty" && ! grep -qF "$esc" "$tmp/tty"
    check "on a terminal with NO_COLOR=1: no colour" $?
else
    echo "note: no script(1): terminal colour checks skipped"
fi
TERM=xterm NO_COLOR= 01_yield_generator/01_yield_generator --baozi 1 | grep -qF "$esc"
[ $? -ne 0 ]
check "through a pipe: no colour" $?

# --- the command as invoked -----------------------------------------------
cp "$l3" "$tmp/corolab-03_gevent_sleep"
"$tmp/corolab-03_gevent_sleep" --bogus >/dev/null 2>"$tmp/err"
st=$?
[ $st -eq 2 ] && grep -q "^corolab-03_gevent_sleep: unknown option '--bogus'" "$tmp/err" &&
    grep -q "^Try 'corolab-03_gevent_sleep --help' for more information.$" "$tmp/err"
check "an installed name is named: $(tr '\n' ' ' <"$tmp/err")" $?
"$tmp/corolab-03_gevent_sleep" --help | grep -q '^Usage: corolab-03_gevent_sleep '
check "--help's usage line names the installed command" $?
"$l3" --sleep1 x 2>"$tmp/err" >/dev/null
[ $? -eq 2 ] && grep -q "^Try '03_gevent_sleep --help'" "$tmp/err"
check "in the tree: Try '03_gevent_sleep --help'" $?

exit $fail
