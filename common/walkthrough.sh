#!/bin/bash
# walkthrough.sh - the classroom walkthrough: every lesson in order, each
# introduced by a short banner, run for real in front of the class, and the
# run the class saw checked against the lesson's expected.txt.
#                                                  (make walkthrough runs it)
#
#   common/walkthrough.sh [--from N] [--only N] [--no-pause] [--pictures DIR]
#                         [--lang zh|en]
#
# Its words go through gettext (common/po, textdomain corolab), in the
# language of LANGUAGE/LC_ALL/LANG or of --lang; in Chinese the lessons run
# in Chinese too and are checked against their expected.zh.txt.
#
# On a terminal it pauses before and after each lesson, for the teacher's
# keys (see keys_help below and README.md): run, run with --trace, show the
# Python, show "What to notice", back one lesson, quit. Type-ahead is
# thrown away before each pause, so a key pressed during a run answers
# nothing. Without a terminal (CI, a pipe, stdin from /dev/null) it runs
# straight through; lessons' stderr (their --trace, COROLAB_TRACE=1) goes
# to this script's stderr either way.
#
# Each lesson runs once, with its transcript.args, stdout shown and kept;
# that output is normalised (tests/normalize.sed) and compared with
# expected.txt, as tests/transcripts.sh does, so the ✓ is about what was on
# screen. 06 runs its --demo (the server and its own client interleaving in
# one thread), then epoll, poll and select side by side
# (tests/bench/backends.sh --quick). 07 runs its one-thread transcript,
# then 100 OS threads against a 06 server, stopped with SIGINT.
#
# Every program runs in a process group of its own: Ctrl-C, SIGTERM or any
# exit stops them all. A lesson whose binary is not built is skipped.
# --pictures DIR: each lesson's trace as a picture, DIR/NN_name.svg
# (COROLAB_TRACE_FILE), and at the end where to open them.
#
# Exit status: 0 if every lesson run matched its transcript (or has none
# yet and exited 0), 1 if any failed, 2 on bad arguments.
#   WALKTHROUGH_TIMEOUT   seconds any one program may run (default 60)
set -u
cd "$(dirname "$0")/.." || exit 2
timeout_s=${WALKTHROUGH_TIMEOUT:-60}

# ---- the language (issue 15): gettext, as the C programs use it ----
# --lang is taken here, before any word is said; the tree's catalogue is
# used while it is built, else the installed one.
lang="" next_is_lang=""
for a in "$@"; do
    if [ -n "$next_is_lang" ]; then lang=$a next_is_lang=""; continue; fi
    case $a in
        --lang) next_is_lang=1 ;;
        --lang=*) lang=${a#--lang=} ;;
    esac
done
unset next_is_lang a
case $lang in
    zh) export LANGUAGE=zh_CN
        # gettext ignores LANGUAGE in the plain C locale (common/po/README.md)
        case $(locale 2>/dev/null | sed -n 's/^LC_MESSAGES="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p') in
            C|POSIX|"") if locale -a 2>/dev/null | grep -qix 'zh_CN.utf-\{0,1\}8'; then
                            export LC_ALL=zh_CN.UTF-8
                        else export LC_ALL=C.UTF-8; fi ;;
        esac ;;
    en) export LANGUAGE=en ;;
esac
export TEXTDOMAIN=corolab
if [ -f common/po/locale/zh_CN/LC_MESSAGES/corolab.mo ]; then
    export TEXTDOMAINDIR=$PWD/common/po/locale
fi
if ! command -v gettext >/dev/null; then
    gettext() { printf '%s' "$1"; } # English, without gettext's tools
fi
# In Chinese when the catalogue answers (--lang zh, or the environment's).
zh=""
[ "$(gettext 'Synchronous')" = Synchronous ] || zh=1

