/*
 * test_cosock.c - layer 4, cooperative sockets: an echo between greenlets
 * of one thread; big transfers arrive whole and in order; half-close;
 * recv_exact at end of file; timeouts (and timeout 0: "only if now");
 * two greenlets waiting on one fd in one direction (EBUSY, the first still
 * served); a kill or a close while waiting (ECANCELED, EBADF); connect
 * refused, bad ports; a peer that never reads (sendall times out, nothing
 * grows) or has gone (EPIPE/ECONNRESET, no SIGPIPE); 300 connections
 * served at once by one thread; cosock_wrap on a blocking socketpair; a
 * greenlet whose calls never wait still lets the others run (fairness);
 * many tiny messages and half-closes under each backend, and a peer's
 * last bytes with its FIN in one edge (also after our own shutdown,
 * when epoll says EPOLLHUP), lose no wake-up (issue 12); the same echo
 * and timeouts while libevent has an event of its own on the hub's base
 * (the hub's sockets are then reached through libevent's loop).
 *
 * Everything listens on 127.0.0.1 port 0. As in test_hub.c, greenlets
 * only record what they see; the assertions are made in main, and every
 * test ends with hub_shutdown().
 */
#include "testutil.h"
#include "cosock.h"
#include "hub.h"

#include <errno.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define P(n) ((void *)(intptr_t)(n))
#define N(p) ((int)(intptr_t)(p))

/* ---- a small echo server: one greenlet accepting, one per connection ---- */

struct server {
    int lfd, port;
    int conns;        /* accepted so far */
    long long echoed; /* bytes */
    hub_task *task;
};

static void *echo_conn(void *arg)
{
    struct server *s = (struct server *)((void **)arg)[0];
    int fd = N(((void **)arg)[1]);
    char buf[8192];
    ssize_t n;
    free(arg);
    while ((n = cosock_recv(fd, buf, sizeof buf, HUB_FOREVER)) > 0) {
        if (cosock_sendall(fd, buf, (size_t)n, HUB_FOREVER) != 0)
            break;
        s->echoed += n;
    }
    cosock_close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct server *s = arg;
    int fd;
    while ((fd = cosock_accept(s->lfd, NULL, HUB_FOREVER)) >= 0) {
        void **a = malloc(2 * sizeof *a);
        a[0] = s;
        a[1] = P(fd);
        s->conns++;
        hub_spawn_with(echo_conn, a, &(hub_spawn_opts){.detached = true});
    }
    return NULL;
}

static void server_start(struct server *s)
{
    memset(s, 0, sizeof *s);
    s->lfd = cosock_listen("127.0.0.1", 0, 0);
    ck_assert_int_ge(s->lfd, 0);
    s->port = cosock_local_port(s->lfd);
    ck_assert_int_gt(s->port, 0);
    s->task = hub_spawn(accept_loop, s);
    ck_assert_ptr_nonnull(s->task);
}

static void server_stop(struct server *s)
{
    hub_kill(s->task, HUB_FOREVER);
    hub_task_free(s->task);
    cosock_close(s->lfd);
    hub_run(); /* let echo greenlets see their clients' end of file */
}

/* ---- tests ---- */

START_TEST(echo_between_greenlets_of_one_thread)
{
    struct server s;
    char reply[16] = {0};
    server_start(&s);
    /* The main greenlet is the client: it blocks on the hub like a task. */
    int fd = cosock_connect("127.0.0.1", s.port, 5);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(cosock_sendall(fd, "hello 0", 7, 5), 0);
    ck_assert_int_eq(cosock_recv_exact(fd, reply, 7, 5), 7);
    ck_assert_str_eq(reply, "hello 0");
    ck_assert_int_eq(cosock_close(fd), 0);
    server_stop(&s);
    ck_assert_int_eq(s.conns, 1);
    ck_assert_int_eq(s.echoed, 7);
    hub_shutdown();
}
END_TEST

struct bulk {
    int fd;
    size_t len;
    int rc;
    int err;
};

