#!/bin/bash
# trace_file.sh - --trace-file FILE and COROLAB_TRACE_FILE write the trace
# as Trace Event Format JSON or as an SVG picture, and change nothing else.
#
# 03 is run with --trace and --trace-file t.json at once: the JSON (parsed
# with perl's JSON::PP) must have one track per greenlet (main, hub, func1,
# func2), a "running" slice per stretch in the order the text trace
# switches, a flow arrow per switch line from and to the same greenlets at
# the same time (one clock), and its wait/wake/spawn events with the text
# trace's reasons. The SVG of 03 must be well-formed XML with a lane per
# greenlet, the sleeps' labels, a legend, and func1's 2 s sleep drawn
# twice as long as func2's 1 s one (a real time axis). 04's picture puts
# both runs on one axis: an asynchronous task's bar is about a ninth of
# the synchronous phase; so is its text --timeline. 05's picture names its
# patched and unpatched runs (in Chinese too: 03's legend, title and labels
# translated, the JSON's event names and 05's phase keys still English).
# 07's two threads get a thread column in the
# text and a process track each in the JSON, on one clock. Stdout stays the
# transcript; a bad file name
# is refused with exit 2 and a reason; --trace-file overrides
# COROLAB_TRACE_FILE.
set -u
cd "$(dirname "$0")/../.." || exit 2
l3=03_gevent_sleep l4=04_sync_vs_async l5=05_io_autoswitch
[ -x "$l3/$l3" ] && [ -x "$l4/$l4" ] || { echo "lessons not built: build them first"; exit 77; }
perl -MJSON::PP -e 1 2>/dev/null || { echo "perl JSON::PP missing (Debian: perl)"; exit 77; }
out=$PWD/tests/out/trace_file
rm -rf "$out"
mkdir -p "$out"
. tests/integration/check.bash
normalize() { LC_ALL=C sed -E -f tests/normalize.sed "$@"; }

# --- 03: JSON against the text trace of the same run ---
(cd "$l3" && NO_COLOR=1 timeout 60 "./$l3" --trace --trace-file "$out/03.json") \
    </dev/null >"$out/03.stdout" 2>"$out/03.stderr"
check "03 --trace --trace-file x.json: exit status 0" $?
diff -u <(normalize "$l3/expected.txt") <(normalize "$out/03.stdout")
check "03: stdout still matches its expected.txt" $?

