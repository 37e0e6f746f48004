#!/bin/bash
# install.sh - `make install` into a DESTDIR, as a student who writes a
# program of their own would use it, then `make uninstall`:
#   - every lesson command, its man page, and the docs are installed;
#   - each man page has every option the command's --help lists;
#   - an installed command's "Try '... --help'" names the installed command;
#   - a tiny program builds with `pkg-config --cflags --libs corolab` (and
#     the monkey object from `pkg-config --variable=monkey corolab`), runs,
#     and its two greenlets' sleeps overlap as in lesson 03;
#   - `make uninstall` removes every file it installed.
# The nested make inherits make check's variables (SAN=1 ...) through
# MAKEFLAGS, so it installs the tree as built.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$PWD
command -v pkg-config >/dev/null 2>&1 || { echo "no pkg-config: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corolab-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest prefix=/opt/corolab-test
. tests/integration/check.bash

make -s --no-print-directory install DESTDIR="$dest" PREFIX="$prefix" >"$tmp/install.log" 2>&1
st=$?
check "make install DESTDIR=... PREFIX=$prefix (status $st)" $st
[ $st = 0 ] || { tail -n 30 "$tmp/install.log"; exit 1; }
p=$dest$prefix

for d in [0-9][0-9]_*/; do
    name=${d%/}
    cmd=corolab-$name
    check "$cmd installed" "$([ -x "$p/bin/$cmd" ]; echo $?)"
    check "$name's README and transcript under share/doc/corolab" \
        "$([ -f "$p/share/doc/corolab/$name/README.md" ] &&
          [ -f "$p/share/doc/corolab/$name/expected.txt" ]; echo $?)"
    man=$p/share/man/man1/$cmd.1
    missing=""
    for opt in $("$p/bin/$cmd" --help | grep -oE -- '--[a-z][-a-z]*' | sort -u); do
        grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" "$man" 2>/dev/null || missing+=" $opt"
    done
    check "$cmd.1 exists and has every option of --help${missing:+ (missing:$missing)}" \
        "$([ -s "$man" ] && [ -z "$missing" ] && grep -q "^corolab\\\\-$name \\\\- " "$man"; echo $?)"
    "$p/bin/$cmd" --no-such-option >/dev/null 2>"$tmp/usage.err"
    check "$cmd: a bad option names the installed command in its Try line" \
        "$(grep -qF "Try '$cmd --help'" "$tmp/usage.err"; echo $?)"
done
check "libcorolab.a, the monkey object, the headers and corolab.pc installed" \
    "$([ -f "$p/lib/libcorolab.a" ] && [ -f "$p/lib/corolab-monkey.o" ] &&
      [ -f "$p/include/corolab/hub.h" ] && [ -f "$p/include/corolab/monkey.h" ] &&
      [ -f "$p/lib/pkgconfig/corolab.pc" ]; echo $?)"
if command -v msgfmt >/dev/null; then # issue 15: the Chinese catalogue
    check "zh_CN/LC_MESSAGES/corolab.mo installed under share/locale" \
        "$([ -s "$p/share/locale/zh_CN/LC_MESSAGES/corolab.mo" ]; echo $?)"
fi

# A program of one's own, lesson 03's shape, monkey-patched.
cat >"$tmp/mine.c" <<'EOC'
#include <stdio.h>
#include <hub.h>
#include <monkey.h>
#include <clock.h>

static void *nap(void *arg)
{
    double s = *(double *)arg;
    hub_sleep(s);
    printf("napped %.1f s\n", s);
    return NULL;
}

int main(void)
{
    monkey_patch_all();
    double a = 0.4, b = 0.2, t0 = cl_now();
    hub_task *t[2] = {hub_spawn(nap, &a), hub_spawn(nap, &b)};
    if (hub_joinall(t, 2, -1) != 0)
        return 1;
    printf("both in %s\n", cl_now() - t0 < 0.55 ? "one nap" : "two naps");
    return 0;
}
EOC
export PKG_CONFIG_PATH=$p/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs corolab)
check "pkg-config --cflags --libs corolab: $flags" $?
monkey=$(pkg-config --variable=monkey corolab)
[ -f "$monkey" ] || monkey=$dest$monkey # pkg-config adds the sysroot, pkgconf not
# A tree built with SAN=1 installs an instrumented library: link likewise.
san=$(grep -o -- '-fsanitize=[^ ]*' common/.build-flags 2>/dev/null | head -n 1)
# shellcheck disable=SC2086
${CC:-cc} -o "$tmp/mine" "$tmp/mine.c" $san "$monkey" $flags 2>"$tmp/cc.err"
st=$?
check "a program of one's own builds against the installed corolab" $st
[ $st = 0 ] || cat "$tmp/cc.err"
out=$("$tmp/mine" 2>&1)
check "and runs: two naps overlap ($(echo "$out" | tr '\n' ' '))" \
    "$([ "$out" = $'napped 0.2 s\nnapped 0.4 s\nboth in one nap' ]; echo $?)"

make -s --no-print-directory uninstall DESTDIR="$dest" PREFIX="$prefix" >"$tmp/uninstall.log" 2>&1
check "make uninstall (status $?)" $?
left=$(cd "$dest" && find . -type f | head -n 20)
check "make uninstall leaves no file behind${left:+: $left}" "$([ -z "$left" ]; echo $?)"

[ $fail -eq 0 ] && echo "install: all passed"
exit $fail
