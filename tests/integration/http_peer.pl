#!/usr/bin/perl
# http_peer.pl - small servers for lesson 05's tests (perl-base only). Each
# prints "listening on 127.0.0.1:PORT" first and serves for 30 s at most.
#   http_peer.pl ok      HTTP/1.1 200 with a 5-byte body, to every request
#   http_peer.pl drip    headers for 100 bytes, then one byte every 0.5 s
#   http_peer.pl dns     a UDP "DNS server" that never answers
use strict;
use warnings;
use IO::Socket::INET;

my $mode = shift // 'ok';
$SIG{PIPE} = 'IGNORE';
$SIG{ALRM} = sub { exit 0 };
alarm 30;
$| = 1;

if ($mode eq 'dns') {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'udp')
        or die "udp: $!\n";
    print "listening on 127.0.0.1:", $s->sockport, "\n";
    my $q;
    while (1) { $s->recv($q, 512) } # questions, never answered
}

my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 128,
                              ReuseAddr => 1, Proto => 'tcp')
    or die "listen: $!\n";
print "listening on 127.0.0.1:", $l->sockport, "\n";
while (my $c = $l->accept) {
    my $req = '';
    while ($req !~ /\r\n\r\n/) {
        my $n = sysread($c, $req, 4096, length $req);
        last unless $n;
    }
    if ($mode eq 'drip') {
        next if fork; # one child per connection: keep accepting
        alarm 30;
        syswrite($c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        for (1 .. 100) { syswrite($c, 'x') or last; select(undef, undef, undef, 0.5) }
        exit 0;
    }
    syswrite($c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    close $c;
}
