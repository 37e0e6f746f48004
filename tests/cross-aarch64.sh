#!/bin/bash
# cross-aarch64.sh - build the core (switch, stack, greenlet, generator)
# and its unit tests for aarch64 with the cross compiler, and run them
# under qemu-user. The same test sources as on x86-64, linked statically.
#
# Needs: gcc-aarch64-linux-gnu, qemu-user and Check for arm64:
#   dpkg --add-architecture arm64 && apt-get update && apt-get install check:arm64
# Exit 0 when all pass, 1 on any failure, 77 when a prerequisite is missing.
#   CROSS=aarch64-linux-gnu-   QEMU=qemu-aarch64   SWITCHES="asm ucontext"
set -u
cd "$(dirname "$0")/.." || exit 2
CROSS=${CROSS:-aarch64-linux-gnu-}
QEMU=${QEMU:-qemu-aarch64}
SWITCHES=${SWITCHES:-asm ucontext}
TESTS="switch stack greenlet generator"
out=tests/out/aarch64
cc=${CROSS}gcc

missing() {
    echo "cross-aarch64: $1" >&2
    echo "cross-aarch64: skipped" >&2
    exit 77
}
command -v "$cc" >/dev/null || missing "no $cc (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
command -v "$QEMU" >/dev/null || missing "no $QEMU (apt-get install qemu-user)"
libcheck=$("$cc" -print-file-name=libcheck.a)
[ -f "$libcheck" ] ||
    missing "no arm64 libcheck.a (dpkg --add-architecture arm64 && apt-get update && apt-get install check:arm64)"

CFLAGS="-std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DCL_NO_VALGRIND -Icommon -Itests/unit"
LIBS="-lcheck -lsubunit -lm -lrt -lpthread"
pass=0 fail=0 failed=()

for sw in $SWITCHES; do
    dir=$out/$sw
    rm -rf "$dir"
    mkdir -p "$dir"
    case $sw in
        asm) swflags="" swsrc=common/switch_aarch64.S ;;
        ucontext) swflags=-DCL_SWITCH_UCONTEXT swsrc="" ;;
        *) echo "cross-aarch64: unknown switch $sw" >&2; exit 2 ;;
    esac
    echo "== aarch64, SWITCH=$sw: building"
    objs=()
    for src in common/switch.c common/stack.c common/slab.c common/greenlet.c common/generator.c $swsrc; do
        obj=$dir/$(basename "${src%.*}").o
        if ! $cc $CFLAGS $swflags -c -o "$obj" "$src"; then
            fail=$((fail + 1)); failed+=("build:$sw:$src"); continue 2
        fi
        objs+=("$obj")
    done
    for t in $TESTS; do
        name=test_$t
        if ! $cc $CFLAGS $swflags -static -o "$dir/$name" "tests/unit/$name.c" \
            "${objs[@]}" $LIBS; then
            fail=$((fail + 1)); failed+=("$sw:$name (build)"); continue
        fi
        timeout 600 "$QEMU" "$dir/$name" >"$dir/$name.log" 2>&1
        st=$?
        grep -E '^[0-9]+%: Checks' "$dir/$name.log" | sed "s/^/  $sw $name: /"
        if [ $st -eq 0 ]; then
            pass=$((pass + 1)); echo "PASS: aarch64 $sw $name"
        else
            tail -n 20 "$dir/$name.log" | sed 's/^/    /'
            fail=$((fail + 1)); failed+=("$sw:$name"); echo "FAIL: aarch64 $sw $name (status $st)"
        fi
    done
done

[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "aarch64: $pass passed, $fail failed"
[ $fail -eq 0 ]
