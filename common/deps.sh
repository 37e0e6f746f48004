#!/bin/sh
# deps.sh - make sure the build's Debian packages are there: pkg-config,
# libevent-dev and check. Quiet when they are; installs them (with sudo
# when not root) and says so when they are not.
set -u
pc=${PKG_CONFIG:-pkg-config}
if command -v "$pc" >/dev/null 2>&1 && "$pc" --exists libevent check 2>/dev/null; then
    exit 0
fi
pkgs="pkg-config libevent-dev check"
echo "corolab: installing missing build dependencies: $pkgs" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "corolab: no apt-get here; install libevent (>= 2.1) and check with your package manager" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 &&
$sudo apt-get install -y -qq $pkgs >&2 || {
    echo "corolab: could not install $pkgs" >&2
    exit 1
}
echo "corolab: build dependencies installed" >&2
