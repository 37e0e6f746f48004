#!/bin/bash
# mkman.sh - a man page, in troff, from a program's --help and --version.
#   common/mkman.sh PROGRAM COMMAND VERSION >COMMAND.1
# PROGRAM is the built binary, COMMAND the name it is installed under: it
# is run as COMMAND (argv[0]), and its own name in the text becomes COMMAND.
# The --help layout it reads is cli.c's: "Usage: ..." then a one-line
# summary, then "Options:" lines "  -x, --long ARG   text" (continuations
# indented further), then free paragraphs. `make install` runs it;
# tests/integration/install.sh checks every option reaches the page.
set -u -o pipefail
[ $# -eq 3 ] || { echo "usage: common/mkman.sh PROGRAM COMMAND VERSION" >&2; exit 2; }
prog=$1 cmd=$2 version=$3
base=$(basename "$prog")
help=$(bash -c 'exec -a "$0" "$1" --help' "$cmd" "$prog") ||
    { echo "mkman.sh: $prog --help failed" >&2; exit 1; }
# Its own name, wherever --help still says it, is the installed command.
help=$(printf '%s\n' "$help" | sed -E "s/(^|[^-[:alnum:]_])$base([^[:alnum:]_]|\$)/\\1$cmd\\2/g")

esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/-/\\-/g'; }
summary=$(printf '%s\n' "$help" | sed -n 2p)
synopsis=$(printf '%s\n' "$help" | sed -n 's/^Usage: [^ ]* *//p' | head -n 1)

printf '.TH %s 1 "corolab %s" "corolab %s" "corolab lessons"\n' "$(echo "$cmd" | tr a-z A-Z)" "$version" "$version"
printf '.SH NAME\n%s \\- %s\n' "$(printf '%s' "$cmd" | esc)" "$(printf '%s' "$summary" | esc)"
printf '.SH SYNOPSIS\n.B %s\n%s\n' "$(printf '%s' "$cmd" | esc)" "$(printf '%s' "$synopsis" | esc)"
printf '.SH DESCRIPTION\n%s\n' "$(printf '%s' "$summary" | esc)"
# Options: each "  -x, --long ARG   text" line starts a .TP entry. The
# text is escaped first; the requests are added after.
printf '%s\n' "$help" | tail -n +3 | esc | awk '
    /^Options:/ { inopt = 1; print ".SH OPTIONS"; next }
    inopt && /^$/ { inopt = 0; rest = 1; print ".SH NOTES"; next }
    inopt && /^  +\\-/ {
        line = $0; sub(/^ +/, "", line)
        n = match(line, /   +/)
        if (n) { tag = substr(line, 1, n - 1); text = substr(line, n); sub(/^ +/, "", text) }
        else { tag = line; text = "" }
        print ".TP"; print ".B " tag; if (text != "") print text; next
    }
    inopt { t = $0; sub(/^ +/, "", t); print t; next }
    rest { if ($0 == "") print ".PP"; else print }
'
version_line=$(bash -c 'exec -a "$0" "$1" --version' "$cmd" "$prog" | head -n 1 |
    sed -E "s/(^|[^-[:alnum:]_])$base([^[:alnum:]_]|\$)/\\1$cmd\\2/g")
printf '.SH VERSION\n%s\n' "$(printf '%s' "$version_line" | esc)"
printf '.SH SEE ALSO\nThe lesson'"'"'s README: /usr/share/doc/corolab or the corolab source tree.\n'
