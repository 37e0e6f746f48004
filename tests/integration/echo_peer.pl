#!/usr/bin/perl
# echo_peer.pl - badly behaved peers for the echo tests (perl-base only).
# Each prints "ok ..." and exits 0 when the server did what it should.
#   echo_peer.pl PORT reset          send, then close with a reset (RST)
#   echo_peer.pl PORT halfclose      send, shut down writing, read the echo to EOF
#   echo_peer.pl PORT echo SIZE      send SIZE bytes while reading, compare the echo
#   echo_peer.pl PORT garbage        4 KiB of every byte value, compare the echo
#   echo_peer.pl PORT hog SECONDS    send without ever reading, for SECONDS
#   echo_peer.pl PORT hold N SECONDS open N connections, hold them, report how
#                                    many the server closed at once
#   echo_peer.pl PORT firehose SECONDS  send and read as fast as the kernel
#                                    takes it (a writer and a reader process)
#   echo_peer.pl PORT pingers N SECONDS N clients, each sending 64 bytes and
#                                    waiting for the echo, again and again;
#                                    reports the latency's p50, p99 and max
#                                    (a reply still missing at the end counts
#                                    for as long as it has been waited for)
#   echo_peer.pl PORT idle N SECONDS open N connections, send nothing, report
#                                    how many the server closed within SECONDS
#   echo_peer.pl 0 serve MODE        a fake server on a free port (printed
#                                    first): MODE reset (RST at once) or silent
#                                    (never answers); serves for 30 s at most
#                                    MODE drip: echoes one byte every 0.1 s;
#                                    MODE extra: echoes with "extra!\n" after
#                                    each echo (both: one client at a time)
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Socket qw(SOL_SOCKET SO_LINGER);
use Errno qw(EAGAIN EWOULDBLOCK);

my ($port, $cmd, @args) = @ARGV;
$SIG{PIPE} = 'IGNORE';
$| = 1;

sub conn {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp',
                                  Timeout => 10)
        or die "connect to 127.0.0.1:$port: $!\n";
    return $s;
}

# Send $data while reading whatever comes back; return what came back.
sub exchange {
    my ($s, $data, $timeout) = @_;
    my ($sent, $got, $sel) = (0, '', IO::Select->new($s));
    $s->blocking(0);
    my $end = time + $timeout;
    while (length($got) < length($data)) {
        die "timed out after " . length($got) . " of " . length($data) . " bytes\n" if time > $end;
        my ($r, $w) = IO::Select->select($sel, $sent < length($data) ? $sel : undef, undef, 1);
        if ($w && @$w) {
            my $n = syswrite($s, $data, 65536, $sent);
            $sent += $n if defined $n;
        }
        if ($r && @$r) {
            my $n = sysread($s, my $buf, 65536);
            die "server closed after " . length($got) . " bytes\n" if defined $n && $n == 0;
            $got .= $buf if $n;
        }
    }
    return $got;
}

