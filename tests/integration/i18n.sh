#!/bin/bash
# i18n.sh - issue 15: every user-facing string is marked for translation,
# and common/po/zh_CN.po translates every one of them.
#  1. a heuristic lint: in the checked sources, a string literal holding
#     two English words (format conversions aside) must be inside _() or
#     N_(), unless tests/integration/i18n.allow lists it (the course's own
#     English lines: 01's baozi, 04's "Task N done", ...); comments and
#     #include lines are skipped. The lint is first shown to fail on an
#     unmarked printf.
#  2. the template made now from the sources (xgettext), merged into
#     zh_CN.po, has no untranslated and no fuzzy entry, and msgfmt --check
#     takes it: a new string not yet translated fails here.
# Skipped (77) without gettext's tools (make deps installs them).
set -u
cd "$(dirname "$0")/../.." || exit 2
for t in xgettext msgmerge msgattrib msgfmt perl; do
    command -v $t >/dev/null || { echo "SKIP: $t missing (make deps)"; exit 77; }
done
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0

# The sources whose strings are all marked: the lessons, cli.c and the
# core's error strings (hub.c, sync.c, pool.c, trace.c and trace_file.c
# are not yet: the trace's reasons are still English; add them here as
# they are).
sources=(0[1-7]_*/*.c common/cli.c common/cosock.c common/urlopen.c common/http.c common/greenlet.c common/generator.c common/stack.c common/monkey_core.c common/resolve.c)
allow=tests/integration/i18n.allow

# lint FILE...: print "file:line: literal" for each unmarked one.
lint() {
    perl -e '
        my @allow;
        open(my $a, "<", shift @ARGV) or die;
        while (<$a>) { chomp; next if /^\s*(#|$)/; push @allow, $_ }
        for my $f (@ARGV) {
            local $/; open(my $h, "<", $f) or die "$f: $!"; my $src = <$h>;
            $src =~ s/^\s*#\s*include[^\n]*//mg;
            my ($end, $wrapped) = (0, 0);
            while ($src =~ m{(/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|\x27(?:[^\x27\\\n]|\\.)\x27)}gs) {
                my ($tok, $from) = ($1, $-[0]);
                my $between = substr($src, $end, $from - $end);
                $end = $+[0];
                next if $tok =~ m{^/};
                next if $tok =~ /^\x27/;
                # a literal continuing a wrapped one, or just after _( or N_(
                $wrapped = ($wrapped && $between =~ /^\s*$/) ||
                           $between =~ /(?:\bN_|(?<![\w])_)\s*\(\s*$/ ? 1 : 0;
                next if $wrapped;
                my $text = substr($tok, 1, -1);
                (my $words = $text) =~ s/%[-+ #0-9.*\$lhzjt]*[a-zA-Z]|\\.|--?[A-Za-z][\w-]*/ /g; # options aside
                next unless $words =~ /[A-Za-z]{2,}[,:;.!?)]?\s+[(]?[A-Za-z]{2,}/;
                next if grep { $text eq $_ } @allow;
                my $line = 1 + (() = substr($src, 0, $from) =~ /\n/g);
                print "$f:$line: $tok\n";
            }
        }' "$allow" "$@"
}

# The lint can fail: an unmarked printf is found, a marked one is not.
printf '%s\n' '#include "cli.h"' 'int main(void) {' \
    '    printf("an unmarked sentence\n"); /* a comment with words */' \
    '    puts(_("a marked " "sentence"));' '}' >"$tmp/bad.c"
if [ "$(lint "$tmp/bad.c")" != "$tmp/bad.c:3: \"an unmarked sentence\\n\"" ]; then
    echo "FAIL: the lint does not find the one unmarked string of a sample:"
    lint "$tmp/bad.c"
    fail=1
fi

unmarked=$(lint "${sources[@]}")
if [ -n "$unmarked" ]; then
    echo "FAIL: strings not marked for translation (wrap them in _() or N_(),"
    echo "      or list a course line in $allow):"
    echo "$unmarked" | sed 's/^/    /'
    fail=1
else
    echo "ok: ${#sources[@]} sources, every string marked"
fi

# Every marked string is in zh_CN.po, translated and not fuzzy.
xgettext --from-code=UTF-8 --language=C -k_ -kN_ -o "$tmp/now.pot" \
    $(ls 0[1-7]_*/*.c common/*.c) || { echo "FAIL: xgettext"; exit 1; }
xgettext --from-code=UTF-8 --language=Shell --join-existing -o "$tmp/now.pot" \
    common/walkthrough.sh || { echo "FAIL: xgettext (walkthrough)"; exit 1; }
msgmerge --quiet -o "$tmp/merged.po" common/po/zh_CN.po "$tmp/now.pot" || exit 1
for what in --untranslated --only-fuzzy; do
    left=$(msgattrib "$what" --no-obsolete "$tmp/merged.po" | grep -c '^msgid ')
    if [ "$left" -gt 0 ]; then
        echo "FAIL: zh_CN.po: $((left - 1)) ${what#--} entries (make update-po, then translate):"
        msgattrib "$what" --no-obsolete "$tmp/merged.po" | grep -A1 '^msgid ' | sed 's/^/    /' | head -20
        fail=1
    fi
done
msgfmt --check --statistics -o /dev/null common/po/zh_CN.po 2>&1 | sed 's/^/zh_CN.po: /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail=1
[ $fail -eq 0 ] && echo "PASS: i18n"
exit $fail
