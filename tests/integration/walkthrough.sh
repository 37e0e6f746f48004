#!/bin/bash
# walkthrough.sh - common/walkthrough.sh without a terminal (stdin
# /dev/null, stdout a file, as in CI): it runs straight through, exits 0,
# shows each lesson's banner, and reports a transcript match for every
# built lesson that has an expected.txt. Then the edges: --only runs one
# lesson, bad arguments exit 2, and a lesson that fails its check (here: cut
# short by a tiny WALKTHROUGH_TIMEOUT) is reported with its diff and makes
# the exit status 1. Also: 06's recv lines are shown, and its ✓ is for that
# run; its backends table is shown; through a pipe a lesson's stderr (its
# trace) still reaches stderr; --pictures says where the pictures are. No
# timing is asserted.
set -u
cd "$(dirname "$0")/../.." || exit 2
out=tests/out/walkthrough
mkdir -p "$out"
. tests/integration/check.bash
built() { [ -x "$1/$1" ]; }

ran=0
for d in [0-9][0-9]_*/; do built "${d%/}" && ran=1; done
[ $ran = 1 ] || { echo "no lesson built: run make first"; exit 77; }

timeout 500 common/walkthrough.sh </dev/null >"$out/all.log" 2>"$out/all.err"
st=$?
cat "$out/all.log" "$out/all.err"
check "runs straight through and exits 0 (was $st)" "$([ $st = 0 ]; echo $?)"
# Every line fits an 80-column projector (display columns: CJK counts two).
wide=$(perl -CSD -ne 's/\e\[[0-9;]*m//g; chomp; my $n = 0;
    $n += /\p{Ea=W}|\p{Ea=F}/ ? 2 : 1 for split //; print "$n: $_\n" if $n > 80' "$out/all.log")
check "every line fits 80 columns${wide:+: $wide}" "$([ -z "$wide" ]; echo $?)"
check "no pause prompt without a terminal" "$(! grep -q '\[Enter\]' "$out/all.log"; echo $?)"
for d in [0-9][0-9]_*/; do
    name=${d%/}
    n=${name%%_*}
    check "banner for lesson $n" "$(grep -q "^======== Lesson $n: " "$out/all.log"; echo $?)"
    if ! built "$name"; then
        check "$name not built: noted as skipped" "$(grep -q "not .*built yet: skipped" "$out/all.log"; echo $?)"
        continue
    fi
    # 06 and 07 only run together: both must be built.
    case $n in 06|07) built 06_socket_server && built 07_load_client || continue ;; esac
    if [ -f "$name/expected.txt" ]; then
        check "$name: matches the expected transcript" \
            "$(grep -q "$name matches the expected transcript" "$out/all.log"; echo $?)"
    else
        check "$name: said to have no expected.txt yet" \
            "$(grep -q "$name has no expected.txt yet" "$out/all.log"; echo $?)"
    fi
done
if built 06_socket_server && built 07_load_client; then
    check "06+07: the server was started on a free port and stopped with SIGINT" \
        "$(grep -q '^\$ 06_socket_server/06_socket_server --port 0 &' "$out/all.log" &&
          grep -q '^\$ 07_load_client/07_load_client --port [0-9]' "$out/all.log" &&
          grep -q '^\$ kill -INT 06_socket_server' "$out/all.log" &&
          ! grep -qE 'did not (stop|say)|exited with status' "$out/all.log"; echo $?)"
fi
if built 06_socket_server; then
    check "06's point on screen: its recv lines beside its demo client's, then its ✓" \
        "$(grep -qxF "recv: b'hello 0'" "$out/all.log" &&
          grep -qxF "[demo] recv from server: hello 0" "$out/all.log" &&
          awk "/^recv: b'hello 2'/ {r = 1} r && /06_socket_server matches the expected transcript \\(the run above\\)/ {ok = 1}
               END {exit !ok}" "$out/all.log"; echo $?)"
    check "06's backends side by side: epoll, poll, select" \
        "$(grep -qE '^ +idle conns +epoll +poll +select' "$out/all.log"; echo $?)"
fi
check "no pause prompt and no keys without a terminal" "$(! grep -q '\[Enter\]\|\[q\]uit' "$out/all.log"; echo $?)"
check "ends with its summary, nothing failed" \
    "$(tail -n 1 "$out/all.log" | grep -qE '^walkthrough: [0-9]+ matched, 0 failed'; echo $?)"

if built 02_greenlet_switch && [ -f 02_greenlet_switch/expected.txt ]; then
    timeout 60 common/walkthrough.sh --only 2 </dev/null >"$out/only2.log" 2>&1
    check "--only 2: exit 0" $?
    check "--only 2: lesson 02 alone" \
        "$([ "$(grep -c '^======== Lesson' "$out/only2.log")" = 1 ] &&
          grep -q '^======== Lesson 02' "$out/only2.log"; echo $?)"
fi

# Through a pipe, a lesson's stderr (here its trace) is not thrown away.
if built 03_gevent_sleep; then
    COROLAB_TRACE=1 timeout 60 common/walkthrough.sh --only 3 </dev/null 2>"$out/trace.err" |
        cat >"$out/trace.log"
    check "through a pipe, COROLAB_TRACE=1: the trace reaches stderr" \
        "$(grep -q 'spawn func1' "$out/trace.err" && ! grep -q 'spawn func1' "$out/trace.log" &&
          grep -q '^func1: started' "$out/trace.log"; echo $?)"
    timeout 60 common/walkthrough.sh --only 3 --pictures "$out/pics" </dev/null >"$out/pics.log" 2>&1
    check "--pictures DIR: made, and the end says where the pictures are" \
        "$([ -d "$out/pics" ] && grep -qE "^pictures(:| of each).*$out/pics" "$out/pics.log"; echo $?)"
    rm -rf "$out/pics"
fi

for bad in "--only 9" "--from" "--frobnicate" "--only x" "--pictures"; do
    # shellcheck disable=SC2086
    timeout 10 common/walkthrough.sh $bad </dev/null >"$out/bad.log" 2>&1
    check "'$bad': exit status 2" "$([ $? = 2 ]; echo $?)"
done

if built 03_gevent_sleep && [ -f 03_gevent_sleep/expected.txt ]; then
    WALKTHROUGH_TIMEOUT=0.01 timeout 60 common/walkthrough.sh --only 3 \
        </dev/null >"$out/fail.log" 2>&1
    st=$?
    cat "$out/fail.log"
    check "a failed check: exit status 1 (was $st)" "$([ $st = 1 ]; echo $?)"
    check "a failed check: said, with the reason" \
        "$(grep -q "03_gevent_sleep does not match the expected transcript" "$out/fail.log" &&
          grep -q "timed out" "$out/fail.log"; echo $?)"
fi

[ $fail -eq 0 ] && echo "walkthrough: all passed"
exit $fail
