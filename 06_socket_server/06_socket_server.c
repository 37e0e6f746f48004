/*
 * 06_socket_server - an echo server with one greenlet per connection, in
 * one thread.
 *
 * The accept loop spawns a greenlet for each client, and each greenlet
 * runs plain-looking blocking code: recv, print, send it back. The sockets
 * are cooperative (common/cosock.h): a recv with nothing to read switches
 * to the hub, which runs whichever other greenlet has data. Thousands of
 * clients are served at once by one thread and one epoll (or poll, or
 * select: --backend).
 *
 * Fixed where the notes' version is wrong: at end of file the greenlet
 * closes and ends (the notes' loop spins on empty reads forever), it sends
 * everything it read (sendall, not send), and a peer that has gone cannot
 * kill the process with SIGPIPE. A client that sends but never reads is
 * simply not read from while its replies cannot be sent (backpressure), so
 * memory stays bounded.
 *
 * Python (the notes, fixed):
 *     def server(port):
 *         s = socket.socket(); s.bind(('127.0.0.1', port)); s.listen(500)
 *         while True:
 *             cli, addr = s.accept()
 *             gevent.spawn(handle_request, cli)
 *     def handle_request(conn):
 *         while True:
 *             data = conn.recv(1024)
 *             if not data: break
 *             print("recv:", data)
 *             conn.sendall(data)
 *         conn.close()
 */
#include "cli.h"
#include "cosock.h"
#include "hub.h"
#include "repr.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h> /* FD_SETSIZE */

static long port = 8001;
static const char *bind_host = "127.0.0.1";
static bool quiet, demo;
static const char *backend;
static long max_conns;

static const cl_option options[] = {
    {"port", 'p', CL_OPT_INT, &port, "PORT", "port to listen on (default 8001; 0: a free one)", 0, 65535},
    {"bind", 'b', CL_OPT_STRING, &bind_host, "ADDR", "address to listen on (default 127.0.0.1)", 0, 0},
    {"quiet", 'q', CL_OPT_FLAG, &quiet, NULL, "print only the start and the summary (for load)", 0, 0},
    {"backend", 0, CL_OPT_STRING, &backend, "NAME", "libevent's method: epoll, poll or select (select refuses descriptors past FD_SETSIZE, 1024)", 0, 0},
    {"max-conns", 0, CL_OPT_INT, &max_conns, "N", "close new connections at once beyond N open (0: no limit)", 0, 10000000},
    {"demo", 0, CL_OPT_FLAG, &demo, NULL, "serve one client of its own (a greenlet in this thread), then stop", 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "06_socket_server",
    .summary = "Echo server: one greenlet per connection, all in one thread.",
    .details = "The first line gives the address and port (useful with --port 0).\n"
               "Ctrl-C (SIGINT) or SIGTERM stops it: connections are closed and a summary printed.\n"
               "Try it with 07_load_client, or: nc 127.0.0.1 8001",
    .options = options,
    .max_args = 0,
};

/* What the server has and has done; all of it touched by one thread. */
struct conn {
    int fd;
    unsigned long id;
    hub_task *task;
    struct conn *prev, *next;
    char name[32]; /* "conn-7", for --trace */
};

static struct {
    int lfd, port;
    bool stopping, starved;
    struct conn *conns;
    unsigned long accepted, refused, open, peak;
    unsigned long past_fd_setsize; /* refused: select cannot watch them */
    bool select_backend;
    unsigned long long bytes;
} srv = {.lfd = -1};

/* def handle_request(conn) */
static void *handle_request(void *arg)
{
    struct conn *c = arg;
    unsigned char buf[16384];
    int err = 0;

    for (;;) {
        ssize_t n;
        /* Killed while the server stops: a blocked recv returns ECANCELED,
         * but a client that keeps sending never lets it block: ask too. */
        if (hub_killed()) {
            err = ECANCELED;
            break;
        }
        n = cosock_recv(c->fd, buf, sizeof buf, HUB_FOREVER);
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            break;
        }
        if (!quiet) { /* print("recv:", data) */
            fputs("recv: ", stdout);
            cl_fputs_repr_bytes(stdout, buf, (size_t)n, 64);
            putchar('\n');
        }
        if (cosock_sendall(c->fd, buf, (size_t)n, HUB_FOREVER) != 0) {
            err = errno;
            break;
        }
        srv.bytes += (unsigned long long)n;
    }
    if (!quiet) {
        if (err == ECANCELED)
            printf("connection %lu closed: the server is stopping\n", c->id);
        else if (err)
            printf("connection %lu closed: %s\n", c->id, cosock_strerror(err));
        else
            printf("connection %lu closed\n", c->id);
    }
    cosock_close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv.open--;
    free(c);
    return NULL;
}

