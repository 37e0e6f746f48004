# echo_common.bash - what the echo_*.sh tests share (sourced, not a test).
# Every server here listens on 127.0.0.1 port 0 and is killed on exit.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
S06=$root/06_socket_server/06_socket_server
C07=$root/07_load_client/07_load_client
PEER="perl $here/echo_peer.pl"
out=$root/tests/out/$(basename "$0" .sh)
rm -rf "$out"
mkdir -p "$out"
for b in "$S06" "$C07"; do
    [ -x "$b" ] || { echo "SKIP: $b is not built"; exit 77; }
done
command -v perl >/dev/null || { echo "SKIP: perl is needed for the peers"; exit 77; }

bg_pids=()
cleanup() {
    for p in "${bg_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

# first_port FILE: the port at the end of FILE's first line, once it is there.
first_port() {
    local p
    for _ in $(seq 200); do
        p=$(head -n 1 "$1" 2>/dev/null | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p')
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.05
    done
    return 1
}

# start_06 NAME ARGS...: 06 on a free port; sets $port and $spid; output in
# $out/NAME.out (stdout) and $out/NAME.err.
start_06() {
    local name=$1; shift
    "$S06" --port 0 "$@" >"$out/$name.out" 2>"$out/$name.err" &
    spid=$!
    sout=$out/$name.out
    bg_pids+=("$spid")
    port=$(first_port "$sout") || fail "06 $* did not start: $(cat "$out/$name.err")"
}

# stop_06 [SIGNAL]: stop it, expect exit 0 and a summary line.
stop_06() {
    kill -"${1:-TERM}" "$spid"
    local st=0
    wait "$spid" || st=$?
    [ "$st" = 0 ] || fail "06 exited with status $st after SIG${1:-TERM}"
    tail -n 1 "$sout" | grep -q '^summary: ' ||
        fail "06 printed no summary"
}

# wait_for FILE REGEX: until a line matches (5 s at most).
wait_for() {
    for _ in $(seq 100); do
        grep -Eq "$2" "$1" && return 0
        sleep 0.05
    done
    fail "no line matching '$2' in $1"
}

# fresh_client: a new client still gets every echo.
fresh_client() {
    timeout 30 "$C07" --port "$port" --threads 1 --messages 3 --quiet >"$out/fresh.out" 2>&1 ||
        fail "a fresh client was not served after $1: $(cat "$out/fresh.out")"
    pass "still serving after $1"
}

normalize() { LC_ALL=C sed -E -f "$root/tests/normalize.sed" "$@"; }
