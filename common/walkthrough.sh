#!/bin/bash
# walkthrough.sh - the classroom walkthrough: every lesson in order, each
# introduced by a short banner, run for real, then checked against its
# expected.txt.                                    (make walkthrough runs it)
#
#   common/walkthrough.sh [--from N] [--only N] [--no-pause]
#
# On a terminal it pauses after each lesson (Enter goes on, q stops) and
# the lesson runs live, in colour. Without one (CI, a pipe, stdin from
# /dev/null) it runs straight through. Lessons 06 and 07 run together: the
# server on a free port in the background, the 100-thread client against
# it, then the server stopped with SIGINT and its summary shown. A lesson
# whose binary is not built yet is skipped with a note.
#
# The check is tests/transcripts.sh itself, for one lesson at a time
# (TRANSCRIPT_ONLY): the same arguments (NN_name/transcript.args), the same
# normalisation (tests/normalize.sed), the same verdict as `make check`.
# Without a terminal the lesson's output shown is that check run's own
# (tests/out/transcripts/NN_name.raw), so each lesson runs once.
#
# Exit status: 0 if every lesson run matched its transcript (or has none
# yet and exited 0), 1 if any failed, 2 on bad arguments.
#   WALKTHROUGH_TIMEOUT   seconds any one program may run (default 60)
set -u
cd "$(dirname "$0")/.." || exit 2
timeout_s=${WALKTHROUGH_TIMEOUT:-60}
export TRANSCRIPT_TIMEOUT=$timeout_s

# ---- the banners: one place for every lesson's words ----
# title | the Python it mirrors | what to watch for
declare -A TITLE PYTHON WATCH
TITLE[01]="Generators: yield, next and send"
PYTHON[01]="def consumer(name): ... new_baozi = yield ...   con.send(n) in producer()"
WATCH[01]="Two consumers and a producer interleave in one thread, no locks: each
consumer stops at its yield until the producer sends it the next baozi.
A generator only ever returns to whoever resumed it."
TITLE[02]="greenlet: switching explicitly"
PYTHON[02]="gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()"
WATCH[02]="12, 56, 34, 78: control jumps between test1 and test2 wherever they call
switch(). When test2 returns, control goes to its parent (main), so
test1 is left suspended after 34 and never prints again."
TITLE[03]="gevent: spawn, sleep, joinall"
PYTHON[03]="gevent.joinall([gevent.spawn(func1), gevent.spawn(func2)]); gevent.sleep(2)"
WATCH[03]="A sleep switches to the hub, which runs the other greenlet: func2 (1 s)
wakes before func1 (2 s), and the whole run takes 2 s, not 3.
Try it with --trace to see every switch."
TITLE[04]="Synchronous vs asynchronous"
PYTHON[04]="for i in range(1, 10): task(i)   vs   gevent.joinall([gevent.spawn(task, i) ...])"
WATCH[04]="One after another, nine tasks take nine sleeps; spawned as greenlets, ten
take about one sleep, because every sleep hands the thread to the next
task. (--async-only --tasks 1000000 runs a million greenlets.)"
TITLE[05]="Switching by itself on I/O: monkey patching"
PYTHON[05]="monkey.patch_all(); gevent.joinall([gevent.spawn(f, url) ...]) with urlopen"
WATCH[05]="Patched, all three GET lines come first and the run takes as long as the
slowest page; unpatched, the very same code fetches one page after
another. Only whether read() blocks the thread or just the greenlet changed."
TITLE[06]="A greenlet per connection: the echo server"
PYTHON[06]="server(8001): while True: cli, addr = s.accept(); gevent.spawn(handle_request, cli)"
WATCH[06]="One thread serves every client: each connection gets a greenlet, and each
recv() that would block switches to the hub, which runs whoever has data."
TITLE[07]="The load client: 100 threads against it"
PYTHON[07]="for i in range(100): threading.Thread(target=sock_conn).start()"
WATCH[07]="100 OS threads, each with its own connection, all served by the one-thread
server above; then the server is stopped with Ctrl-C (SIGINT) and
prints its summary."

