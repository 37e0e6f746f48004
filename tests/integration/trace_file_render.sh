#!/bin/bash
# trace_file_render.sh - the trace pictures render in a real browser.
#
# 02's and 03's --trace-file x.svg are opened in headless Chromium: its DOM
# must hold every lane and (03) the reasons' labels, and its screenshot must not
# be blank: a small PNG reader (perl, core modules only) finds the colours
# of running, waiting on a timer and finished greenlets among its pixels.
# Skipped (77) where chromium is not installed (Debian: apt-get install
# chromium).
set -u
cd "$(dirname "$0")/../.." || exit 2
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium is not installed (apt-get install chromium)"; exit 77; }
for l in 02_greenlet_switch 03_gevent_sleep; do
    [ -x "$l/$l" ] || { echo "no $l/$l: build it first"; exit 77; }
done
out=$PWD/tests/out/trace_file_render
rm -rf "$out"
mkdir -p "$out"
. tests/integration/check.bash

# chromium, with nothing of its own going on; $1: what to do, $2: the file
chrome() {
    local profile
    profile=$(mktemp -d)
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" "$@" 2>>"$out/chromium.log"
    local st=$?
    rm -rf "$profile"
    return $st
}

# The distinct colours of a PNG, as rrggbb, one a line (8-bit RGB or RGBA).
png_colours() {
    perl -MCompress::Zlib -e '
        use strict; use warnings;
        local $/; my $d = <>;
        substr($d, 0, 8) eq "\x89PNG\r\n\x1a\n" or die "not a PNG\n";
        my ($pos, $w, $h, $type, $idat) = (8, 0, 0, 0, "");
        while ($pos < length $d) {
            my ($len, $t) = unpack("Na4", substr($d, $pos, 8));
            my $body = substr($d, $pos + 8, $len);
            ($w, $h, my $depth, $type) = unpack("NNCC", $body) if $t eq "IHDR";
            die "8-bit RGB(A) only\n" if $t eq "IHDR" && ($depth != 8 || ($type != 2 && $type != 6));
            $idat .= $body if $t eq "IDAT";
            $pos += 12 + $len;
        }
        my $raw = uncompress($idat) // die "bad IDAT\n";
        my $bpp = $type == 6 ? 4 : 3;
        my $stride = $w * $bpp;
        my @prev = (0) x $stride;
        my %seen;
        for my $y (0 .. $h - 1) {
            my $f = ord substr($raw, $y * ($stride + 1), 1);
            my @c = unpack("C*", substr($raw, $y * ($stride + 1) + 1, $stride));
            for my $i (0 .. $stride - 1) {
                my $a = $i >= $bpp ? $c[$i - $bpp] : 0;
                my $b = $prev[$i];
                my $cc = $i >= $bpp ? $prev[$i - $bpp] : 0;
                if ($f == 1) { $c[$i] = ($c[$i] + $a) & 255 }
                elsif ($f == 2) { $c[$i] = ($c[$i] + $b) & 255 }
                elsif ($f == 3) { $c[$i] = ($c[$i] + (($a + $b) >> 1)) & 255 }
                elsif ($f == 4) {
                    my $p = $a + $b - $cc;
                    my ($pa, $pb, $pc) = (abs($p - $a), abs($p - $b), abs($p - $cc));
                    $c[$i] = ($c[$i] + ($pa <= $pb && $pa <= $pc ? $a : $pb <= $pc ? $b : $cc)) & 255;
                }
            }
            for (my $i = 0; $i < $stride; $i += $bpp) {
                $seen{sprintf "%02x%02x%02x", @c[$i .. $i + 2]}++;
            }
            @prev = @c;
        }
        print "$_\n" for sort keys %seen;
    ' "$1"
}

for l in 02_greenlet_switch 03_gevent_sleep; do
    n=${l%%_*}
    (cd "$l" && timeout 60 "./$l" --trace-file "$out/$n.svg") </dev/null >/dev/null 2>&1
    check "$n --trace-file $n.svg: exit status 0" $?
    chrome --dump-dom "$out/$n.svg" >"$out/$n.dom"
    check "$n: chromium loads the picture" $?
    case $n in
    02) lanes="main gr1 gr2" labels="" ;; # its bars are too short to say why
    03) lanes="main hub func1 func2" labels="sleep 2.000 s|sleep 1.000 s|join func1" ;;
    esac
    got=$(grep -o '<text class="lane-name"[^>]*>[^<]*' "$out/$n.dom" | sed 's/.*>//' | tr '\n' ' ')
    check "$n: the browser's document has the lanes $lanes (got: $got)" \
        "$([ "$got" = "$lanes " ]; echo $?)"
    if [ -n "$labels" ]; then
        ok=0
        IFS='|' read -ra want <<<"$labels"
        for w in "${want[@]}"; do
            grep -q "<text class=\"why\"[^>]*>$w<" "$out/$n.dom" || ok=1
        done
        check "$n: and the labels $labels" $ok
    fi
    h=$(grep -o 'height="[0-9]*"' "$out/$n.svg" | head -1 | tr -dc 0-9)
    chrome --screenshot="$out/$n.png" --window-size=1200,"${h:-600}" "$out/$n.svg" >/dev/null
    check "$n: chromium takes a screenshot" "$([ -s "$out/$n.png" ]; echo $?)"
    png_colours "$out/$n.png" >"$out/$n.colours"
    check "$n: the screenshot is a PNG we can read" $?
    colours=$(wc -l <"$out/$n.colours")
    check "$n: the screenshot is not blank ($colours colours)" "$([ "$colours" -ge 6 ]; echo $?)"
    # running (green), finished (dark grey) and, for 03, waiting on a timer
    want="2e9d45 555555"
    [ $n = 03 ] && want="$want f0a030 a98bd6"
    for c in $want; do
        check "$n: pixels of #$c (a state's colour) on screen" \
            "$(grep -qx "$c" "$out/$n.colours"; echo $?)"
    done
done

[ $fail -eq 0 ] && echo "trace_file_render: all passed"
exit $fail
