#!/bin/bash
# backends.sh - 06 on libevent's epoll, poll and select backends, while idle
# connections pile up beside a fixed load.
#
#   tests/bench/backends.sh                      idle 0, 1000, 5000; 2 s runs, best of 2
#   tests/bench/backends.sh --quick              idle 0 and 1000; 1 s runs, once (CI smoke)
#   tests/bench/backends.sh --idle-counts "0 2000"
#
# For each backend and idle count: 06 --quiet --port 0 --backend B, then
# 07 --coroutines 100 --size 64 --duration S --idle N (the idle connections
# connect first and never send), messages/s from 07's summary, 06 stopped
# with SIGINT; both run with --lang en, whatever the class's language, as
# their lines are parsed. Prints a table (rows: idle connections, columns:
# backends) and a bar chart scaled to the largest figure. select cannot
# watch a descriptor >= FD_SETSIZE (1024): 06 refuses those connections
# (glibc's fortified FD_SET would abort it), 07's active ones among them
# fail, and the cell says so instead of a figure.
# Everything is on 127.0.0.1; every server is killed on exit.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
secs=2 runs=2 counts="0 1000 5000" active=100
while [ $# -gt 0 ]; do
    case $1 in
    --quick) secs=1 runs=1 counts="0 1000" ;;
    --idle-counts) [ $# -ge 2 ] || { echo "backends: --idle-counts needs a list" >&2; exit 2; }
        counts=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) echo "backends: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
for n in $counts; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "backends: idle count '$n' is not a number" >&2; exit 2; }
done
backends="epoll poll select"
server06=$root/06_socket_server/06_socket_server
client07=$root/07_load_client/07_load_client
for b in "$server06" "$client07"; do
    [ -x "$b" ] || { echo "backends: $b is not built (run make)" >&2; exit 2; }
done
out=$(mktemp -d)
spid=
cleanup() {
    # run_once runs in $(...): its server's pid reaches us through a file
    [ -s "$out/spid" ] && kill -9 "$(cat "$out/spid")" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_once BACKEND IDLE: prints messages/s, or why there is none.
run_once() {
    local b=$1 n=$2 port='' st=0 rate
    "$server06" --lang en --quiet --port 0 --backend "$b" >"$out/s06.log" 2>&1 &
    spid=$!
    echo "$spid" >"$out/spid"
    # its first line ends in ":PORT"
    for _ in $(seq 100); do
        port=$(head -n 1 "$out/s06.log" 2>/dev/null | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p')
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { kill -9 "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; : >"$out/spid"
                        echo "no start"; return; }
    timeout 60 "$client07" --lang en --port "$port" --coroutines "$active" --size 64 \
        --duration "$secs" --idle "$n" --quiet >"$out/c07.out" 2>"$out/c07.err" || st=$?
    kill -INT "$spid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    : >"$out/spid"
    spid=
    rate=$(sed -n 's/^time: .*, \([0-9]*\) messages\/s$/\1/p' "$out/c07.out")
    if grep -q 'FD_SETSIZE' "$out/s06.log"; then
        echo "n/a (FD_SETSIZE)"
    elif [ "$st" = 0 ] && [ -n "$rate" ]; then
        echo "$rate"
    else
        echo "failed (07 status $st)"
    fi
}

isnum() { [[ $1 =~ ^[0-9]+$ ]]; }

declare -A res
echo "06 backends: $active active connections (64-byte messages) + N idle"
echo "($secs s runs, best of $runs, on $(nproc) cores)"
for n in $counts; do
    for b in $backends; do
        best=
        for _ in $(seq "$runs"); do
            r=$(run_once "$b" "$n")
            if isnum "$r"; then
                { isnum "${best:-x}" && [ "$best" -ge "$r" ]; } || best=$r
            elif ! isnum "${best:-x}"; then
                best=$r
            fi
            isnum "$r" || break # a failure repeats: do not wait for it twice
        done
        res[$b,$n]=$best
    done
done

echo
printf '%12s' "idle conns"
for b in $backends; do printf ' %18s' "$b"; done
echo
for n in $counts; do
    printf '%12s' "$n"
    for b in $backends; do printf ' %18s' "${res[$b,$n]}"; done
    echo
done
echo "(messages/s; the machine may be shared, so expect some noise)"

max=1
for k in "${!res[@]}"; do isnum "${res[$k]}" && [ "${res[$k]}" -gt "$max" ] && max=${res[$k]}; done
echo
echo "messages/s, bars scaled to the largest ($max):"
width=50
for b in $backends; do
    for n in $counts; do
        r=${res[$b,$n]}
        if isnum "$r"; then
            len=$(( r * width / max ))
            printf '  %-6s %6s idle |%s %s\n' "$b" "$n" "$(printf '%*s' "$len" '' | tr ' ' '#')" "$r"
        else
            printf '  %-6s %6s idle |%s\n' "$b" "$n" " $r"
        fi
    done
done