# ---- options ----
usage() {
    cat <<EOF
Usage: common/walkthrough.sh [--from N] [--only N] [--no-pause]
Run the corolab lessons in order, as in class, each checked against its
expected transcript.

  --from N      start at lesson N (1-7)
  --only N      run lesson N alone (06 and 07 always run together)
  --no-pause    do not wait for Enter between lessons on a terminal
  -h, --help    show this help and exit

Without a terminal it never pauses. WALKTHROUGH_TIMEOUT (default 60) bounds
each program, in seconds.
EOF
}
usage_err() {
    echo "walkthrough.sh: $*" >&2
    echo "Try 'common/walkthrough.sh --help' for more information." >&2
    exit 2
}
lesson_number() { # "3", "03" -> 03
    [[ $1 =~ ^0?[1-7]$ ]] || usage_err "lesson number wanted (1-7), not '$1'"
    printf '%02d' "$((10#$1))"
}
from=01 only="" pause=1
while [ $# -gt 0 ]; do
    case $1 in
        --from|--only)
            [ $# -ge 2 ] || usage_err "$1 needs a lesson number"
            if [ "$1" = --from ]; then from=$(lesson_number "$2") || exit 2
            else only=$(lesson_number "$2") || exit 2; fi
            shift 2 ;;
        --from=*) from=$(lesson_number "${1#*=}") || exit 2; shift ;;
        --only=*) only=$(lesson_number "${1#*=}") || exit 2; shift ;;
        --no-pause) pause=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage_err "unknown argument '$1'" ;;
    esac
done
interactive=0
[ -t 0 ] && [ -t 1 ] && interactive=1
[ $interactive = 1 ] || pause=0

if [ $interactive = 1 ] && [ -z "${NO_COLOR:-}" ]; then
    B=$'\e[1m' G=$'\e[32;1m' R=$'\e[31;1m' Y=$'\e[33;1m' D=$'\e[2m' N=$'\e[0m'
else
    B="" G="" R="" Y="" D="" N=""
fi

# ---- clean-up: whatever runs in the background is stopped on exit ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corolab-walkthrough.XXXXXX") || exit 1
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do
        kill "$p" 2>/dev/null || continue
        sleep 0.2
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
forget_pid() { # PID: it has ended, it is not ours to kill any more
    local p keep=()
    for p in "${bg_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    bg_pids=("${keep[@]}")
}
trap cleanup EXIT
trap 'echo; echo "walkthrough: interrupted"; exit 130' INT
trap 'exit 143' TERM

lesson_dir() { local d; for d in "$1"_*/; do [ -d "$d" ] && echo "${d%/}" && return; done; }

banner() { # NN
    local n=$1 dir
    dir=$(lesson_dir "$n")
    printf '\n%s======== Lesson %s: %s ========%s\n' "$B" "$n" "${TITLE[$n]}" "$N"
    printf '%sPython:%s  %s\n' "$B" "$N" "${PYTHON[$n]}"
    printf '%sWatch:%s   %s\n' "$B" "$N" "${WATCH[$n]//$'\n'/$'\n'         }"
    [ -n "$dir" ] && [ -f "$dir/README.md" ] &&
        printf '%s(more in %s/README.md)%s\n' "$D" "$dir" "$N"
    echo
}

matched=0 failed=0 unchecked=0 skipped=0 failed_names=()
fail() { failed=$((failed + 1)); failed_names+=("$1"); }

# transcript_check NAME: tests/transcripts.sh for that lesson alone; its
# report is kept in $tmp/NAME.check. Status 0 if it passed.
transcript_check() {
    TRANSCRIPT_ONLY=$1 tests/transcripts.sh >"$tmp/$1.check" 2>&1 &&
        grep -q "^PASS: $1\$" "$tmp/$1.check"
}

