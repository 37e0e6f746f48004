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
sources=(0[1-7]_*/*.c common/cli.c common/cosock.c common/urlopen.c common/http.c common/greenlet.c common/generator.c common/stack.c common/monkey_core.c common/resolve.c common/hub.c common/sync.c common/pool.c common/trace.c common/trace_file.c)
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
            my ($end, $wrapped, $plural) = (0, 0, 0);
            while ($src =~ m{(/\*.*?\*/|//[^\n]*|"(?:[^"\\\n]|\\.)*"|\x27(?:[^\x27\\\n]|\\.)\x27)}gs) {
                my ($tok, $from) = ($1, $-[0]);
                my $between = substr($src, $end, $from - $end);
                $end = $+[0];
                next if $tok =~ m{^/};
                next if $tok =~ /^\x27/;
                # a literal continuing a wrapped one, just after _( or N_(,
                # or ngettext(s first or (after a comma) its second
                $wrapped = ($wrapped && $between =~ /^\s*$/) ||
                           ($plural && $between =~ /^\s*,\s*$/) ||
                           $between =~ /(?:\bN_|\bngettext|(?<![\w])_)\s*\(\s*$/ ? 1 : 0;
                $plural = $between =~ /\bngettext\s*\(\s*$/ ? 1 : 0;
                next if $wrapped;
                my $text = substr($tok, 1, -1);
                my $words = $text;
                if ($words =~ m{<[A-Za-z/!?]|=\\"}) {
                    # markup: its tags and attributes are for a browser, its
                    # words (between tags) are checked; an attribute begun
                    # in the literal before ends at the first \"
                    $words =~ s{^(?:[^\\<]|\\[^"])*\\"}{};
                    $words =~ s{<[^>]*>?}{ }g;
                    $words =~ s{[\w:-]+=\\"(?:[^\\]|\\[^"])*(?:\\"|$)}{ }g;
                }
                $words =~ s/%[-+ #0-9.*\$lhzjt]*[a-zA-Z]|\\x[0-9a-fA-F]+|\\.|--?[A-Za-z][\w-]*/ /g; # options aside
                next unless $words =~ /[A-Za-z]{2,}[,:;.!?)]?\s+[(]?[A-Za-z]{2,}/;
                next if grep { $text eq $_ } @allow;
                my $line = 1 + (() = substr($src, 0, $from) =~ /\n/g);
                print "$f:$line: $tok\n";
            }
        }' "$allow" "$@"
}

# The lint can fail: an unmarked printf is found, a marked one is not;
# markup's tags and attributes pass, words between tags do not.
printf '%s\n' '#include "cli.h"' 'int main(void) {' \
    '    printf("an unmarked sentence\n"); /* a comment with words */' \
    '    puts(_("a marked " "sentence"));' \
    '    printf("<text x=\"1\">who runs when</text>\n");' \
    '    printf(ngettext("%u greenlet here", "%u greenlets here", n), n);' \
    '    printf("<rect class=\"run\" font-family=\"DejaVu Sans, " "Arial\" y=\"2\"/>");' \
    '}' >"$tmp/bad.c"
if [ "$(lint "$tmp/bad.c")" != "$tmp/bad.c:3: \"an unmarked sentence\\n\"
$tmp/bad.c:5: \"<text x=\\\"1\\\">who runs when</text>\\n\"" ]; then
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

# The walkthrough (bash): what it says through echo, printf, fail and
# usage_err, here-documents included, must come from gettext. A small
# shell scanner finds its quoted strings (those inside $(...) too) and
# skips comments; the course's Python lines are not said through those.
cat >"$tmp/shlint.pl" <<'PERL'
use strict; use warnings;
# A small shell scanner: quoted strings (double-quoted ones with their
# $(...) inside scanned too), comments skipped; each string with the text
# before it in its command (since the line, ;, |, { or $( began).
my @allow; open(my $a, "<", shift @ARGV) or die;
while (<$a>) { chomp; next if /^\s*(#|$)/; push @allow, $_ }
my ($src, $i, $f, @found);
sub line_at { 1 + (substr($src, 0, $_[0]) =~ tr/\n//) }
sub cmd { # until the ) that closes $( (or the end): returns nothing
    my $depth = shift;  # 0: the whole file
    my $ctx = "";
    while ($i < length $src) {
        my $c = substr($src, $i, 1);
        if ($c eq "\\") { $ctx .= substr($src, $i, 2); $i += 2; next }
        if ($c eq "#" && ($ctx eq "" || $ctx =~ /[\s;|&({]\z/)) { # a comment
            $i++ while $i < length $src && substr($src, $i, 1) ne "\n"; next }
        if (substr($src, $i) =~ /^<<-?\s*(['"]?)(\w+)\1[^\n]*\n(.*?)^\s*\2$/ms) { # a here-document
            my ($quoted, $body, $len) = ($1, $3, $+[0]);
            push @found, [$body, "echo <<", line_at($i) + 1];
            $i += $len; next }
        if ($c eq "'") {
            my $j = index($src, "'", $i + 1); $j = length $src if $j < 0;
            push @found, [substr($src, $i + 1, $j - $i - 1), $ctx, line_at($i)];
            $ctx .= "S"; $i = $j + 1; next }
        if ($c eq '"') { my $at = $i; $i++; my $t = dq(); push @found, [$t, $ctx, line_at($at)]; $ctx .= "S"; next }
        if (substr($src, $i, 2) eq '$(') { $i += 2; cmd($depth + 1); $ctx .= "C"; next }
        if ($c eq "(") { $i++; cmd($depth + 1); next } # a subshell, (( )) or case pattern group
        if ($c eq ")" && $depth) { $i++; return }
        if ($c =~ /[\n;|{]/) { $ctx = "" } else { $ctx .= $c }
        $i++;
    }
}
sub dq { # inside "...": its text, $(...) as a space
    my $t = "";
    while ($i < length $src) {
        my $c = substr($src, $i, 1);
        if ($c eq "\\") { $t .= substr($src, $i, 2); $i += 2; next }
        if ($c eq '"') { $i++; return $t }
        if (substr($src, $i, 2) eq '$(') { $i += 2; cmd(1); $t .= " "; next }
        $t .= $c; $i++;
    }
    return $t;
}
for $f (@ARGV) {
    open(my $h, "<", $f) or die "$f: $!"; $src = do { local $/; <$h> }; $i = 0; @found = ();
    cmd(0);
    for (@found) {
        my ($text, $ctx, $ln) = @$_;
        next if $ctx =~ /\bgettext\s+\z/;          # translated
        next unless $ctx =~ /\b(echo|printf|fail|usage_err)\b/;  # said to a person
        (my $words = $text) =~ s/\$\{[^}]*\}|\$\w+|%[-0-9.]*[a-z]|\\.|--?[A-Za-z][\w-]*|[\w.-]*\/[\w.\/-]*/ /g;
        next unless $words =~ /[A-Za-z]{2,}[,:;.!?)]?\s+[(]?[A-Za-z]{2,}/;
        next if grep { $text eq $_ } @allow;
        (my $one = $text) =~ s/\n/\\n/g;
        print "$f:$ln: $one\n";
    }
}
PERL
shlint() { perl "$tmp/shlint.pl" "$allow" "$@"; }
printf '%s\n' 'echo "an unmarked sentence" # a comment with words' \
    "printf \"\$(gettext 'a marked sentence')\\n\"" 'cat <<EOT' 'a here document' 'EOT' \
    "x='not said to anyone here'" \
    "fail \"\$(printf \"\$(gettext 'a marked %s')\" \"\$n\") as well\"" >"$tmp/bad.sh"
if [ "$(shlint "$tmp/bad.sh")" != "$tmp/bad.sh:1: an unmarked sentence
$tmp/bad.sh:4: a here document\\n
$tmp/bad.sh:7:   as well" ]; then
    echo "FAIL: the walkthrough's lint does not find the three unmarked strings of a sample:"
    shlint "$tmp/bad.sh"
    fail=1
fi
unmarked=$(shlint common/walkthrough.sh)
if [ -n "$unmarked" ]; then
    echo "FAIL: the walkthrough says this without gettext:"
    echo "$unmarked" | sed 's/^/    /'
    fail=1
else
    echo "ok: common/walkthrough.sh, everything it says through gettext"
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

# 3. The trace in Chinese stays aligned: its columns are padded by display
#    width (a CJK character takes two columns), so each line's time ends,
#    and its thread, names and reason start, under their titles, measured
#    in display columns (perl's East_Asian_Width). 03 has short names only:
#    every column is checked; 07's second thread adds the thread column.
align() { # [full]: stdin is a --trace
    perl -CSD -e '
        use strict; use warnings;
        my $full = @ARGV && $ARGV[0] eq "full";
        sub w { my $n = 0; $n += /\p{Ea=W}|\p{Ea=F}/ ? 2 : 1 for split //, shift; $n }
        my (@hdr, $bad, $lines, $cjk) = ((), 0, 0, 0);
        while (my $l = <STDIN>) {
            chomp $l;
            $cjk++ if $l =~ /\p{Han}/;
            if ($l =~ /^\s+\D/ && $l !~ /\d/) { # a header: where its titles are
                @hdr = ();
                while ($l =~ /(\S+)/g) {
                    push @hdr, [w(substr($l, 0, $-[1])), w(substr($l, 0, $+[1]))];
                }
                next;
            }
            next unless @hdr && $l =~ /^(\s*\d+\.\d+)  (T\d+\s+)?(\S+)/;
            $lines++;
            my ($i, @at) = (1); # [what, its column, its title'"'"'s]
            push @at, ["time'"'"'s end", w($1), $hdr[0][1]];
            push @at, ["thread", w(substr($l, 0, $-[2])), $hdr[$i++][0]] if defined $2;
            push @at, ["running", w(substr($l, 0, $-[3])), $hdr[$i++][0]];
            if ($full && $l =~ /->\s+(\S+)\s+(\S)/) {
                push @at, ["next", w(substr($l, 0, $-[1])), $hdr[$i][0]],
                          ["why", w(substr($l, 0, $-[2])), $hdr[$i + 1][0]];
            } elsif ($full && $l =~ /^\s*[\d.]+\s+\S+\s+(\S)/) {
                push @at, ["why", w(substr($l, 0, $-[1])), $hdr[$i + 1][0]];
            }
            for (@at) {
                next if $_->[1] == $_->[2];
                print "    $_->[0] at column $_->[1], its title at $_->[2]: $l\n";
                $bad++;
            }
        }
        print("    no Chinese in the trace\n"), $bad++ unless $cjk;
        print("    no trace lines\n"), $bad++ unless $lines;
        exit($bad ? 1 : 0);' "$@"
}
if [ -x 03_gevent_sleep/03_gevent_sleep ] && [ -x 07_load_client/07_load_client ] &&
   [ -f common/po/locale/zh_CN/LC_MESSAGES/corolab.mo ]; then
    # the check can fail: a header padded by bytes (printf's %-12s) is caught
    printf '%10s  %-12s %-2s %-12s %s\n  0.000100  main         -> hub          %s\n' \
        秒 正在运行 "" 下一个 原因 结束 | align full >/dev/null &&
        { echo "FAIL: the alignment check takes a header padded by bytes"; fail=1; }
    (cd 03_gevent_sleep && timeout 30 ./03_gevent_sleep --lang zh --trace 2>&1 >/dev/null) |
        align full >"$tmp/align03" || {
        echo "FAIL: 03 --lang zh --trace: columns not aligned in display width:"
        head -n 20 "$tmp/align03"; fail=1; }
    (cd 07_load_client && timeout 30 ./07_load_client --local-server --coroutines 3 \
        --messages 1 --lang zh --trace 2>&1 >/dev/null) | align >"$tmp/align07" || {
        echo "FAIL: 07 --lang zh --trace (two threads): columns not aligned:"
        head -n 20 "$tmp/align07"; fail=1; }
    [ $fail -eq 0 ] && echo "ok: --lang zh --trace: 03's and 07's columns line up in display width"
    # The walkthrough's prompts, in both languages, leave room on an
    # 80-column projector for the key typed after them (76 columns at
    # most); walkthrough_tty.sh sees them drawn on one line, where tmux is.
    for id in '[Enter] run lesson %s [t]race [p]ython [n]otice [b]ack [q]uit [?]keys > ' \
              '[Enter] next [r]again [t]race [p]ython [n]otice [b]ack [q]uit [?]keys > '; do
        grep -qF "$id" common/walkthrough.sh || { echo "FAIL: no prompt '$id' in the walkthrough"; fail=1; }
        for l in en zh_CN; do
            p=$(LANGUAGE=$l LC_ALL=C.UTF-8 TEXTDOMAINDIR=common/po/locale gettext corolab "$id")
            # shellcheck disable=SC2059
            w=$(printf "$p" 07 | perl -CSD -ne '$n = 0; $n += /\p{Ea=W}|\p{Ea=F}/ ? 2 : 1 for split //; print $n')
            if [ -n "$w" ] && [ "$w" -le 76 ]; then echo "ok: a walkthrough prompt in $l: $w columns"
            else echo "FAIL: the walkthrough's prompt in $l is ${w:-?} columns (76 at most): $p"; fail=1; fi
        done
    done

else
    echo "note: lessons or the catalogue not built: the trace's alignment not checked"
fi
[ $fail -eq 0 ] && echo "PASS: i18n"
exit $fail