static void *bulk_send(void *arg)
{
    struct bulk *b = arg;
    unsigned char *buf = malloc(b->len);
    for (size_t i = 0; i < b->len; i++)
        buf[i] = (unsigned char)(i * 7 + i / 251);
    b->rc = cosock_sendall(b->fd, buf, b->len, 30);
    b->err = errno;
    cosock_shutdown(b->fd, SHUT_WR);
    free(buf);
    return NULL;
}

START_TEST(four_mib_echo_arrives_whole_and_in_order)
{
    struct server s;
    struct bulk b = {.len = 4u << 20};
    unsigned char *got = malloc(b.len + 1);
    size_t bad = 0;
    server_start(&s);
    b.fd = cosock_connect("127.0.0.1", s.port, 5);
    ck_assert_int_ge(b.fd, 0);
    /* One greenlet sends while main reads: neither side's buffer can hold
     * 4 MiB, so this only completes if both really interleave. */
    hub_task *t = hub_spawn(bulk_send, &b);
    ssize_t n = cosock_recv_exact(b.fd, got, b.len + 1, 30);
    hub_join(t, HUB_FOREVER);
    hub_task_free(t);
    for (size_t i = 0; i < b.len; i++)
        bad += got[i] != (unsigned char)(i * 7 + i / 251);
    cosock_close(b.fd);
    server_stop(&s);
    free(got);
    ck_assert_int_eq(b.rc, 0);
    /* The server half-closed after echoing all: recv_exact stops short at EOF. */
    ck_assert_int_eq(n, (ssize_t)b.len);
    ck_assert_uint_eq(bad, 0);
    hub_shutdown();
}
END_TEST

START_TEST(half_close_still_gets_the_echo)
{
    struct server s;
    char reply[8] = {0};
    server_start(&s);
    int fd = cosock_connect("127.0.0.1", s.port, 5);
    ck_assert_int_eq(cosock_sendall(fd, "abc", 3, 5), 0);
    ck_assert_int_eq(cosock_shutdown(fd, SHUT_WR), 0);
    ck_assert_int_eq(cosock_recv_exact(fd, reply, sizeof reply, 5), 3);
    ck_assert_str_eq(reply, "abc");
    ck_assert_int_eq(cosock_recv(fd, reply, sizeof reply, 5), 0); /* EOF */
    cosock_close(fd);
    server_stop(&s);
    hub_shutdown();
}
END_TEST