perl -MJSON::PP -e '
    use strict; use warnings;
    my ($jf, $tf) = @ARGV;
    my $fail = 0;
    sub ok { my ($c, $what) = @_; print(($c ? "ok: " : "FAILED: "), "json: $what\n"); $fail ||= !$c; }
    open my $fh, "<", $jf or die "$jf: $!"; local $/; my $j = decode_json(<$fh>); close $fh;
    my @ev = @{$j->{traceEvents}};
    ok(@ev > 0, "parses as Trace Event Format (an object with traceEvents)");
    my %name;   # tid -> track name
    for (grep { $_->{ph} eq "M" && $_->{name} eq "thread_name" } @ev) {
        $name{$_->{tid}} = $_->{args}{name};
    }
    my @tracks = sort values %name;
    ok("@tracks" eq "func1 func2 hub main", "one track per greenlet and the hub: @tracks");
    # the text trace: switch lines and event lines
    open my $th, "<", $tf or die; $/ = "\n";
    my (@sw, @spawn);
    while (<$th>) {
        chomp;
        if (/^\s*([0-9.]+)\s+(\S+)\s+->\s+(\S+)\s+(.*)$/) { push @sw, [$1, $2, $3, $4]; }
        elsif (/^\s*([0-9.]+)\s+(\S+)\s+(spawn .*)$/) { push @spawn, [$1, $2, $3]; }
    }
    ok(@sw == 10, "the text trace has its ten switches");
    # running slices, in order: who the text says runs after each switch
    my @x = grep { $_->{ph} eq "X" } @ev;
    my @want = ($sw[0][1], map { $_->[2] } @sw);
    my @got = map { $name{$_->{tid}} } @x;
    ok("@got" eq "@want", "slices in switch order: @got");
    my $ordered = 1;
    for my $i (1 .. $#x) { $ordered &&= $x[$i]{ts} >= $x[$i-1]{ts} + $x[$i-1]{dur} - 0.002; }
    ok($ordered, "slices follow one another, none overlapping");
    # flow arrows: one per switch, same pair, same time as the text line
    my (%s, %f);
    for (@ev) { $s{$_->{id}} = $_ if $_->{ph} eq "s"; $f{$_->{id}} = $_ if $_->{ph} eq "f"; }
    my @ids = sort { $a <=> $b } keys %s;
    ok(@ids == @sw, "a flow arrow per switch (" . scalar(@ids) . ")");
    my $same = 1;
    for my $i (0 .. $#sw) {
        my ($t, $from, $to) = @{$sw[$i]};
        my ($a, $b) = ($s{$ids[$i]}, $f{$ids[$i]});
        $same &&= $a && $b && $name{$a->{tid}} eq $from && $name{$b->{tid}} eq $to
            && abs($a->{ts} / 1e6 - $t) < 2e-6 && $b->{ts} == $a->{ts};
    }
    ok($same, "each arrow goes from and to the text line'"'"'s greenlets at its time (one clock)");
    # wait and wake events carry the reasons the text gives
    my @waits = map { $_->{args}{reason} } grep { $_->{ph} eq "i" && $_->{name} eq "wait" } @ev;
    my @tw = map { $_->[3] } grep { $_->[3] =~ /^(sleep [1-9]|join|wait)/ } @sw;
    ok("@waits" eq "@tw", "wait events with their reasons: @waits");
    my @wakes = map { $_->{args}{reason} } grep { $_->{ph} eq "i" && $_->{name} eq "wake" } @ev;
    my @tk = map { $_->[3] } grep { $_->[3] =~ /^woke:/ } @sw;
    ok(@wakes == 3 && "@wakes" eq "@tk", "wake events with their reasons (" . scalar(@wakes) . ")");
    my @sp = map { $_->{args}{reason} } grep { $_->{ph} eq "i" && $_->{name} eq "spawn" } @ev;
    ok("@sp" eq join(" ", map { $_->[2] } @spawn), "spawn events: @sp");
    exit $fail;
' "$out/03.json" "$out/03.stderr"
check "03: the JSON matches the text trace" $?

# --- 03: the SVG, and the environment variable ---
(cd "$l3" && COROLAB_TRACE_FILE="$out/03.svg" timeout 60 "./$l3") </dev/null \
    >"$out/03svg.stdout" 2>"$out/03svg.stderr"
check "03 with COROLAB_TRACE_FILE=x.svg: exit status 0" $?
check "03: with a trace file only, nothing on stderr" "$([ ! -s "$out/03svg.stderr" ]; echo $?)"
diff -u <(normalize "$l3/expected.txt") <(normalize "$out/03svg.stdout") >/dev/null
check "03: stdout still matches its expected.txt" $?
if command -v xmllint >/dev/null; then
    xmllint --noout "$out/03.svg"
    check "03.svg is well-formed XML (xmllint)" $?
else
    perl -e 'local $/; $_ = <>; my @st; my $ok = /^<\?xml/;
        s/<\?[^>]*\?>//g;
        while (/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g) {
            if ($1) { $ok &&= @st && pop(@st) eq $2 } elsif (!$3) { push @st, $2 } }
        exit !($ok && !@st)' "$out/03.svg"
    check "03.svg is well-formed XML (tags balanced; no xmllint)" $?
fi
perl -e '
    local $/; my $s = <>; my $fail = 0;
    sub ok { my ($c, $what) = @_; print(($c ? "ok: " : "FAILED: "), "svg: $what\n"); $fail ||= !$c; }
    my @lanes = $s =~ /<text class="lane-name"[^>]*>([^<]*)</g;
    ok("@lanes" eq "main hub func1 func2", "a lane per greenlet: @lanes");
    my @why = $s =~ /<text class="why"[^>]*>([^<]*)</g;
    ok((grep { $_ eq "sleep 2.000 s" } @why) && (grep { $_ eq "sleep 1.000 s" } @why)
        && (grep { $_ eq "join func1" } @why), "reasons labelled: @why");
    ok($s =~ /<g class="legend">.*running.*waiting on a timer.*waiting on a file descriptor.*finished/s,
       "a legend of the states");
    my %w;
    while ($s =~ /<g class="lane"[^>]*>\s*<text class="lane-name"[^>]*>(\w+)<(.*?)<\/g>/gs) {
        my ($n, $body) = ($1, $2);
        $w{$n} = $1 if $body =~ /<rect class="timer"[^>]*width="([0-9.]+)"/;
    }
    my $r = $w{func2} ? $w{func1} / $w{func2} : 0;
    ok($r > 1.8 && $r < 2.2, sprintf("func1 sleeps twice as long as func2 on the axis (%.2f)", $r));
    ok($s =~ /class="done"/, "finished greenlets drawn as finished");
    exit $fail;
' "$out/03.svg"
check "03.svg: lanes, labels, legend, a real time axis" $?

# --- 04: both runs on one axis, in the picture and in the text ---
(cd "$l4" && NO_COLOR=1 timeout 60 "./$l4" --sleep 0.2 --timeline \
    --trace-file "$out/04.svg") </dev/null >"$out/04.stdout" 2>&1
check "04 --trace-file x.svg --timeline: exit status 0" $?
perl -e '
    local $/; my $s = <>; my $fail = 0;
    sub ok { my ($c, $what) = @_; print(($c ? "ok: " : "FAILED: "), "04.svg: $what\n"); $fail ||= !$c; }
    my ($sync) = $s =~ /<rect class="phase" data-name="Synchronous"[^>]*width="([0-9.]+)"/;
    ok($s =~ /data-name="Asynchronous"/, "both phases drawn");
    my @bars;
    while ($s =~ /<g class="lane"[^>]*>\s*<text class="lane-name"[^>]*>([^<]+)<(.*?)<\/g>/gs) {
        my ($n, $body) = ($1, $2);
        next if $n eq "main" || $n eq "hub";
        push @bars, $1 while $body =~ /<rect class="timer"[^>]*width="([0-9.]+)"/g;
    }
    ok(@bars == 10, "ten asynchronous tasks, a sleep each (" . scalar(@bars) . ")");
    my $mean = 0; $mean += $_ / @bars for @bars;
    my $r = $mean ? $sync / $mean : 0;
    ok($r > 7.5 && $r < 10.5, sprintf("an asynchronous bar is about a ninth of the synchronous phase (1/%.2f)", $r));
    exit $fail;
' "$out/04.svg"
check "04.svg: one axis for both runs" $?
awk '/^Timeline/ {on = 1} on && /^Task/ { n = gsub(/#/, "#"); if (sync) { lo = index($0, "#"); if (!first) first = lo; last = lo + n } else bars[++k] = n }
     on && /^Synchronous:/ {sync = 1} on && /^Asynchronous:/ {sync = 0}
     END { span = last - first; if (k != 10 || span <= 0) exit 1
           for (i = 1; i <= k; i++) if (bars[i] * 9 < span * 0.6 || bars[i] * 9 > span * 1.5) exit 1 }' \
    "$out/04.stdout"
check "04 --timeline: both runs on one axis, an asynchronous bar about a ninth of the synchronous run" $?

# --- 05: the patched and unpatched runs side by side ---
if [ -x "$l5/$l5" ]; then
    (cd "$l5" && timeout 60 "./$l5" --trace-file "$out/05.svg") </dev/null >"$out/05.stdout" 2>&1
    check "05 --trace-file x.svg: exit status 0" $?
    check "05.svg: the patched and unpatched runs on one axis, waits on fds drawn" \
        "$(grep -q 'data-name="Patched"' "$out/05.svg" && grep -q 'data-name="Unpatched"' "$out/05.svg" &&
           grep -q 'class="fd"' "$out/05.svg"; echo $?)"
fi

# --- in Chinese (issue 15): the words a person reads are translated, the
# keys a program reads (JSON event names, SVG classes, 05's phase keys) not ---
if [ -f common/po/locale/zh_CN/LC_MESSAGES/corolab.mo ]; then
    (cd "$l3" && timeout 60 "./$l3" --lang zh --trace-file "$out/03zh.json") </dev/null >/dev/null
    check "03 --lang zh --trace-file x.json: exit status 0" $?
    (cd "$l3" && COROLAB_TRACE_FILE="$out/03zh.svg" timeout 60 "./$l3" --lang zh) </dev/null >/dev/null
    check "03 --lang zh with COROLAB_TRACE_FILE=x.svg: exit status 0" $?
    if command -v xmllint >/dev/null; then
        xmllint --noout "$out/03zh.svg"
        check "03zh.svg is well-formed XML (xmllint)" $?
    fi
    perl -CSD -MJSON::PP -e '
        use strict; use warnings; use utf8;
        my ($svgf, $jf) = @ARGV; my $fail = 0;
        sub ok { my ($c, $what) = (!!$_[0], $_[1]); print(($c ? "ok: " : "FAILED: "), "zh: $what\n"); $fail ||= !$c; }
        local $/; open my $h, "<:utf8", $svgf or die; my $s = <$h>;
        ok($s =~ /<g class="legend">.*运行中.*等待定时器.*等待文件描述符.*已结束/s,
           "the SVG legend is in Chinese");
        ok($s =~ /<text class="title"[^>]*>03_gevent_sleep：谁在何时运行</, "its title too");
        my @why = $s =~ /<text class="why"[^>]*>([^<]*)</g;
        ok(scalar(grep { $_ eq "睡眠 2.000 s" } @why) && scalar(grep { $_ eq "等待 func1 结束" } @why),
           "its labels, cut at the Chinese comma: @why");
        ok(scalar($s =~ /class="timer"/ && $s =~ /class="wait"/ && $s !~ /\x{fffd}/),
           "the states still coloured by their English keys (timer, wait)");
        open my $j, "<:raw", $jf or die; my $ev = decode_json(<$j>)->{traceEvents};
        my @waits = grep { $_->{ph} eq "i" && $_->{name} eq "wait" } @$ev;
        my @spawns = grep { $_->{ph} eq "i" && $_->{name} eq "spawn" } @$ev;
        ok(scalar(@waits && $waits[0]{args}{reason} =~ /^(睡眠|等待)/ && @spawns == 2 &&
           $spawns[0]{args}{reason} =~ /^创建 func/),
           "the JSON keeps its event names (wait, spawn), with Chinese reasons");
        exit $fail;' "$out/03zh.svg" "$out/03zh.json"
    check "03 in Chinese: the picture and the JSON" $?
    if [ -x "$l5/$l5" ]; then
        (cd "$l5" && timeout 60 "./$l5" --lang zh --trace-file "$out/05zh.svg") </dev/null \
            >/dev/null 2>&1
        check "05 --lang zh: its phases keep their keys, shown in Chinese" \
            "$(grep -q 'data-name="Patched".*' "$out/05zh.svg" &&
               grep -q 'class="phase-name"[^>]*>打补丁<' "$out/05zh.svg" &&
               grep -q 'class="phase-name"[^>]*>不打补丁<' "$out/05zh.svg"; echo $?)"
    fi
