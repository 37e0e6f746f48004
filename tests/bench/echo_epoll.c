/*
 * echo_epoll - the baselines 06 and 07 are measured against: a plain
 * single-threaded epoll echo server, and a hand-written epoll load client.
 * No greenlets, no libevent: one epoll_wait loop each.
 *
 *   echo_epoll --serve [--port P] [--edge]
 *                                        the server (P 0: a free port,
 *                                        printed on the first line)
 *   echo_epoll --drive --port P [--conns N] [--size B] [--seconds S]
 *                                        the client: N connections, each
 *                                        sends B bytes and waits for the
 *                                        echo, again and again, for S s;
 *                                        prints "N messages" and
 *                                        "X messages/s"
 *   echo_epoll [--quick]                 both: a server in a child process
 *                                        driven by the client (the bench
 *                                        Makefile's `make run`)
 *
 * The server is the usual level-triggered loop: one read per readiness
 * event into a 64 KiB buffer, written straight back; what cannot be
 * written at once is kept and the socket stops being read until it is
 * flushed (backpressure, like 06). So an echo costs epoll_wait (shared
 * by all ready sockets), read, write: the least a server of this kind
 * makes. With --edge the same loop is edge-triggered (EPOLLET): it reads
 * until a read comes back shorter than the buffer (the socket is
 * drained), and the kernel need not look at a socket again after each
 * epoll_wait that reported it. tests/bench/echo_bench.sh runs both beside
 * 06 and 07 and measures 06 against the faster.
 */
#include "cli.h"
#include "rlimit.h"
#include "cosock.h" /* cosock_local_port */

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static bool serve, drive, quick, edge;
static long port, conns = 100, size = 64;
static double seconds = 2;

static const cl_option options[] = {
    {"serve", 0, CL_OPT_FLAG, &serve, NULL, "run the echo server", 0, 0},
    {"edge", 'e', CL_OPT_FLAG, &edge, NULL, "server: edge-triggered (EPOLLET)", 0, 0},
    {"drive", 0, CL_OPT_FLAG, &drive, NULL, "run the load client against --port", 0, 0},
    {"port", 'p', CL_OPT_INT, &port, "PORT", "port (server: 0 picks a free one)", 0, 65535},
    {"conns", 'n', CL_OPT_INT, &conns, "N", "client connections (default 100)", 1, 100000},
    {"size", 's', CL_OPT_INT, &size, "B", "message size in bytes (default 64)", 1, 65536},
    {"seconds", 't', CL_OPT_DOUBLE, &seconds, "S", "how long the client sends (default 2)", 0.05, 3600},
    {"quick", 'q', CL_OPT_FLAG, &quick, NULL, "a short, rough self-run (CI smoke test)", 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "echo_epoll",
    .summary = "Baselines: a plain epoll echo server and a hand-written epoll load client.",
    .details = "Without --serve or --drive: both, the server in a child process.",
    .options = options,
    .max_args = 0,
};

/* ---- the server ---- */

struct conn {
    int fd;
    size_t pending, off; /* unsent part of buf */
    char buf[65536];
};

static int listen_on(long p)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        cl_err_exit("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, SOMAXCONN) != 0)
        cl_err_exit("bind/listen on port %ld", p);
    return fd;
}

static void drop(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* --edge adds EPOLLET to every watch of a connection. */
static void watch(int ep, int op, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events | (edge ? EPOLLET : 0), .data.ptr = c};
    epoll_ctl(ep, op, c->fd, &ev);
}

/* Write what is pending; false when the connection is gone. */
static bool flush(int ep, struct conn *c)
{
    while (c->pending) {
        ssize_t n = send(c->fd, c->buf + c->off, c->pending, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            watch(ep, EPOLL_CTL_MOD, c, EPOLLOUT); /* stop reading */
            return true;
        }
        if (n < 0)
            return false;
        c->off += (size_t)n;
        c->pending -= (size_t)n;
    }
    return true;
}

/* Echo what c has to read; false when the connection is gone. Level-
 * triggered: one read (the next epoll_wait reports the rest). Edge-
 * triggered: until a read comes back short, as no edge reports the rest. */
static bool echo(int ep, struct conn *c)
{
    do {
        ssize_t got = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (got < 0 && errno == EAGAIN)
            return true;
        if (got <= 0)
            return false;
        c->off = 0;
        c->pending = (size_t)got;
        if (!flush(ep, c))
            return false;
        if ((size_t)got < sizeof c->buf)
            return true; /* a stream socket: drained */
    } while (edge && !c->pending);
    return true;
}

static void run_server(int lfd)
{
    struct epoll_event evs[256], ev = {.events = EPOLLIN, .data.ptr = NULL};
    int ep = epoll_create1(0);

    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        cl_err_exit("epoll");
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) { /* the listener: take every pending connection */
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct conn *nc = malloc(sizeof *nc);
                    if (!nc)
                        cl_fatal("out of memory");
                    nc->fd = fd;
                    nc->pending = nc->off = 0;
                    watch(ep, EPOLL_CTL_ADD, nc, EPOLLIN);
                }
                continue;
            }
            if (c->pending) { /* writable again */
                if (!flush(ep, c)) {
                    drop(ep, c);
                    continue;
                }
                if (c->pending)
                    continue;
                /* under --edge, data that came meanwhile is reported by
                 * this MOD (it looks at the socket as it is now) */
                watch(ep, EPOLL_CTL_MOD, c, EPOLLIN);
                if (!edge)
                    continue;
            }
            if (!echo(ep, c))
                drop(ep, c);
        }
    }
}