# ---- the banners: one place for every lesson's words ----
# title | the Python it mirrors | what to watch for
declare -A TITLE PYTHON WATCH
TITLE[01]=$(gettext "Generators: yield, next and send")
PYTHON[01]="def consumer(name): ... new_baozi = yield ...   con.send(n) in producer()"
WATCH[01]=$(gettext "Two consumers and a producer interleave in one thread, no locks: each
consumer stops at its yield until the producer sends it the next baozi.
A generator only ever returns to whoever resumed it.")
TITLE[02]=$(gettext "greenlet: switching explicitly")
PYTHON[02]="gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()"
WATCH[02]=$(gettext "12, 56, 34, 78: control jumps between test1 and test2 wherever they call
switch(). When test2 returns, control goes to its parent (main), so
test1 is left suspended after 34 and never prints again.")
TITLE[03]=$(gettext "gevent: spawn, sleep, joinall")
PYTHON[03]="gevent.joinall([gevent.spawn(func1), gevent.spawn(func2)]); gevent.sleep(2)"
WATCH[03]=$(gettext "A sleep switches to the hub, which runs the other greenlet: func2 (1 s)
wakes before func1 (2 s), and the whole run takes 2 s, not 3.
Try it with --trace to see every switch.")
TITLE[04]=$(gettext "Synchronous vs asynchronous")
PYTHON[04]="for i in range(1, 10): task(i)   vs   gevent.joinall([gevent.spawn(task, i) ...])"
WATCH[04]=$(gettext "One after another, nine tasks take nine sleeps; spawned as greenlets, ten
take about one sleep, because every sleep hands the thread to the next
task. (--async-only --tasks 1000000 runs a million greenlets.)")
TITLE[05]=$(gettext "Switching by itself on I/O: monkey patching")
PYTHON[05]="monkey.patch_all(); gevent.joinall([gevent.spawn(f, url) ...]) with urlopen"
WATCH[05]=$(gettext "Patched, all three GET lines come first and the run takes as long as the
slowest page; unpatched, the very same code fetches one page after
another. Only whether read() blocks the thread or just the greenlet changed.")
TITLE[06]=$(gettext "A greenlet per connection: the echo server")
PYTHON[06]="server(8001): while True: cli, addr = s.accept(); gevent.spawn(handle_request, cli)"
WATCH[06]=$(gettext "One thread serves every client: each connection gets a greenlet, and each
recv() that would block switches to the hub, which runs whoever has data.
With --demo the client is a greenlet in the same thread: its lines and the
server's recv: b'hello N' lines alternate. Then epoll, poll and select side
by side, while idle connections pile up.")
TITLE[07]=$(gettext "The load client: 100 threads against it")
PYTHON[07]="for i in range(100): threading.Thread(target=sock_conn).start()"
WATCH[07]=$(gettext "First one thread and its own server, as in the notes; then 100 OS threads,
each with its own connection, all served by one 06 server in one thread,
stopped with Ctrl-C (SIGINT): its summary counts the connections.")

# ---- options ----
# Every message with a value in it is a printf format from gettext, the
# values its arguments: printf "$(gettext 'lesson %s ...')" "$n".
usage() {
    printf "$(gettext "Usage: %s [--from N] [--only N] [--no-pause]
                             [--pictures DIR] [--lang zh|en]
Run the corolab lessons in order, as in class; what each run shows is
checked against the lesson's expected transcript.

  --from N         start at lesson N (1-7)
  --only N         run lesson N alone
  --no-pause       do not pause for the teacher's keys on a terminal
  --pictures DIR   draw each lesson's trace into DIR/NN_name.svg
  --lang zh|en     speak Chinese or English (default: LANGUAGE, LC_ALL, LANG)
  -h, --help       show this help and exit

Keys at each pause (on a terminal):")\n" common/walkthrough.sh
    keys_help
    gettext 'Without a terminal it never pauses. WALKTHROUGH_TIMEOUT (default 60) bounds
each program, in seconds.'
    echo
}
keys_help() {
    gettext '  Enter    run the lesson (before), or go on to the next one (after)
  r        run it again            t   run it (again) with --trace
  p        show the Python it mirrors
  n        show "What to notice" from its README
  b        back one lesson         q   quit'
    echo
}
usage_err() { # FORMAT ARGS... (FORMAT translated)
    local f=$1
    shift
    { printf 'walkthrough.sh: '; printf "$f" "$@"; echo
      printf "$(gettext "Try '%s --help' for more information.")\n" common/walkthrough.sh; } >&2
    exit 2
}
lesson_number() { # "3", "03" -> 03
    [[ $1 =~ ^0?[1-7]$ ]] || usage_err "$(gettext "lesson number wanted (1-7), not '%s'")" "$1"
    printf '%02d' "$((10#$1))"
}
from=01 only="" pause=1 pictures=""
while [ $# -gt 0 ]; do
    case $1 in
        --from|--only|--pictures)
            [ $# -ge 2 ] || usage_err "$(gettext '%s needs an argument')" "$1"
            case $1 in
                --from) from=$(lesson_number "$2") || exit 2 ;;
                --only) only=$(lesson_number "$2") || exit 2 ;;
                --pictures) pictures=$2 ;;
            esac
            shift 2 ;;
        --from=*) from=$(lesson_number "${1#*=}") || exit 2; shift ;;
        --only=*) only=$(lesson_number "${1#*=}") || exit 2; shift ;;
        --pictures=*) pictures=${1#*=}; shift ;;
        --no-pause) pause=0; shift ;;
        --lang|--lang=*) # taken above, before the banners
            v=${1#--lang}; v=${v#=}; [ -n "$v" ] || { v=${2-}; shift; }
            case $v in zh|en) ;; *) usage_err "$(gettext "%s wants zh or en, not '%s'")" --lang "$v" ;; esac
            shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage_err "$(gettext "unknown argument '%s'")" "$1" ;;
    esac