else
    echo "note: no built catalogue: the picture in Chinese not checked"
fi

# --- 07: two threads, a thread column, one clock ---
l7=07_load_client
if [ -x "$l7/$l7" ]; then
    (cd "$l7" && timeout 60 "./$l7" --local-server --coroutines 3 --messages 2 -q --trace \
        --trace-file "$out/07.json") </dev/null >"$out/07.stdout" 2>"$out/07.stderr"
    check "07 --local-server --coroutines 3 --trace --trace-file x.json: exit status 0" $?
    # after the header that adds it, every trace line has T1 or T2
    awk '/^ +seconds +thread/ {on = 1; next}
         on && /^ +[0-9]+\.[0-9]+  / { if ($2 !~ /^T[12]$/) bad = 1; seen[$2] = 1 }
         END { exit !(on && !bad && ("T1" in seen) && ("T2" in seen)) }' "$out/07.stderr"
    check "07: the text trace gets a thread column (T1, T2) once the second thread traces" $?
    perl -MJSON::PP -e '
        local $/; my $j = decode_json(<>); my (%first, %last, %name);
        for (@{$j->{traceEvents}}) {
            $name{$_->{pid}} = $_->{args}{name} if $_->{ph} eq "M" && $_->{name} eq "process_name";
            next unless defined $_->{ts};
            $first{$_->{pid}} //= $_->{ts}; $last{$_->{pid}} = $_->{ts};
        }
        my @p = sort keys %name;
        print "threads: ", join(", ", map { "$name{$_}: $first{$_} to $last{$_} us" } @p), "