if ($cmd eq 'reset') {
    my $s = conn();
    print $s "about to reset";
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) or die "SO_LINGER: $!\n";
    close $s;
    print "ok reset sent\n";
} elsif ($cmd eq 'halfclose') {
    my $s = conn();
    print $s "half-closed hello";
    $s->flush;
    shutdown($s, 1) or die "shutdown: $!\n";
    local $/;
    my $got = <$s>;
    die "echo after half-close: got '" . ($got // '') . "'\n" unless ($got // '') eq "half-closed hello";
    print "ok half-close: echo received, then EOF\n";
} elsif ($cmd eq 'echo' || $cmd eq 'garbage') {
    my $data = $cmd eq 'garbage' ? join('', map { chr($_ % 256) } 0 .. 4095)
                                 : join('', map { chr(($_ * 7 + 3) % 256) } 0 .. $args[0] - 1);
    my $got = exchange(conn(), $data, 60);
    die "echo differs (" . length($got) . " bytes back)\n" unless $got eq $data;
    print "ok " . length($data) . " bytes echoed intact\n";
} elsif ($cmd eq 'hog') {
    my $s = conn();
    $s->blocking(0);
    my ($sent, $chunk, $end) = (0, 'x' x 65536, time + $args[0]);
    while (time < $end) {
        my $n = syswrite($s, $chunk);
        if (defined $n) { $sent += $n } else { select(undef, undef, undef, 0.05) }
    }
    print "ok hog sent $sent bytes without reading\n";
    close $s;
} elsif ($cmd eq 'hold') {
    my ($n, $secs) = @args;
    my @s = map { conn() } 1 .. $n;
    select(undef, undef, undef, 0.5);
    my $closed = 0;
    for my $s (@s) {
        $s->blocking(0);
        my $r = sysread($s, my $buf, 1);
        $closed++ if defined $r && $r == 0;
    }
    print "ok holding $n, $closed closed by the server\n";
    select(undef, undef, undef, $secs);
    close $_ for @s;
} elsif ($cmd eq 'firehose') {
    my $s = conn();
    my $end = time + $args[0];
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) { # the writer: 1 MiB at a time, blocking
        my $chunk = 'f' x (1 << 20);
        while (time < $end) { defined syswrite($s, $chunk) or last }
        exit 0;
    }
    my $got = 0;
    while (time < $end) {
        my $n = sysread($s, my $buf, 1 << 20);
        last unless $n;
        $got += $n;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    print "ok firehose got $got bytes back\n";
} elsif ($cmd eq 'pingers') {
    require Time::HiRes;
    my ($n, $secs) = @args;
    my $msg = 'p' x 64;
    my (@lat, %sent, %got, %of);
    my $sel = IO::Select->new;
    my $now = Time::HiRes::time();
    for my $i (1 .. $n) {
        my $s = conn();
        $s->blocking(0);
        $sel->add($s);
        $of{$s} = $s;
        syswrite($s, $msg) == 64 or die "send: $!\n";
        ($sent{$s}, $got{$s}) = ($now, 0);
    }
    my $end = $now + $secs;
    while (($now = Time::HiRes::time()) < $end) {
        for my $s ($sel->can_read($end - $now)) {
            my $r = sysread($s, my $buf, 4096);
            die "server closed a pinger\n" if defined $r && $r == 0;
            next unless $r;
            $got{$s} += $r;
            next if $got{$s} < 64;
            my $t = Time::HiRes::time();
            push @lat, $t - $sent{$s};
            ($sent{$s}, $got{$s}) = ($t, 0);
            syswrite($s, $msg) == 64 or die "send: $!\n";
        }
    }
    $now = Time::HiRes::time();
    my $replies = @lat;
    push @lat, $now - $sent{$_} for keys %sent; # still waiting: counts too
    @lat = sort { $a <=> $b } @lat;
    printf "ok %d pingers, %d replies, p50 %.4f s, p99 %.4f s, max %.4f s\n", $n, $replies,
        $lat[int(@lat * 0.50)], $lat[int(@lat * 0.99)], $lat[-1];
} elsif ($cmd eq 'idle') {
    my ($n, $secs) = @args;
    my @s = map { conn() } 1 .. $n;
    my $sel = IO::Select->new(@s);
    my ($closed, $end) = (0, time + $secs);
    while ($sel->count && time < $end) {
        for my $s ($sel->can_read(0.2)) {
            my $r = sysread($s, my $buf, 1);
            next if defined $r && $r > 0;
            $closed++;
            $sel->remove($s);
        }
    }
    print "ok $n idle, $closed closed by the server\n";
    close $_ for @s;
} elsif ($cmd eq 'serve') {
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 128,
                                  ReuseAddr => 1) or die "listen: $!\n";
    print "listening on 127.0.0.1:" . $l->sockport . "\n";
    my $end = time + 30;
    my @keep;
    $l->blocking(0);
    while (time < $end) {
        my $c = $l->accept;
        unless ($c) { select(undef, undef, undef, 0.02); next }
        if ($args[0] eq 'reset') {
            setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
            close $c;
        } elsif ($args[0] eq 'drip' || $args[0] eq 'extra') {
            $c->blocking(1);
            while (sysread($c, my $buf, 65536)) {
                if ($args[0] eq 'extra') {
                    syswrite($c, $buf . "extra!\n") or last;
                    next;
                }
                for my $byte (split //, $buf) {
                    syswrite($c, $byte) or last;
                    select(undef, undef, undef, 0.1);
                }
            }
            close $c;
        } else {
            push @keep, $c;
        }
    }
} else {
    die "echo_peer.pl: unknown command '$cmd'\n";
}