START_TEST(timeouts_and_timeout_zero)
{
    struct server s;
    char c;
    server_start(&s);
    int fd = cosock_connect("127.0.0.1", s.port, 5);
    ck_assert_int_ge(fd, 0);
    errno = 0;
    ck_assert_int_eq(cosock_recv(fd, &c, 1, 0.05), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    errno = 0;
    ck_assert_int_eq(cosock_recv(fd, &c, 1, 0), -1); /* nothing there now */
    ck_assert_int_eq(errno, ETIMEDOUT);
    /* timeout 0 with data there: done at once */
    ck_assert_int_eq(cosock_sendall(fd, "x", 1, 5), 0);
    ck_assert_int_eq(cosock_recv(fd, &c, 1, 5), 1);
    cosock_close(fd);
    int lfd = cosock_listen("127.0.0.1", 0, 0);
    errno = 0;
    ck_assert_int_eq(cosock_accept(lfd, NULL, 0), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    cosock_close(lfd);
    server_stop(&s);
    hub_shutdown();
}
END_TEST

/* Under epoll the hub waits on its own epoll fd directly only while
 * libevent has nothing else (backend_libevent.c); an event of libevent's
 * own (here a pipe nobody writes, as evdns keeps its socket's) sends every
 * turn through libevent's loop instead: still every echo, and timeouts. */
static void never_called(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    *(int *)arg = 1;
}

START_TEST(echo_while_libevent_has_an_event_of_its_own)
{
    struct server s;
    int p[2], called = 0;
    char reply[8] = {0}, c;
    ck_assert_int_eq(pipe(p), 0);
    struct event *ev = event_new(hub_event_base(), p[0], EV_READ | EV_PERSIST, never_called, &called);
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(event_add(ev, NULL), 0);
    server_start(&s);
    int fd = cosock_connect("127.0.0.1", s.port, 5);
    ck_assert_int_ge(fd, 0);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(cosock_sendall(fd, "ping", 4, 5), 0);
        ck_assert_int_eq(cosock_recv_exact(fd, reply, 4, 5), 4);
        ck_assert_str_eq(reply, "ping");
    }
    errno = 0;
    ck_assert_int_eq(cosock_recv(fd, &c, 1, 0.05), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    event_free(ev); /* the direct wait again, on the same sockets */
    ck_assert_int_eq(cosock_sendall(fd, "pong", 4, 5), 0);
    ck_assert_int_eq(cosock_recv_exact(fd, reply, 4, 5), 4);
    ck_assert_str_eq(reply, "pong");
    cosock_close(fd);
    server_stop(&s);
    ck_assert_int_eq(s.echoed, 50 * 4 + 4);
    ck_assert_int_eq(called, 0);
    close(p[0]);
    close(p[1]);
    hub_shutdown();
}
END_TEST

struct waiter {
    int fd;
    ssize_t rc;
    int err;
    char c;
};

static void *wait_recv(void *arg)
{
    struct waiter *w = arg;
    errno = 0;
    w->rc = cosock_recv(w->fd, &w->c, 1, 10);
    w->err = errno;
    return NULL;
}

START_TEST(two_readers_on_one_fd_is_ebusy)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(cosock_wrap(sv[0]), 0);
    ck_assert_int_eq(cosock_wrap(sv[1]), 0);
    struct waiter a = {.fd = sv[0]}, b = {.fd = sv[0]};
    hub_task *ta = hub_spawn(wait_recv, &a), *tb = hub_spawn(wait_recv, &b);
    hub_sleep(0); /* both try: a waits, b is refused */
    ck_assert_int_eq(send(sv[1], "y", 1, 0), 1);
    hub_task *ts[] = {ta, tb};
    hub_joinall(ts, 2, HUB_FOREVER);
    ck_assert_int_eq(b.rc, -1);
    ck_assert_int_eq(b.err, EBUSY);
    ck_assert_int_eq(a.rc, 1); /* the first waiter is not disturbed */
    ck_assert_int_eq(a.c, 'y');
    ck_assert_ptr_nonnull(strstr(cosock_strerror(EBUSY), "another greenlet"));
    hub_task_free(ta);
    hub_task_free(tb);
    cosock_close(sv[0]);
    cosock_close(sv[1]);
    hub_shutdown();
}
END_TEST

/* Fairness: a greenlet whose recvs always find data never waits; after a
 * bounded run of such calls it must yield, and the hub must then poll I/O,
 * so that a greenlet whose socket became ready meanwhile runs. Counted in
 * calls, not time. */
START_TEST(calls_that_never_wait_still_let_others_run)
{
    enum { PREFILLED = 200 };
    int busy[2], other[2], calls = 0;
    char c, fill[PREFILLED];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, busy), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
    ck_assert_int_eq(cosock_wrap(busy[0]), 0);
    ck_assert_int_eq(cosock_wrap(other[0]), 0);
    memset(fill, 'x', sizeof fill);
    ck_assert_int_eq(send(busy[1], fill, sizeof fill, 0), PREFILLED);
    struct waiter w = {.fd = other[0]};
    hub_task *t = hub_spawn(wait_recv, &w);
    ck_assert_int_eq(hub_sleep(0), 0); /* it waits on its socket */
    ck_assert_int_eq(send(other[1], "z", 1, 0), 1); /* ready now, in epoll's eyes */
    while (!hub_task_dead(t) && calls < PREFILLED) {
        ck_assert_int_eq(cosock_recv(busy[0], &c, 1, HUB_FOREVER), 1);
        calls++;
    }
    ck_assert_msg(hub_task_dead(t), "the waiting greenlet never ran in %d recvs", calls);
    ck_assert_int_le(calls, 100);
    ck_assert_int_eq(w.rc, 1);
    ck_assert_int_eq(w.c, 'z');
    hub_task_free(t);
    for (int i = 0; i < 2; i++) {
        cosock_close(busy[i]);
        cosock_close(other[i]);
    }
    hub_shutdown();
}
END_TEST