/* ---- the client ---- */

struct client {
    int fd;
    size_t got; /* bytes of the current echo received */
};

static double run_client(long p, unsigned long long *count)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct client *cs = calloc((size_t)conns, sizeof *cs);
    struct epoll_event evs[256];
    char *msg = malloc((size_t)size), buf[65536];
    unsigned long long done = 0;
    int ep = epoll_create1(0), one = 1;
    double t0, end;

    if (!cs || !msg || ep < 0)
        cl_fatal("out of memory");
    memset(msg, 'x', (size_t)size);
    for (long i = 0; i < conns; i++) { /* blocking connects, then non-blocking */
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof a) != 0)
            cl_err_exit("connect to port %ld", p);
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(cs[i].fd, SOL_SOCKET, SO_RCVBUF, &(int){65536}, sizeof(int));
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    t0 = cl_now();
    end = t0 + seconds;
    for (long i = 0; i < conns; i++)
        if (send(cs[i].fd, msg, (size_t)size, MSG_NOSIGNAL) != size)
            cl_err_exit("send");
    for (;;) {
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n <= 0)
            cl_fatal("the server stopped answering");
        for (int i = 0; i < n; i++) {
            struct client *c = evs[i].data.ptr;
            ssize_t got = recv(c->fd, buf, sizeof buf, 0);
            if (got <= 0)
                cl_fatal("the server closed a connection");
            if ((c->got += (size_t)got) < (size_t)size)
                continue;
            c->got = 0;
            done++;
            if (send(c->fd, msg, (size_t)size, MSG_NOSIGNAL) != size)
                cl_err_exit("send");
        }
        if (cl_now() >= end) /* once per epoll_wait: a vDSO call, no system call */
            break;
    }
    *count = done;
    t0 = (double)done / (cl_now() - t0);
    for (long i = 0; i < conns; i++)
        close(cs[i].fd);
    free(cs);
    free(msg);
    close(ep);
    return t0;
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    cl_raise_fd_limit();
    if (serve) {
        int lfd = listen_on(port);
        printf("echo_epoll listening on 127.0.0.1:%d\n", cosock_local_port(lfd));
        fflush(stdout);
        run_server(lfd);
    } else if (drive) {
        if (!port)
            cl_usage_err("--drive needs --port");
        unsigned long long count;
        double rate = run_client(port, &count);
        printf("%llu messages\n%.0f messages/s\n", count, rate); /* echo_bench.sh reads both */
    } else { /* both: the server in a child */
        int lfd = listen_on(0), p = cosock_local_port(lfd);
        pid_t pid = fork();
        if (pid < 0)
            cl_err_exit("fork");
        if (pid == 0)
            run_server(lfd);
        close(lfd);
        if (quick)
            seconds = 0.3;
        unsigned long long count;
        double rate = run_client(p, &count);
        printf("echo_epoll: %ld connections, %ld-byte messages: %.0f messages/s\n", conns,
               size, rate);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    return 0;
}
