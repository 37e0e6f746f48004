#!/bin/bash
# walkthrough_tty.sh - common/walkthrough.sh on a terminal, as a teacher runs
# it: in a detached tmux session (a real pseudo-terminal), keys sent with
# send-keys, the screen recorded with pipe-pane. Checks, from --from 5:
#   - it pauses before a lesson and runs it on Enter;
#   - a key pressed during a run does not answer the next pause;
#   - p shows the lesson's Python, n its "What to notice";
#   - 06's run shows its recv: b'hello N' lines beside the demo client's,
#     and the ✓ follows them; t runs it again with --trace (trace lines);
#   - b goes back a lesson, q quits with status 0;
#   - Ctrl-C during a run stops the walkthrough and the lesson with it;
#   - on an 80-column terminal (a classroom projector) the pause's prompt,
#     before and after a run, in English and in Chinese (--lang zh: a CJK
#     character takes two columns), is one line of the screen: it does not
#     wrap (tmux capture-pane shows the screen as it is drawn).
# Runs the script itself, not `make walkthrough` (that would rebuild with
# the default flags under `make check SAN=1`). Skipped without tmux.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
command -v tmux >/dev/null 2>&1 || { echo "tmux is not installed (make deps installs it): skipped"; exit 77; }
for d in 05_io_autoswitch 06_socket_server 03_gevent_sleep; do
    [ -x "$d/$d" ] || { echo "$d is not built: run make first"; exit 77; }
done
out=$root/tests/out/walkthrough_tty
rm -rf "$out"
mkdir -p "$out"
sock=$out/tmux.sock
tm() { tmux -S "$sock" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null' EXIT
. tests/integration/check.bash

# session NAME ARGS...: the walkthrough on an 80x50 terminal, its screen
# recorded in $out/NAME.screen, its exit status in $out/NAME.status.
session() {
    local name=$1
    shift
    tm new-session -d -s "$name" -x 80 -y 50 \
        "cd '$root' && while [ ! -e '$out/$name.go' ]; do sleep 0.05; done;
         NO_COLOR=1 WALKTHROUGH_TIMEOUT=60 common/walkthrough.sh $*;
         echo \$? >'$out/$name.status'; sleep 60"
    tm pipe-pane -t "$name" -o "cat >>'$out/$name.screen'"
    touch "$out/$name.go"
}
# wait_for NAME PATTERN [COUNT] [SECONDS]: until the screen shows PATTERN
# (an extended regex) COUNT times; status 1 after SECONDS (default 120).
wait_for() {
    local name=$1 pat=$2 count=${3:-1} secs=${4:-120} i
    for ((i = 0; i < secs * 10; i++)); do
        [ "$(grep -cE -- "$pat" "$out/$name.screen" 2>/dev/null)" -ge "$count" ] && return 0
        sleep 0.1
    done
    echo "  (timed out waiting for '$pat' x$count)"
    return 1
}
key() { tm send-keys -t "$1" "$2"; }
seen() { grep -cE -- "$2" "$out/$1.screen"; }
# press NAME KEY PATTERN [SECONDS]: press KEY, then wait for PATTERN to be
# shown once more than it was before.
press() {
    local n
    n=$(seen "$1" "$3")
    key "$1" "$2"
    wait_for "$1" "$3" $((n + 1)) "${4:-60}"
}

# settle NAME: wait for the pause after what a key showed. The walkthrough
# throws away type-ahead before each pause, so a key sent before the pause
# is printed would be lost (that is the point of the flush).
PROMPT='\[q\]uit \[\?\]keys > '
settle() { wait_for "$1" "$PROMPT" "$((prompts_before + 1))" 60; }
press_then_pause() { # NAME KEY PATTERN [SECONDS]: press, see PATTERN, then the pause
    prompts_before=$(seen "$1" "$PROMPT")
    press "$@" && settle "$1"
}

# one_line NAME FIRST LAST: the screen as drawn now has a line that starts
# with FIRST and ends with LAST (fixed strings): the prompt did not wrap.
one_line() {
    tm capture-pane -p -t "$1" >"$out/$1.pane"
    awk -v a="$2" -v z="$3" 'index($0, a) == 1 && substr($0, length($0) - length(z) + 1) == z {ok = 1}
        END {exit !ok}' <(sed 's/ *$//' "$out/$1.pane")
}

# ---- the keys ----
s=keys
session $s --from 5
wait_for $s '\[Enter\] run lesson 05'
check "pauses before lesson 05" $?
one_line $s '[Enter] run lesson 05' '[?]keys >'
check "the prompt before a run is one line of an 80-column screen" $?
press $s Enter '^GET: '
key $s Enter # pressed during the run: must not answer the next pause
wait_for $s '\[Enter\] next'
check "05 ran on Enter, then a pause after it" $?
one_line $s '[Enter] next' '[?]keys >'
check "the prompt after a run is one line of an 80-column screen" $?
sleep 1.5
check "a key pressed during the run did not answer the pause after it" \
    "$([ "$(seen $s '^======== Lesson 06')" = 0 ]; echo $?)"
press_then_pause $s p 'monkey.patch_all\(\)' 60
check "p shows the Python it mirrors" $?
press_then_pause $s n 'what to notice \(05_io_autoswitch/README.md\)' 60
check "n shows its README's What to notice" $?
press $s Enter '\[Enter\] run lesson 06'
check "Enter goes on to lesson 06, which pauses before its run" $?
# pauses counted before the key: on a busy machine the one after 06's run
# can be drawn before press returns
nexts=$(seen $s '\[Enter\] next')
press $s Enter 'idle conns +epoll +poll +select' 90
check "06 ran, then showed epoll, poll and select side by side" $?
wait_for $s '\[Enter\] next' "$((nexts + 1))" 30
check "06 ran and paused after" $?
check "06's recv lines and its demo client's lines were on screen" \
    "$(grep -qF "recv: b'hello 0'" "$out/$s.screen" &&
      grep -qF '[demo] recv from server: hello 2' "$out/$s.screen"; echo $?)"