";
        # one clock: each thread starts before the other ends
        exit !(@p == 2 && $first{1} < $last{2} && $first{2} < $last{1});
    ' "$out/07.json"
    check "07: the JSON has a track group per thread, on one clock" $?
fi

# --- many greenlets: the first and last lanes, and a count ---
(cd "$l4" && timeout 120 "./$l4" --async-only --tasks 20000 --sleep 0.1 \
    --trace-file "$out/04many.svg") </dev/null >/dev/null 2>"$out/04many.stderr"
check "04 --tasks 20000 --trace-file x.svg: exit status 0" $?
check "04 with 20000 tasks: 256 lanes drawn, the rest counted" \
    "$(grep -q '19746 more greenlets not drawn (lanes 129 to 19874)' "$out/04many.svg" &&
       [ "$(grep -c '<g class="lane"' "$out/04many.svg")" = 256 ]; echo $?)"

# --- the command line wins over the environment ---
(cd "$l3" && COROLAB_TRACE_FILE="$out/env.svg" timeout 60 "./$l3" --trace-file "$out/arg.json") \
    </dev/null >/dev/null 2>&1
check "COROLAB_TRACE_FILE and --trace-file: only --trace-file's file is written" \
    "$([ -s "$out/arg.json" ] && [ ! -e "$out/env.svg" ]; echo $?)"

# --- bad names ---
(cd "$l3" && timeout 60 "./$l3" --trace-file "$out/x.txt") </dev/null >"$out/bad.stdout" 2>"$out/bad.stderr"
st=$?
cat "$out/bad.stderr"
check "--trace-file x.txt: exit 2, says which names it takes, runs nothing" \
    "$([ $st = 2 ] && grep -q 'x.txt.*\.json.*\.svg' "$out/bad.stderr" && [ ! -s "$out/bad.stdout" ]; echo $?)"
(cd "$l3" && COROLAB_TRACE_FILE=/nonexistent/x.json timeout 60 "./$l3") </dev/null \
    >"$out/bad2.stdout" 2>"$out/bad2.stderr"
st=$?
cat "$out/bad2.stderr"
check "COROLAB_TRACE_FILE in a missing folder: exit 2 and the reason" \
    "$([ $st = 2 ] && grep -q 'COROLAB_TRACE_FILE.*No such file' "$out/bad2.stderr"; echo $?)"

[ $fail -eq 0 ] && echo "trace_file: all passed"
exit $fail