/* gevent.spawn(handle_request, cli), or a refusal over --max-conns */
static void serve(int fd, const cosock_addr *peer)
{
    char who[64];
    struct conn *c;
    unsigned long id = ++srv.accepted;

    cosock_addr_str(peer, who, sizeof who);
    if (srv.starved) {
        cl_warn("accepting again (%lu connections open)", srv.open);
        srv.starved = false;
    }
    if (max_conns && srv.open >= (unsigned long)max_conns) {
        srv.refused++;
        cl_warn("connection %lu from %s refused: %lu open (--max-conns %ld)", id, who,
                srv.open, max_conns);
        cosock_close(fd);
        return;
    }
    /* select's fd_set has FD_SETSIZE bits; Debian's fortified FD_SET
     * aborts the whole process on a descriptor past it. Refuse the one
     * connection instead. */
    if (srv.select_backend && fd >= FD_SETSIZE) {
        if (srv.past_fd_setsize++ == 0)
            cl_warn("connection %lu from %s refused: descriptor %d is past select's "
                    "FD_SETSIZE (%d); --backend poll or epoll has no such limit "
                    "(further refusals are counted in the summary)",
                    id, who, fd, FD_SETSIZE);
        cosock_close(fd);
        return;
    }
    if (!(c = calloc(1, sizeof *c))) {
        cl_warn("connection %lu from %s dropped: out of memory", id, who);
        cosock_close(fd);
        return;
    }
    c->fd = fd;
    c->id = id;
    snprintf(c->name, sizeof c->name, "conn-%lu", id);
    hub_spawn_opts opts = {.name = c->name, .detached = true};
    if (!(c->task = hub_spawn_with(handle_request, c, &opts))) {
        cl_warn("connection %lu from %s dropped: no greenlet: %s", id, who, strerror(errno));
        cosock_close(fd);
        free(c);
        return;
    }
    if (!quiet)
        printf("connection %lu from %s opened\n", id, who);
    c->next = srv.conns;
    if (srv.conns)
        srv.conns->prev = c;
    srv.conns = c;
    if (++srv.open > srv.peak)
        srv.peak = srv.open;
}

/* accept failed. Out of file descriptors, the pending connection stays
 * queued: pause rather than retry at once (a busy spin), and say so once;
 * serve() says when accepting works again. */
static void accept_failed(int err)
{
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        if (!srv.starved)
            cl_warn("accept: %s (%lu connections open): pausing new connections",
                    strerror(err), srv.open);
        srv.starved = true;
        hub_sleep(0.1);
    } else {
        cl_fatal("accept: %s", cosock_strerror(err));
    }
}

/* Stop accepting: the accept loop, waiting on the listener, wakes up. */
static void stop_server(void)
{
    srv.stopping = true;
    hub_fd_forget(srv.lfd);
}

/* SIGINT, SIGTERM: a libevent signal event, so this runs in the hub. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what, (void)arg;
    cl_warn("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    stop_server();
}

static struct event *signal_events[2];

static void watch_signals(void)
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        signal_events[i] = evsignal_new(hub_event_base(), sigs[i], on_signal, NULL);
        if (!signal_events[i] || evsignal_add(signal_events[i], NULL) != 0)
            cl_fatal("cannot watch SIGINT and SIGTERM");
    }
}

static void unwatch_signals(void)
{
    for (int i = 0; i < 2; i++)
        event_free(signal_events[i]);
}

/* --demo: the notes' client, a greenlet in this same thread. */
static void *demo_client(void *arg)
{
    const char *host = arg;
    char msg[32], reply[32];
    int fd = cosock_connect(host, srv.port, 5);

    if (fd < 0) {
        cl_warn("demo: connect: %s", cosock_strerror(errno));
    } else {
        for (int i = 0; i < 3; i++) {
            int len = snprintf(msg, sizeof msg, "hello %d", i);
            if (cosock_sendall(fd, msg, (size_t)len, 5) != 0 ||
                cosock_recv_exact(fd, reply, (size_t)len, 5) != len) {
                cl_warn("demo: no echo: %s", cosock_strerror(errno));
                break;
            }
            printf("[demo] recv from server: %.*s\n", len, reply);
        }
        /* Half-close, then read until the server has closed its side. */
        cosock_shutdown(fd, SHUT_WR);
        while (cosock_recv(fd, reply, sizeof reply, 5) > 0)
            ;
        cosock_close(fd);
    }
    stop_server();
    return NULL;
}

static void start_demo(void)
{
    const char *host = strcmp(bind_host, "0.0.0.0") == 0 ? "127.0.0.1" : bind_host;
    hub_spawn_opts opts = {.name = "demo", .detached = true};
    if (!hub_spawn_with(demo_client, (void *)host, &opts))
        cl_err_exit("spawn");
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (backend && hub_set_backend(backend) != 0)
        cl_usage_err("--backend %s: not one of this libevent's methods (epoll, poll, select)",
                     backend);
    cl_raise_fd_limit();
    signal(SIGPIPE, SIG_IGN); /* and MSG_NOSIGNAL on every send */
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* s = socket.socket(); s.bind((host, port)); s.listen() */
    srv.lfd = cosock_listen(bind_host, (int)port, 0);
    if (srv.lfd < 0)
        cl_fatal("cannot listen on %s port %ld: %s", bind_host, port, cosock_strerror(errno));
    srv.port = cosock_local_port(srv.lfd);
    printf("06_socket_server listening on %s:%d\n", bind_host, srv.port);
    printf("backend: %s\n", hub_backend());
    srv.select_backend = strcmp(hub_backend(), "select") == 0;

    watch_signals(); /* SIGINT, SIGTERM: stop_server() */
    if (demo)
        start_demo();

    /* while True: cli, addr = s.accept(); gevent.spawn(handle_request, cli) */
    while (!srv.stopping) {
        cosock_addr peer;
        int fd = cosock_accept(srv.lfd, &peer, HUB_FOREVER);
        if (fd >= 0)
            serve(fd, &peer);
        else if (!srv.stopping) /* stopping: the listener was taken away */
            accept_failed(errno);
    }

    /* Stopping: close the listener, end every connection's greenlet. */
    cosock_close(srv.lfd);
    for (struct conn *c = srv.conns; c; c = c->next)
        hub_kill(c->task, 0);
    hub_run();
    printf("summary: %lu connections, %lu refused (--max-conns), ", srv.accepted, srv.refused);
    if (srv.past_fd_setsize)
        printf("%lu refused (past FD_SETSIZE), ", srv.past_fd_setsize);
    printf("%llu bytes echoed, at most %lu at once\n", srv.bytes, srv.peak);
    unwatch_signals();
    hub_shutdown();
    return 0;
}
