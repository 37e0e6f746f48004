#!/bin/bash
# build.sh - the build's own promises (issue 10), without root or network:
#   - make never installs anything while it reads its files: with the
#     libraries "missing" (PKG_CONFIG=false) and apt-get/sudo/dpkg-query
#     replaced by recorders, `make -n clean` calls none of them;
#   - plain make then stops with "run 'make deps'", and so does a lesson's
#     own Makefile;
#   - `make deps` (common/deps.sh) installs the build's packages with
#     apt-get, and, with everything there, is quiet and installs nothing;
#   - header dependencies are exact (-MMD): a changed clock.h rebuilds the
#     objects that include it and not switch.o (make -n -W, nothing built);
#   - -fstack-clash-protection is in the flags when the compiler has it.
set -u
# Its own makes: no jobserver or directory lines from `make check` above.
unset MAKEFLAGS MFLAGS MAKELEVEL
cd "$(dirname "$0")/../.." || exit 2
[ -f common/.build-flags ] || { echo "not built: run make first"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/corolab-build.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
. tests/integration/check.bash

# Recorders: each call is written to $tmp/calls; dpkg-query says "not
# installed" to everything; apt-get and sudo succeed.
mkdir -p "$tmp/bin"
for c in apt-get sudo; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$c" "$tmp" >"$tmp/bin/$c"
done
printf '#!/bin/sh\necho "dpkg-query $*" >>"%s/calls"\nexit 1\n' "$tmp" >"$tmp/bin/dpkg-query"
chmod +x "$tmp/bin"/*
fake() { env PATH="$tmp/bin:$PATH" PKG_CONFIG=false "$@"; }

fake make -n clean >"$tmp/clean.out" 2>&1
check "make -n clean with the libraries missing: status 0" $?
check "... and nothing installed or even asked while make reads its files" \
    "$([ ! -s "$tmp/calls" ]; echo $?)"

fake make -n lessons >"$tmp/make.out" 2>&1
st=$?
check "make with the libraries missing: fails (status $st)" "$([ $st != 0 ]; echo $?)"
check "... saying to run make deps" "$(grep -q "run 'make deps'" "$tmp/make.out"; echo $?)"
check "... and installing nothing" "$(! grep -q '^apt-get' "$tmp/calls" 2>/dev/null; echo $?)"
fake make -n -C 03_gevent_sleep >"$tmp/lesson.out" 2>&1
check "a lesson's own make says it too" \
    "$(grep -q "run 'make deps'" "$tmp/lesson.out"; echo $?)"

rm -f "$tmp/calls"
fake make -s deps-build >"$tmp/deps.out" 2>&1
check "make deps-build with them missing: status 0 once apt-get has run ($?)" $?
check "... apt-get install pkg-config libevent-dev check" \
    "$(grep -Eq '^apt-get install .*pkg-config libevent-dev check' "$tmp/calls"; echo $?)"
check "... and says so" "$(grep -q 'installing the build' "$tmp/deps.out"; echo $?)"

make -s --no-print-directory deps-build >"$tmp/quiet.out" 2>&1
check "make deps-build with everything there: status 0 and quiet" \
    "$([ $? = 0 ] && [ ! -s "$tmp/quiet.out" ]; echo $?)"

# What would a changed clock.h rebuild? (-n: nothing is.)
make -n -W "$PWD/common/clock.h" -C common lib >"$tmp/w.out" 2>&1
check "a changed clock.h rebuilds clock.o and hub.o" \
    "$(grep -q -- '-o [^ ]*clock.o' "$tmp/w.out" && grep -q -- '-o [^ ]*hub.o' "$tmp/w.out"; echo $?)"
check "... and not switch.o, which does not include it" \
    "$(! grep -q -- '-o [^ ]*switch.o' "$tmp/w.out"; echo $?)"
check "objects list their headers (common/hub.d names hub.h)" \
    "$(grep -q 'hub\.h' common/hub.d 2>/dev/null; echo $?)"

cc=$(cut -d' ' -f1 common/.build-flags)
if "$cc" -fstack-clash-protection -Werror -x c -c -o /dev/null /dev/null 2>/dev/null; then
    check "-fstack-clash-protection is in the flags ($cc has it)" \
        "$(grep -q -- '-fstack-clash-protection' common/.build-flags; echo $?)"
fi

[ $fail -eq 0 ] && echo "build: all passed"
exit $fail
