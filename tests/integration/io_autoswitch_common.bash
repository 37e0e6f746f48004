# io_autoswitch_common.bash - what the io_autoswitch_*.sh tests share
# (sourced, not a test): lesson 05's binary, an output folder, check, and
# small servers on 127.0.0.1 that are killed on exit.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
bin=05_io_autoswitch/05_io_autoswitch
[ -x "$bin" ] || { echo "no $bin: build it first"; exit 77; }
command -v perl >/dev/null || { echo "SKIP: perl is needed for the servers"; exit 77; }
out=tests/out/$(basename "$0" .sh)
mkdir -p "$out"
. tests/integration/check.bash
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT

# serve NAME COMMAND...: start a server that prints its address first; sets
# $port once it is there.
serve() {
    local name=$1
    shift
    "$@" >"$out/peer-$name" 2>&1 &
    pids+=($!)
    port=
    for _ in $(seq 50); do
        port=$(head -n 1 "$out/peer-$name" 2>/dev/null | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p')
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "FAILED: $* did not start"
    exit 1
}