# verdict NAME STATUS: say what transcript_check found.
verdict() {
    if [ "$2" = 0 ]; then
        matched=$((matched + 1))
        printf '%s✓ %s matches the expected transcript%s\n' "$G" "$1" "$N"
    else
        fail "$1"
        printf '%s✗ %s does not match the expected transcript:%s\n' "$R" "$1" "$N"
        grep -v '^transcripts: ' "$tmp/$1.check" | sed 's/^/  /'
    fi
}

# in_background CMD...: run CMD and wait for it. A signal to this script
# is then handled at once (bash runs traps only between commands, but
# during `wait` too), and the clean-up stops CMD.
in_background() {
    local pid st
    "$@" &
    pid=$!
    bg_pids+=("$pid")
    wait "$pid"
    st=$?
    forget_pid "$pid"
    return $st
}

# run_live NAME ARGS...: the lesson as the class sees it, from its folder.
# --foreground: timeout keeps it in the terminal's process group, so that
# Ctrl-C reaches the lesson itself.
run_live() {
    in_background live_child "$@"
}
live_child() {
    local name=$1
    shift
    cd "$name" && exec timeout --foreground "$timeout_s" "./$name" "$@" </dev/null
}

transcript_args() { # NAME: its transcript.args words, one per line
    local args=()
    [ -f "$1/transcript.args" ] && eval "args=($(<"$1/transcript.args"))"
    [ ${#args[@]} -eq 0 ] || printf '%s\n' "${args[@]}"
}

# A lesson run on its own (01-05): run it, show it, check it.
run_lesson() { # NN
    local n=$1 name st args=()
    name=$(lesson_dir "$n")
    banner "$n"
    if [ -z "$name" ] || [ ! -x "$name/$name" ]; then
        skipped=$((skipped + 1))
        printf '%s- lesson %s is not built yet: skipped%s\n' "$Y" "$n" "$N"
        return
    fi
    mapfile -t args < <(transcript_args "$name")
    printf '%s$ %s/%s%s%s\n' "$D" "$name" "$name" "${args[*]:+ ${args[*]}}" "$N"
    if [ ! -f "$name/expected.txt" ]; then
        run_live "$name" "${args[@]}"
        st=$?
        if [ $st = 0 ]; then
            unchecked=$((unchecked + 1))
            printf '%s- %s has no expected.txt yet: not checked%s\n' "$Y" "$name" "$N"
        else
            fail "$name"
            printf '%s✗ %s exited with status %s%s\n' "$R" "$name" "$st" "$N"
        fi
        return
    fi
    if [ $interactive = 1 ]; then
        # Live and in colour; the check runs beside it, quietly.
        transcript_check "$name" &
        local check=$!
        bg_pids+=("$check")
        run_live "$name" "${args[@]}"
        wait "$check"
        st=$?
        forget_pid "$check"
    else
        in_background transcript_check "$name"
        st=$?
        cat "tests/out/transcripts/$name.raw" 2>/dev/null
        cat "tests/out/transcripts/$name.stderr" 2>/dev/null >&2
    fi
    echo
    verdict "$name" "$st"
}

# ---- 06 and 07 together ----
show_server_output() { # FILE: all of it if short, else its head and tail
    local f=$1 lines
    lines=$(wc -l <"$f")
    if [ "$lines" -le 40 ]; then
        sed 's/^/  | /' "$f"
    else
        head -n 5 "$f" | sed 's/^/  | /'
        printf '  | %s... %d lines ...%s\n' "$D" $((lines - 20)) "$N"
        tail -n 15 "$f" | sed 's/^/  | /'
    fi
}

run_pair() {
    local srv=06_socket_server cli=07_load_client port="" st pid i cargs=()
    banner 06
    banner 07
    if [ ! -x "$srv/$srv" ] || [ ! -x "$cli/$cli" ]; then
        skipped=$((skipped + 1))
        printf '%s- lessons 06 and 07 are not both built yet: skipped%s\n' "$Y" "$N"
        return
    fi
    printf '%s$ %s/%s --port 0 &%s\n' "$D" "$srv" "$srv" "$N"
    : >"$tmp/06.out" # there to be read before the server has written
    (cd "$srv" && exec timeout "$timeout_s" "./$srv" --port 0) \
        </dev/null >"$tmp/06.out" 2>"$tmp/06.err" &
    pid=$!
    bg_pids+=("$pid")
    # Its first line names the port; give it 10 s to say it.
    for ((i = 0; i < 100; i++)); do
        port=$(head -n 1 "$tmp/06.out" | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p')
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        fail "$srv"
        printf '%s✗ %s did not say which port it listens on%s\n' "$R" "$srv" "$N"
        show_server_output "$tmp/06.out"
        sed 's/^/  ! /' "$tmp/06.err"
        return
    fi
    head -n 1 "$tmp/06.out" | sed 's/^/  | /'
    cargs=(--port "$port" --threads 100 --messages 3)
    printf '%s$ %s/%s %s%s\n' "$D" "$cli" "$cli" "${cargs[*]}" "$N"
    run_live "$cli" "${cargs[@]}"
    st=$?
    [ $st = 0 ] || { fail "$cli (status $st)"; printf '%s✗ %s exited with status %s%s\n' "$R" "$cli" "$st" "$N"; }

    printf '\n%s$ kill -INT %s   # Ctrl-C: the server stops and sums up%s\n' "$D" "$srv" "$N"
    kill -INT "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        fail "$srv (no exit on SIGINT)"
        printf '%s✗ %s did not stop within 5 s of SIGINT%s\n' "$R" "$srv" "$N"
    fi
    wait "$pid"
    st=$?
    forget_pid "$pid"
    show_server_output "$tmp/06.out"
    [ -s "$tmp/06.err" ] && sed 's/^/  ! /' "$tmp/06.err"
    case $st in
        0|130) ;; # a clean exit on SIGINT, either way
        *) fail "$srv (status $st)"
           printf '%s✗ %s exited with status %s%s\n' "$R" "$srv" "$st" "$N" ;;
    esac

    # Their transcripts, as make check runs them (each with its own
    # transcript.args).
    echo
    local name
    for name in "$srv" "$cli"; do
        if [ -f "$name/expected.txt" ]; then
            transcript_check "$name"
            verdict "$name" $?
        else
            unchecked=$((unchecked + 1))
            printf '%s- %s has no expected.txt yet: not checked%s\n' "$Y" "$name" "$N"
        fi
    done
}

# ---- the lessons, in order ----
todo=()
for n in 01 02 03 04 05 06; do
    if [ -n "$only" ]; then
        [ "$n" = "$only" ] || { [ "$n" = 06 ] && [ "$only" = 07 ]; } || continue
    elif ((10#$n < 10#$from)) && ! { [ "$n" = 06 ] && [ "$from" = 07 ]; }; then
        continue
    fi
    todo+=("$n")
done

for ((k = 0; k < ${#todo[@]}; k++)); do
    n=${todo[k]}
    if [ "$n" = 06 ]; then run_pair; else run_lesson "$n"; fi
    if [ $pause = 1 ] && [ $((k + 1)) -lt ${#todo[@]} ]; then
        next=${todo[k + 1]}
        read -r -p "${D}Enter: lesson $next, q: stop > ${N}" answer </dev/tty || answer=q
        case $answer in q|Q|quit) echo "stopped before lesson $next"; break ;; esac
    fi
done

echo
summary="walkthrough: $matched matched, $failed failed, $unchecked not checked, $skipped skipped"
if [ $failed -gt 0 ]; then
    printf '%s%s%s (%s)\n' "$R" "$summary" "$N" "${failed_names[*]}"
    exit 1
fi
printf '%s%s%s\n' "$G" "$summary" "$N"
exit 0