done
if [ -n "$pictures" ]; then
    [ -n "${pictures// /}" ] || usage_err "$(gettext '%s needs a folder name')" --pictures
    mkdir -p -- "$pictures" || usage_err "$(gettext "%s: cannot make folder '%s'")" --pictures "$pictures"
    pictures=$(cd -- "$pictures" && pwd) # the lessons run from their own folders
fi
interactive=0
[ -t 0 ] && [ -t 1 ] && interactive=1
[ $interactive = 1 ] || pause=0

if [ $interactive = 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
    B=$'\e[1m' G=$'\e[32;1m' R=$'\e[31;1m' Y=$'\e[33;1m' D=$'\e[2m' N=$'\e[0m'
else
    B="" G="" R="" Y="" D="" N=""
fi

# ---- every program in a process group of its own, stopped on exit ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corolab-walkthrough.XXXXXX") || exit 1
groups=()
cleanup() {
    local g
    for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
    for g in "${groups[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$g" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$g" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
interrupted() { echo; gettext 'walkthrough: interrupted'; echo; exit 130; }
trap interrupted INT
trap 'exit 143' TERM

# start CMD...: run CMD in the background, in a process group of its own
# (job control on for that one fork); its pid, also the group's, in $started.
start() {
    set -m
    "$@" &
    started=$!
    set +m
    groups+=("$started")
}
forget() { # PID: its group has ended
    local g keep=()
    for g in "${groups[@]}"; do [ "$g" = "$1" ] || keep+=("$g"); done
    groups=("${keep[@]}")
}
# in_group CMD...: run CMD there and wait for it. A signal to this script
# is handled at once (bash runs traps during `wait`), and cleanup stops CMD.
in_group() {
    local st
    start "$@"
    wait "$started"
    st=$?
    forget "$started"
    return $st
}

lesson_dir() { local d; for d in "$1"_*/; do [ -d "$d" ] && echo "${d%/}" && return; done; }

# fit TEXT: TEXT for a 9-column label on an 80-column projector: English
# is refolded to 71 columns; Chinese keeps its translator's line breaks
# (fold counts bytes, not CJK's double-width columns). Continuation lines
# are indented under the label.
fit() { # TEXT [ascii]: fold to 80 columns (fold counts bytes: Chinese is
    local t=$1     # folded by hand in the catalogue, ASCII such as Python always here)
    [ -n "$zh" ] && [ "${2-}" != ascii ] || t=$(printf '%s' "$t" | tr '\n' ' ' | fold -s -w 71 | sed 's/ *$//')
    printf '%s' "${t//$'\n'/$'\n'         }"
}

banner() { # NN
    local n=$1 dir
    dir=$(lesson_dir "$n")
    local readme=README.md
    [ -n "$zh" ] && [ -f "$dir/README.zh.md" ] && readme=README.zh.md
    printf '\n%s======== %s ========%s\n' "$B" "$(printf "$(gettext 'Lesson %s: %s')" "$n" "${TITLE[$n]}")" "$N"
    printf '%sPython:%s  %s\n' "$B" "$N" "$(fit "${PYTHON[$n]}" ascii)"
    printf '%s%s%s   %s\n' "$B" "$(gettext 'Watch:')" "$N" "$(fit "${WATCH[$n]}")"
    [ -n "$dir" ] && [ -f "$dir/README.md" ] &&
        printf "%s$(gettext '(more in %s)')%s\n" "$D" "$dir/$readme" "$N"
    echo
}

# readme NAME: its README in the language spoken (README.zh.md in Chinese).
readme() {
    if [ -n "$zh" ] && [ -f "$1/README.zh.md" ]; then echo "$1/README.zh.md"
    else echo "$1/README.md"; fi
}
# readme_section FILE HEADING: that "## HEADING" section of FILE.
readme_section() {
    awk -v h="## $2" 'index($0, h) == 1 {p = 1; next} /^## / {p = 0} p' "$1" 2>/dev/null
}
show_python() { # NAME: the course's Python, from the README's python blocks
    local py file
    file=$(readme "$1")
    # TRANSLATORS: the heading of that section in the lessons' README.zh.md
    py=$(readme_section "$file" "$(gettext 'The Python it mirrors')" |
        awk '/^```python/ {p = 1; next} /^```/ {if (p) print ""; p = 0} p')
    printf '\n%s---- %s ----%s\n' "$B" "$(printf "$(gettext 'the Python that %s mirrors (%s)')" "$1" "$file")" "$N"
    if [ -n "$py" ]; then printf '%s\n' "$py"; else printf "$(gettext '(no Python block in its README)')"; echo; fi
}
show_notice() { # NAME
    local txt file
    file=$(readme "$1")
    # TRANSLATORS: the heading of that section in the lessons' README.zh.md
    txt=$(readme_section "$file" "$(gettext 'What to notice')")
    printf '\n%s---- %s ----%s\n' "$B" "$(printf "$(gettext 'what to notice (%s)')" "$file")" "$N"
    if [ -n "$txt" ]; then printf '%s\n' "$txt"; else printf "$(gettext '(no "What to notice" in its README)')"; echo; fi
}

matched=0 failed=0 unchecked=0 skipped=0 failed_names=()
fail() { failed=$((failed + 1)); failed_names+=("$1"); }

transcript_args() { # NAME: its transcript.args words, one per line
    local args=()
    [ -f "$1/transcript.args" ] && eval "args=($(<"$1/transcript.args"))"
    [ ${#args[@]} -eq 0 ] || printf '%s\n' "${args[@]}"
}

# lesson_child NAME OUT ARGS...: the lesson from its folder, stdout shown
# and kept in OUT (a pipe, as for tests/transcripts.sh), stderr as ours.
# timeout --foreground stays in our process group, so cleanup reaches it.
lesson_child() {
    local name=$1 out=$2 st
    shift 2
    (cd "$name" && exec timeout --foreground "$timeout_s" "./$name" "$@") </dev/null | tee "$out"
    st=${PIPESTATUS[0]}
    return "$st"
}

# check_shown NAME STATUS: the run just shown ($tmp/NAME.raw) against its
# expected.txt (and transcript.status), as tests/transcripts.sh checks it.
check_shown() {
    local name=$1 st=$2 want=0 problem="" same exp=$1/expected.txt
    [ -n "$zh" ] && [ -f "$name/expected.zh.txt" ] && exp=$name/expected.zh.txt
    [ -f "$name/transcript.status" ] && want=$(tr -d ' \n' <"$name/transcript.status")
    if [ "$st" = 124 ]; then problem=$(printf "$(gettext 'timed out after %ss')" "$timeout_s")
    elif [ "$st" != "$want" ]; then problem=$(printf "$(gettext 'exit status %s, expected %s')" "$st" "$want"); fi
    if [ -x tests/compare.sh ]; then
        tests/compare.sh -q -e -o "$tmp/$name.diff" -L "$name (the run above)" "$exp" "$tmp/$name.raw"
        same=$?
    else # the same, until tests/compare.sh is there
        diff -u --label "$name/expected.txt" --label "$name (the run above, normalised)" \
            <(LC_ALL=C sed -E -f tests/normalize.sed "$name/expected.txt") \
            <(LC_ALL=C sed -E -f tests/normalize.sed "$tmp/$name.raw") >"$tmp/$name.diff"
        same=$?
    fi
    if [ "$same" = 0 ] && [ -z "$problem" ]; then
        matched=$((matched + 1))
        printf "%s✓ $(gettext '%s matches the expected transcript (the run above)')%s\n" "$G" "$name" "$N"
        return 0
    fi
    fail "$name"
    printf "%s✗ $(gettext '%s does not match the expected transcript')%s%s\n" "$R" "$name" "${problem:+ ($problem)}" "$N"
    head -n 30 "$tmp/$name.diff" | sed 's/^/  /'
    return 1
}

# run_main NAME [--trace]: the lesson's own run, shown, then checked.
run_main() {
    local name=$1 st args=()
    shift
    mapfile -t args < <(transcript_args "$name")
    args+=("$@")
    printf '%s$ %s/%s%s%s\n' "$D" "$name" "$name" "${args[*]:+ ${args[*]}}" "$N"
    if [ -n "$pictures" ]; then
        COROLAB_TRACE_FILE=$pictures/$name.svg in_group lesson_child "$name" "$tmp/$name.raw" "${args[@]}"
    else
        in_group lesson_child "$name" "$tmp/$name.raw" "${args[@]}"
    fi
    st=$?
    echo
    if [ -f "$name/expected.txt" ]; then
        check_shown "$name" "$st"
    elif [ $st = 0 ]; then
        unchecked=$((unchecked + 1))
        printf '%s- %s%s\n' "$Y" "$(printf "$(gettext '%s has no expected.txt yet: not checked')" "$name")" "$N"
    else
        fail "$name"
        printf '%s✗ %s%s\n' "$R" "$(printf "$(gettext '%s exited with status %s')" "$name" "$st")" "$N"
    fi
}

# ---- what 06 and 07 show beyond their own run ----
wait_port() { # PID FILE: the port its first line names ("...:PORT"); 10 s
    local i port
    for ((i = 0; i < 100; i++)); do
        port=$(head -n 1 "$2" | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p')
        [ -n "$port" ] && { echo "$port"; return 0; }
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# 06: the same server on epoll, poll and select, idle connections piling up.
show_backends() {
    local st
    printf '\n%s$ tests/bench/backends.sh --quick   # %s%s\n' "$D" "$(gettext 'select, poll, epoll side by side')" "$N"
    in_group bash tests/bench/backends.sh --quick
    st=$?
    if [ $st != 0 ]; then
        fail "$(printf "$(gettext '%s backends (status %s)')" 06 "$st")"
        printf '%s✗ %s%s\n' "$R" "$(printf "$(gettext '%s exited with status %s')" tests/bench/backends.sh "$st")" "$N"
    fi
}

# 07: 100 OS threads against a 06 server in one thread, stopped with SIGINT.
show_hundred() {
    local srv=06_socket_server cli=07_load_client port pid st i lines
    if [ ! -x "$srv/$srv" ]; then
        printf '%s- %s%s\n' "$Y" "$(printf "$(gettext '%s is not built: the 100-thread run is skipped')" "$srv")" "$N"
        return
    fi
    printf '\n%s$ %s/%s --port 0 &%s\n' "$D" "$srv" "$srv" "$N"
    : >"$tmp/06.out"
    # English: its lines are counted below (LANGUAGE=en, whatever the class's)
    start env LANGUAGE=en bash -c 'cd "$1" && exec timeout --foreground "$2" "./$1" --port 0' _ "$srv" "$timeout_s" \
        </dev/null >"$tmp/06.out" 2>"$tmp/06.err"
    pid=$started
    if ! port=$(wait_port "$pid" "$tmp/06.out"); then
        fail "$srv"
        printf '%s✗ %s%s\n' "$R" "$(printf "$(gettext '%s did not say which port it listens on')" "$srv")" "$N"
        sed 's/^/  ! /' "$tmp/06.err"
        return
    fi
    head -n 1 "$tmp/06.out" | sed 's/^/  | /'
    local cargs=(--port "$port" --threads 100 --messages 3 --quiet)
    printf '%s$ %s/%s %s%s\n' "$D" "$cli" "$cli" "${cargs[*]}" "$N"
    in_group lesson_child "$cli" "$tmp/07-100.raw" "${cargs[@]}"
    st=$?
    [ $st = 0 ] || { fail "$(printf "$(gettext '%s 100 threads (status %s)')" "$cli" "$st")"
                     printf '%s✗ %s%s\n' "$R" "$(printf "$(gettext '%s exited with status %s')" "$cli" "$st")" "$N"; }

    printf '\n%s$ kill -INT %s   # %s%s\n' "$D" "$srv" "$(gettext 'Ctrl-C: the server stops and sums up')" "$N"
    kill -INT "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        fail "$(printf "$(gettext '%s (no exit on SIGINT)')" "$srv")"
        printf '%s✗ %s%s\n' "$R" "$(printf "$(gettext '%s did not stop within 5 s of SIGINT')" "$srv")" "$N"
    fi
    wait "$pid"
    st=$?
    forget "$pid"
    # Its recv lines were the point of the --demo run; here, the count.
    lines=$(grep -c "^recv: " "$tmp/06.out")
    printf '  | %s(%s)%s\n' "$D" "$(printf "$(gettext '%s recv lines from %s connections, one thread')" "$lines" \
        "$(grep -c ' opened$' "$tmp/06.out")")" "$N"
    grep -v -e '^recv: ' -e '^connection [0-9]* \(opened\|closed\)' -e ' opened$' "$tmp/06.out" |
        tail -n +2 | sed 's/^/  | /'
    [ -s "$tmp/06.err" ] && sed 's/^/  ! /' "$tmp/06.err"
    case $st in
        0|130) ;; # a clean exit on SIGINT, either way
        *) fail "$(printf "$(gettext '%s (status %s)')" "$srv" "$st")"
           printf '%s✗ %s%s\n' "$R" "$(printf "$(gettext '%s exited with status %s')" "$srv" "$st")" "$N" ;;
    esac
    if grep -q '^summary: 100 connections' "$tmp/06.out"; then
        printf '%s✓ %s%s\n' "$G" "$(gettext 'one thread served all 100 connections')" "$N"
    else
        fail "$(printf "$(gettext '%s (summary)')" "$srv")"
        printf '%s✗ %s%s\n' "$R" "$(gettext 'the server did not count 100 connections')" "$N"
    fi
}

# run_lesson NN [--trace]: the whole lesson, as the class sees it.
run_lesson() {
    local n=$1 name
    shift
    name=$(lesson_dir "$n")
    if [ -z "$name" ] || [ ! -x "$name/$name" ]; then
        skipped=$((skipped + 1))
        printf '%s- %s%s\n' "$Y" "$(printf "$(gettext 'lesson %s is not built yet: skipped')" "$n")" "$N"
        return
    fi
    run_main "$name" "$@"
    case $n in
        06) [ $# -eq 0 ] && show_backends ;; # not again with --trace
        07) [ $# -eq 0 ] && show_hundred ;;
    esac
}

# ---- the teacher's keys ----
flush_typeahead() { while read -rsn1 -t 0.05 _ </dev/tty; do :; done; }

# ask WHEN NN: the pause; sets $action to run, trace, next, back or quit.
# Its prompt fits an 80-column projector, in either language (display
# columns: a CJK character takes two): tests/integration/walkthrough_tty.sh.
ask() {
    local when=$1 n=$2 name key prompt
    name=$(lesson_dir "$n")
    # TRANSLATORS: the pause's prompt, one line of at most 76 columns (a
    # CJK character takes two) for the key typed after it on an 80-column
    # projector; [x] is the key, the word after it what it does
    if [ "$when" = before ]; then
        prompt=$(printf "$(gettext '[Enter] run lesson %s [t]race [p]ython [n]otice [b]ack [q]uit [?]keys > ')" "$n")
    else
        prompt=$(printf "$(gettext '[Enter] next [r]again [t]race [p]ython [n]otice [b]ack [q]uit [?]keys > ')")
    fi
    while :; do
        flush_typeahead
        printf '%s%s%s' "$D" "$prompt" "$N"
        IFS= read -rsn1 key </dev/tty || key=q
        echo "$key"
        case $key in
            '') [ "$when" = before ] && action=run || action=next; return ;;
            r|R) action=run; return ;;
            t|T) action=trace; return ;;
            b|B) action=back; return ;;
            q|Q) action=quit; return ;;
            p|P) show_python "$name" ;;
            n|N) show_notice "$name" ;;
            *) keys_help ;;
        esac
    done
}