START_TEST(kill_or_close_wakes_a_waiting_recv)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct waiter a = {.fd = sv[0]}, b = {.fd = sv[1]};
    hub_task *ta = hub_spawn(wait_recv, &a), *tb = hub_spawn(wait_recv, &b);
    hub_sleep(0);
    hub_kill(ta, HUB_FOREVER);
    cosock_close(sv[1]); /* b waits on it: woken with EBADF */
    hub_join(tb, HUB_FOREVER);
    ck_assert_int_eq(a.rc, -1);
    ck_assert_int_eq(a.err, ECANCELED);
    ck_assert_int_eq(b.rc, -1);
    ck_assert_int_eq(b.err, EBADF);
    hub_task_free(ta);
    hub_task_free(tb);
    cosock_close(sv[0]);
    hub_shutdown();
}
END_TEST

START_TEST(connect_refused_and_bad_ports)
{
    int lfd = cosock_listen("127.0.0.1", 0, 0);
    int port = cosock_local_port(lfd);
    cosock_close(lfd); /* now nobody listens there */
    errno = 0;
    ck_assert_int_eq(cosock_connect("127.0.0.1", port, 5), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
    errno = 0;
    ck_assert_int_eq(cosock_connect("127.0.0.1", 70000, 5), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(cosock_listen("127.0.0.1", -1, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    hub_shutdown();
}
END_TEST

START_TEST(peer_that_never_reads_then_goes)
{
    int lfd = cosock_listen("127.0.0.1", 0, 0);
    int cfd = cosock_connect("127.0.0.1", cosock_local_port(lfd), 5);
    int sfd = cosock_accept(lfd, NULL, 5);
    size_t len = 64u << 20;
    char *buf = calloc(1, len);
    ck_assert_int_ge(sfd, 0);
    /* The client reads nothing: sendall fills the socket buffers, then
     * waits (backpressure), and times out rather than buffer 64 MiB. */
    errno = 0;
    ck_assert_int_eq(cosock_sendall(sfd, buf, len, 0.2), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    /* The client goes with data unread (a reset): no SIGPIPE, an error. */
    cosock_close(cfd);
    errno = 0;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = cosock_sendall(sfd, buf, 65536, 5);
    ck_assert_int_eq(rc, -1);
    ck_assert(errno == EPIPE || errno == ECONNRESET);
    free(buf);
    cosock_close(sfd);
    cosock_close(lfd);
    hub_shutdown();
}
END_TEST

struct many {
    int port, ok;
};

static void *one_client(void *arg)
{
    struct many *m = arg;
    char msg[32], reply[32];
    int fd = cosock_connect("127.0.0.1", m->port, 10);
    int len = snprintf(msg, sizeof msg, "hello %p", (void *)&fd);
    if (fd < 0)
        return NULL;
    hub_sleep(0.01); /* all connected at once */
    if (cosock_sendall(fd, msg, (size_t)len, 10) == 0 &&
        cosock_recv_exact(fd, reply, (size_t)len, 10) == len && memcmp(msg, reply, (size_t)len) == 0)
        m->ok++;
    cosock_close(fd);
    return NULL;
}

START_TEST(three_hundred_connections_in_one_thread)
{
    enum { NC = 300 };
    struct server s;
    struct many m;
    hub_task **ts = calloc(NC, sizeof *ts);
    server_start(&s);
    m.port = s.port;
    m.ok = 0;
    for (int i = 0; i < NC; i++)
        ts[i] = hub_spawn(one_client, &m);
    hub_joinall(ts, NC, HUB_FOREVER);
    for (int i = 0; i < NC; i++)
        hub_task_free(ts[i]);
    free(ts);
    server_stop(&s);
    ck_assert_int_eq(m.ok, NC);
    ck_assert_int_eq(s.conns, NC);
    hub_shutdown();
}
END_TEST

/* ---- two system calls per message: no wake-up lost (issue 12) ----
 * A receive that got less than it asked for remembers the socket as
 * drained and waits for the next edge before calling recv again. These
 * check that nothing is lost by it: many tiny messages each way, and a
 * peer's last bytes arriving with its FIN in one edge (the short read
 * that takes them must not make the reader wait for an edge that never
 * comes), under each backend. */

struct tiny {
    int port, msgs, ok, eof_ok;
};

static void *tiny_client(void *arg)
{
    struct tiny *t = arg;
    char c, reply[64];
    int fd = cosock_connect("127.0.0.1", t->port, 10), i;
    if (fd < 0)
        return NULL;
    for (i = 0; i < t->msgs; i++) {
        c = (char)('a' + i % 26);
        if (cosock_sendall(fd, &c, 1, 10) != 0 ||
            cosock_recv(fd, reply, sizeof reply, 10) != 1 || reply[0] != c)
            break;
    }
    if (i == t->msgs)
        t->ok++;
    /* the last bytes and the half-close together: the echo, then EOF */
    if (cosock_sendall(fd, "end", 3, 10) == 0 && cosock_shutdown(fd, SHUT_WR) == 0 &&
        cosock_recv_exact(fd, reply, sizeof reply, 10) == 3 &&
        memcmp(reply, "end", 3) == 0 && cosock_recv(fd, reply, sizeof reply, 10) == 0)
        t->eof_ok++;
    cosock_close(fd);
    return NULL;
}

static void tiny_messages_under(const char *backend)
{
    enum { NC = 40 };
    struct server s;
    struct tiny t = {.msgs = 200};
    hub_task *ts[NC];
    ck_assert_int_eq(hub_set_backend(backend), 0);
    server_start(&s);
    t.port = s.port;
    for (int i = 0; i < NC; i++)
        ts[i] = hub_spawn(tiny_client, &t);
    ck_assert_int_eq(hub_joinall(ts, NC, HUB_FOREVER), 0);
    for (int i = 0; i < NC; i++)
        hub_task_free(ts[i]);
    server_stop(&s);
    ck_assert_msg(t.ok == NC && t.eof_ok == NC, "%s: %d/%d echoed, %d/%d saw EOF",
                  backend, t.ok, NC, t.eof_ok, NC);
    ck_assert_int_eq(s.echoed, (long long)NC * (t.msgs + 3));
    hub_shutdown();
    hub_set_backend(NULL);
}

START_TEST(many_tiny_messages_and_half_closes_lose_no_wakeup)
{
    tiny_messages_under("epoll");
    tiny_messages_under("poll");
    tiny_messages_under("select");
}
END_TEST

struct reader {
    int fd;
    long got;
    int rc, err;
};

static void *read_to_eof(void *arg)
{
    struct reader *r = arg;
    char buf[64];
    ssize_t n;
    while ((n = cosock_recv(r->fd, buf, sizeof buf, 5)) > 0)
        r->got += n;
    r->rc = (int)n;
    r->err = errno;
    return NULL;
}

START_TEST(last_bytes_with_the_fin_in_one_edge)
{
    int sv[2];
    struct reader r = {0};
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(cosock_wrap(sv[0]), 0);
    r.fd = sv[0];
    hub_task *t = hub_spawn(read_to_eof, &r);
    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    hub_sleep(0.02); /* it reads "x" (a short read: drained) and waits */
    ck_assert_int_eq(r.got, 1);
    /* data and end of file in one edge, seen by one wake-up */
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    ck_assert_int_eq(r.got, 4);
    ck_assert_msg(r.rc == 0, "recv after the last bytes: %d (%s), not EOF", r.rc,
                  strerror(r.err));
    cosock_close(sv[0]);
    close(sv[1]);
    hub_shutdown();
}
END_TEST

/* Loopback TCP, both ends plain: *ours non-blocking for cosock, *peer
 * blocking, for the test to write and reset from main. */
static void tcp_pair(int *ours, int *peer)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
    *peer = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(*peer, (struct sockaddr *)&a, sizeof a), 0);
    *ours = accept(lfd, NULL, NULL);
    ck_assert_int_ge(*ours, 0);
    ck_assert_int_eq(cosock_wrap(*ours), 0);
    close(lfd);
}

/* A loopback pair (our side shut for writing first, if shut_ours) and a
 * reader of ours that has read "x" by a short read: drained, it waits for
 * the next edge. */
static hub_task *drained_reader(int *ours, int *peer, struct reader *r, bool shut_ours)
{
    tcp_pair(ours, peer);
    if (shut_ours)
        ck_assert_int_eq(shutdown(*ours, SHUT_WR), 0);
    r->fd = *ours;
    hub_task *t = hub_spawn(read_to_eof, r);
    ck_assert_int_eq(write(*peer, "x", 1), 1);
    while (r->got < 1)
        hub_sleep(0.01);
    return t;
}

START_TEST(last_bytes_with_the_fin_after_our_own_shutdown)
{
    int ours, peer;
    struct reader r = {0};
    hub_task *t = drained_reader(&ours, &peer, &r, true);
    /* both sides shut: epoll says EPOLLHUP with EPOLLRDHUP, which must
     * still reach the hub as a close (EV_CLOSED), or the short read of
     * "abc" would leave the reader waiting for an edge that has come */
    ck_assert_int_eq(write(peer, "abc", 3), 3);
    ck_assert_int_eq(close(peer), 0);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    ck_assert_int_eq(r.got, 4);
    ck_assert_msg(r.rc == 0, "recv after the last bytes: %d (%s), not EOF", r.rc,
                  strerror(r.err));
    cosock_close(ours);
    hub_shutdown();
}
END_TEST

/* A reset that comes with the last data, in one edge: the short read
 * that takes the data must not leave the reader waiting (5 s, then
 * ETIMEDOUT) for an edge that has come; it meets the reset at once. */
START_TEST(last_bytes_with_a_reset_in_one_edge)
{
    int ours, peer;
    struct reader r = {0};
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    hub_task *t = drained_reader(&ours, &peer, &r, false);
    /* main runs, the hub does not: data and reset reach epoll as one
     * report (EPOLLIN|EPOLLERR|EPOLLHUP|EPOLLRDHUP) */
    ck_assert_int_eq(write(peer, "abc", 3), 3);
    ck_assert_int_eq(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    ck_assert_int_eq(close(peer), 0);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    ck_assert_msg(r.rc == -1 && r.err == ECONNRESET,
                  "recv after a reset: %d (%s), not ECONNRESET", r.rc, strerror(r.err));
    cosock_close(ours);
    hub_shutdown();
}
END_TEST

START_TEST(addresses_in_words)
{
    cosock_addr a = {.len = sizeof(struct sockaddr_in)};
    struct sockaddr_in *in = (struct sockaddr_in *)&a.ss;
    char buf[64];
    in->sin_family = AF_INET;
    in->sin_port = htons(8001);
    in->sin_addr.s_addr = htonl(0x7f000001);
    ck_assert_str_eq(cosock_addr_str(&a, buf, sizeof buf), "127.0.0.1:8001");
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.ss;
    memset(&a, 0, sizeof a);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(80);
    in6->sin6_addr.s6_addr[15] = 1;
    ck_assert_str_eq(cosock_addr_str(&a, buf, sizeof buf), "[::1]:80");
    ck_assert_str_eq(cosock_strerror(ETIMEDOUT), "timed out");
    ck_assert_str_eq(cosock_strerror(ECONNREFUSED), strerror(ECONNREFUSED));
}
END_TEST

static Suite *cosock_suite(void)
{
    Suite *s = suite_create("cosock");
    TCase *tc = tcase_create("cosock");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, echo_between_greenlets_of_one_thread);
    tcase_add_test(tc, four_mib_echo_arrives_whole_and_in_order);
    tcase_add_test(tc, half_close_still_gets_the_echo);
    tcase_add_test(tc, timeouts_and_timeout_zero);
    tcase_add_test(tc, echo_while_libevent_has_an_event_of_its_own);
    tcase_add_test(tc, two_readers_on_one_fd_is_ebusy);
    tcase_add_test(tc, calls_that_never_wait_still_let_others_run);
    tcase_add_test(tc, kill_or_close_wakes_a_waiting_recv);
    tcase_add_test(tc, connect_refused_and_bad_ports);
    tcase_add_test(tc, peer_that_never_reads_then_goes);
    tcase_add_test(tc, three_hundred_connections_in_one_thread);
    tcase_add_test(tc, many_tiny_messages_and_half_closes_lose_no_wakeup);
    tcase_add_test(tc, last_bytes_with_the_fin_in_one_edge);
    tcase_add_test(tc, last_bytes_with_the_fin_after_our_own_shutdown);
    tcase_add_test(tc, last_bytes_with_a_reset_in_one_edge);
    tcase_add_test(tc, addresses_in_words);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(cosock_suite)
