#!/bin/bash
# walkthrough_zh.sh - issue 15: common/walkthrough.sh in Chinese through a
# pipe. `--lang zh --only 3` (and then 4) shows the Chinese banner and
# "watch" note, runs the lesson in Chinese, checks it against its
# expected.zh.txt and says so in Chinese, and exits 0; the same in English
# (--lang en) is unchanged; a bad --lang is status 2. Skipped (77) without
# the built catalogue (gettext's msgfmt: make deps) or lessons 03 and 04.
set -u
cd "$(dirname "$0")/../.." || exit 2
out=tests/out/walkthrough_zh
mkdir -p "$out"
. tests/integration/check.bash
[ -f common/po/locale/zh_CN/LC_MESSAGES/corolab.mo ] ||
    { echo "SKIP: no built catalogue (make deps, then make)"; exit 77; }
command -v gettext >/dev/null || { echo "SKIP: no gettext command"; exit 77; }
[ -x 03_gevent_sleep/03_gevent_sleep ] && [ -x 04_sync_vs_async/04_sync_vs_async ] ||
    { echo "SKIP: 03 and 04 not built"; exit 77; }

for n in 3 4; do
    timeout 120 common/walkthrough.sh --lang zh --only $n </dev/null 2>"$out/zh$n.err" |
        cat >"$out/zh$n.log"
    st=${PIPESTATUS[0]}
    cat "$out/zh$n.log"
    check "--lang zh --only $n through a pipe exits 0 (was $st)" "$([ $st = 0 ]; echo $?)"
    check "Chinese banner for lesson 0$n" "$(grep -q "^======== 第 0$n 课：" "$out/zh$n.log"; echo $?)"
    check "Chinese watch note" "$(grep -q '^注意：   ' "$out/zh$n.log"; echo $?)"
    check "checked against expected.zh.txt, in Chinese" \
        "$(grep -q "^✓ 0${n}_.* 与预期的输出一致" "$out/zh$n.log"; echo $?)"
    check "Chinese summary" "$(grep -q '^演示：1 个一致，0 个失败' "$out/zh$n.log"; echo $?)"
done
# 06 too: its summary and the 100-thread server's are the widest lines.
timeout 200 common/walkthrough.sh --lang zh --only 6 </dev/null >"$out/zh6.log" 2>&1
wide=$(perl -CSD -ne 's/\e\[[0-9;]*m//g; chomp; my $n = 0;
    $n += /\p{Ea=W}|\p{Ea=F}/ ? 2 : 1 for split //; print "$n: $_\n" if $n > 80' "$out"/zh*.log)
check "every line fits 80 columns in Chinese (CJK counts two)${wide:+: $wide}" "$([ -z "$wide" ]; echo $?)"
# backends.sh found 06's port in its Chinese first line, measured, and
# stopped the server (it once waited 5 s, printed "no start" and left it)
check "06's backends measured in Chinese: epoll with no idle connections" \
    "$(grep -qE '^ +epoll +0 idle \|#* [0-9]+$' "$out/zh6.log"; echo $?)"
check "lesson 03 ran in Chinese" "$(grep -q '^joinall：两个都完成' "$out/zh3.log"; echo $?)"
check "04 keeps the course's English Task lines" "$(grep -q '^Task 3 done$' "$out/zh4.log"; echo $?)"

timeout 60 common/walkthrough.sh --lang en --only 3 </dev/null >"$out/en.log" 2>&1
st=$?
check "--lang en --only 3: English banner, English run, exit 0 (was $st)" \
    "$([ $st = 0 ] && grep -q '^======== Lesson 03: gevent' "$out/en.log" &&
      grep -q '^joinall: both done' "$out/en.log" && ! grep -q '第' "$out/en.log"; echo $?)"
timeout 10 common/walkthrough.sh --lang fr --only 3 </dev/null >"$out/bad.log" 2>&1
st=$?
check "--lang fr: status 2 (was $st)" "$([ $st = 2 ] && grep -q "zh or en" "$out/bad.log"; echo $?)"

[ $fail = 0 ] && echo "walkthrough_zh: all passed"
exit $fail