# ---- the lessons, in order ----
todo=()
for n in 01 02 03 04 05 06 07; do
    if [ -n "$only" ]; then
        [ "$n" = "$only" ] || continue
    elif ((10#$n < 10#$from)); then
        continue
    fi
    todo+=("$n")
done

k=0
while [ $k -lt ${#todo[@]} ]; do
    n=${todo[k]}
    banner "$n"
    action=run
    [ $pause = 1 ] && ask before "$n"
    while [ "$action" = run ] || [ "$action" = trace ]; do
        if [ "$action" = trace ]; then run_lesson "$n" --trace; else run_lesson "$n"; fi
        action=next
        [ $pause = 1 ] && ask after "$n"
    done
    case $action in
        quit) printf "$(gettext 'stopped at lesson %s')" "$n"; echo; break ;;
        back) [ $k -gt 0 ] && k=$((k - 1)) ;;
        *) k=$((k + 1)) ;;
    esac
done

if [ -n "$pictures" ]; then
    echo
    shopt -s nullglob
    pics=("$pictures"/*.svg)
    if [ ${#pics[@]} -gt 0 ]; then
        printf "$(gettext "pictures of each lesson's switches: %s in %s/")" "${#pics[@]}" "$pictures"; echo
        printf "$(gettext 'open them in a browser, e.g. xdg-open %s')" "$pictures/${pics[0]##*/}"; echo
    else
        printf "$(gettext "pictures: none written to %s/ (this build's trace layer does
not know COROLAB_TRACE_FILE yet)")" "$pictures"; echo
    fi
fi

echo
summary=$(printf "$(gettext 'walkthrough: %s matched, %s failed, %s not checked, %s skipped')" \
    "$matched" "$failed" "$unchecked" "$skipped")
if [ $failed -gt 0 ]; then
    printf '%s%s%s (%s)\n' "$R" "$summary" "$N" "${failed_names[*]}"
    exit 1
fi
printf '%s%s%s\n' "$G" "$summary" "$N"
exit 0