check "the ✓ for 06 follows what was shown" \
    "$(awk "/recv: b'hello 2'/ {r = 1} r && /✓ 06_socket_server matches/ {ok = 1} END {exit !ok}" \
        "$out/$s.screen"; echo $?)"
press_then_pause $s t '✓ 06_socket_server matches' 60
check "t ran 06 again, checked again" $?
check "t ran it with --trace: the trace was on screen" \
    "$(grep -q '06_socket_server --port 0 --demo --trace' "$out/$s.screen" &&
      grep -qE 'spawn +demo|spawn' "$out/$s.screen"; echo $?)"
press $s b '\[Enter\] run lesson 05' 60
check "b goes back to lesson 05" $?
key $s q
for ((i = 0; i < 100; i++)); do [ -s "$out/$s.status" ] && break; sleep 0.1; done
check "q quits, status 0 (was $(cat "$out/$s.status" 2>/dev/null))" \
    "$([ "$(cat "$out/$s.status" 2>/dev/null)" = 0 ] && grep -q 'stopped at lesson 05' "$out/$s.screen"; echo $?)"

# ---- in Chinese: the prompts still fit 80 columns ----
if [ -f common/po/locale/zh_CN/LC_MESSAGES/corolab.mo ] && command -v gettext >/dev/null; then
    s=zh PROMPT='\[\?\]按键 > '
    session $s --lang zh --only 3
    wait_for $s '运行第 03 课' 1 30
    check "zh: pauses before lesson 03, in Chinese" $?
    one_line $s '[回车]运行第 03 课' '[?]按键 >'
    check "zh: the prompt before a run is one line of an 80-column screen" $?
    press $s Enter '\[回车\]下一课' 30
    check "zh: 03 ran on Enter, then a pause after it" $?
    one_line $s '[回车]下一课' '[?]按键 >'
    check "zh: the prompt after a run is one line of an 80-column screen" $?
    press_then_pause $s n '要注意的地方（03_gevent_sleep/README.zh.md）' 30
    check "zh: n shows What to notice from README.zh.md, then a pause" $?
    key $s q
    for ((i = 0; i < 100; i++)); do [ -s "$out/$s.status" ] && break; sleep 0.1; done
    check "zh: q quits, status 0, in Chinese" \
        "$([ "$(cat "$out/$s.status" 2>/dev/null)" = 0 ] && grep -q '停在第 03 课' "$out/$s.screen"; echo $?)"
else
    echo "note: no built catalogue: the Chinese prompts not checked"
fi

# ---- Ctrl-C ----
# lesson_pid: the pid of a process running our own 03 binary (the same
# file: test -ef, a builtin, so the scan of /proc is quick), or nothing.
lesson_pid() {
    local p bin=$root/03_gevent_sleep/03_gevent_sleep
    for p in /proc/[0-9]*; do
        [ "$p/exe" -ef "$bin" ] 2>/dev/null && echo "${p#/proc/}" && return
    done
}
s=intr
session $s --only 3 --no-pause
pid=
for ((i = 0; i < 100; i++)); do pid=$(lesson_pid); [ -n "$pid" ] && break; sleep 0.1; done
check "03 is running (pid ${pid:-none})" "$([ -n "$pid" ]; echo $?)"
sleep 0.3
key $s C-c
wait_for $s 'walkthrough: interrupted' 1 10
check "Ctrl-C stops the walkthrough" $?
sleep 0.5
check "Ctrl-C stops the lesson it was running" \
    "$([ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; echo $?)"

if [ $fail -ne 0 ]; then
    echo "---- screens (tests/out/walkthrough_tty/*.screen), tails:"
    for f in "$out"/*.screen; do echo "== $f"; tail -n 40 "$f" | tr -d '\r'; done
    failures_last
fi
[ $fail -eq 0 ] && echo "walkthrough_tty: all passed"
exit $fail
