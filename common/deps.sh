#!/bin/sh
# deps.sh - install the Debian packages corolab needs, when they are missing.
# Run by `make deps` (all) and `make deps-build` (build); `make walkthrough`
# and `make check` run those first. Never run while make reads its files.
#
#   common/deps.sh build   pkg-config, libevent-dev, check: the build needs
#                          them; exit 1 if they cannot be installed
#   common/deps.sh all     those, then what some tests use: tmux (the
#                          walkthrough under a terminal), libboost-context-dev
#                          (a benchmark baseline), gettext, and chromium
#                          (screenshots of the trace pictures). These are
#                          tried, never required: a test without its tool
#                          is skipped, and this says so.
#
# Quiet when everything is there. Installs with apt-get (through sudo when
# not root). An optional package that could not be installed is noted in
# common/.deps-unavailable and not tried again by `make check` until that
# file is removed (`make deps` retries: DEPS_RETRY=1).
#   DEPS_DRY_RUN=1   say what would be installed, install nothing
set -u
what=${1:-all}
case $what in build|all) ;; *) echo "usage: common/deps.sh build|all" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
memo=$here/.deps-unavailable
pc=${PKG_CONFIG:-pkg-config}

say() { echo "corolab deps: $*" >&2; }

# installed PACKAGE: is this Debian package installed (for some architecture)?
installed() {
    command -v dpkg-query >/dev/null 2>&1 &&
        dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qx "install ok installed"
}

# The build's libraries count as there when pkg-config finds them (on any
# system); the tools, when their command or Debian package is there.
build_missing() {
    command -v "$pc" >/dev/null 2>&1 && "$pc" --exists libevent check 2>/dev/null && return
    for p in pkg-config libevent-dev check; do installed "$p" || printf '%s ' "$p"; done
}
tool_there() { # PACKAGE
    case $1 in
        tmux) command -v tmux >/dev/null 2>&1 ;;
        gettext) command -v msgfmt >/dev/null 2>&1 ;;
        chromium) command -v chromium >/dev/null 2>&1 || installed chromium ;;
        *) installed "$1" ;;
    esac
}
optional_missing() {
    for p in tmux libboost-context-dev gettext chromium; do
        tool_there "$p" && continue
        if [ -z "${DEPS_RETRY:-}" ] && [ -f "$memo" ] && grep -qx "$p" "$memo"; then
            say "$p: not installed (it could not be, earlier; tests that need it are skipped;" \
                "make deps DEPS_RETRY=1 tries again)"
            continue
        fi
        printf '%s ' "$p"
    done
}

if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
updated=0
# apt_install PACKAGE...: status 0 if they are all installed afterwards.
apt_install() {
    if [ -n "${DEPS_DRY_RUN:-}" ]; then
        say "would run: ${sudo:+sudo }apt-get install $*"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "no apt-get here: install $* with your package manager"
        return 1
    fi
    if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
        say "not root and no sudo: as root, run apt-get install $*"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ $updated = 0 ]; then
        $sudo apt-get update -qq >&2 || say "apt-get update reported errors; trying anyway"
        updated=1
    fi
    $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

need=$(build_missing)
if [ -n "$need" ]; then
    say "installing the build's packages: $need"
    # shellcheck disable=SC2086
    if apt_install $need; then
        [ -n "${DEPS_DRY_RUN:-}" ] || say "installed: $need"
    else
        say "could not install $need; the build needs them (libevent >= 2.1, check)"
        exit 1
    fi
fi
[ "$what" = all ] || exit 0

want=$(optional_missing)
[ -n "$want" ] || exit 0
say "installing what some tests use: $want"
for p in $want; do
    # One at a time: chromium may not exist in this archive (Ubuntu ships a
    # snap), and the others must not fail with it.
    if apt_install "$p" && { [ -n "${DEPS_DRY_RUN:-}" ] || tool_there "$p"; }; then
        [ -n "${DEPS_DRY_RUN:-}" ] || say "installed: $p"
    else
        say "could not install $p: the tests that need it will be skipped"
        [ -n "${DEPS_DRY_RUN:-}" ] || { grep -qx "$p" "$memo" 2>/dev/null || echo "$p" >>"$memo"; }
    fi
done
exit 0
