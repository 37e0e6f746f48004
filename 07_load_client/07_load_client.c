/*
 * 07_load_client - many clients at once: OS threads, or greenlets.
 *
 * The notes' load test: each client connects, sends "hello COUNT", reads
 * the echo and prints it. --threads N runs N OS threads, each with its own
 * blocking socket (the notes' threading.Thread version); --coroutines N
 * runs the same clients as N greenlets in one thread, on cooperative
 * sockets (common/cosock.h). Same work, two models: compare the summary
 * lines, and how far each goes as N grows.
 *
 * Unlike the notes it stops by itself (--messages per connection, or
 * --duration), reads each echo in full (TCP may split it), checks it is
 * what was sent, and ends with a summary: connections, messages, bytes,
 * messages/s, latency percentiles, errors. Every client connects before
 * any sends, and none closes before all are done, so N connections really
 * are open at once. Exit status 1 on any error or mismatch.
 *
 * --idle N opens N more connections that never send, before the load and
 * until it ends: a server that must look at every connection on each
 * wait (select, poll) slows down with them; one on epoll does not.
 *
 * Python (the notes):
 *     def sock_conn():
 *         client = socket.socket()
 *         client.connect(("localhost", 8001))
 *         count = 0
 *         while True:
 *             client.send(("hello %s" % count).encode("utf-8"))
 *             data = client.recv(1024)
 *             print("[%s]recv from server:" % threading.get_ident(), data.decode())
 *             count += 1
 *     for i in range(100):
 *         threading.Thread(target=sock_conn).start()
 */
#include "cli.h"
#include "rlimit.h"
#include "cosock.h"
#include "hub.h"

#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long threads = 100, coroutines, messages = 10, size, idle;
static double duration, timeout_s = 5;
static const char *host = "127.0.0.1";
static long port = 8001;
static bool quiet, interactive, local_server;

static const cl_option options[] = {
    {"threads", 't', CL_OPT_INT, &threads, "N", "N OS threads, one blocking connection each (default 100)", 1, 10000},
    {"coroutines", 'c', CL_OPT_INT, &coroutines, "N", "N greenlets in one thread instead, one connection each", 1, 1000000},
    {"messages", 'm', CL_OPT_INT, &messages, "M", "messages per connection (default 10)", 0, 1000000000},
    {"duration", 'd', CL_OPT_DOUBLE, &duration, "SECONDS", "send for this long instead of a count", 0.01, 86400},
    {"idle", 0, CL_OPT_INT, &idle, "N", "also hold N idle connections open (connected, never sending) during the load", 0, 1000000},
    {"size", 's', CL_OPT_INT, &size, "B", "message size: \"hello N\" padded with dots (default: unpadded)", 1, 64 << 20},
    {"host", 'H', CL_OPT_STRING, &host, "HOST", "server address (default 127.0.0.1)", 0, 0},
    {"port", 'p', CL_OPT_INT, &port, "PORT", "server port (default 8001)", 1, 65535},
    {"timeout", 0, CL_OPT_DOUBLE, &timeout_s, "SECONDS", "connect and read timeout (default 5)", 0.001, 3600},
    {"quiet", 'q', CL_OPT_FLAG, &quiet, NULL, "print only the summary", 0, 0},
    {"interactive", 'i', CL_OPT_FLAG, &interactive, NULL, "the notes' one-line client: read a line, send it, print the echo", 0, 0},
    {"local-server", 0, CL_OPT_FLAG, &local_server, NULL, "start an echo server of its own on a free port (for a self-contained run)", 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "07_load_client",
    .summary = "Load an echo server (06) from N threads or N greenlets, and check every echo.",
    .details = "Start 06_socket_server first (or give --local-server).\n"
               "Exit status 1 if any connection failed or any echo differed from what was sent.",
    .options = options,
    .max_args = 0,
};

/* ---- latency: a log histogram, 50 buckets per decade from 1 us ---- */

#define HIST_BUCKETS 400 /* 1 us .. 100 s */

struct hist {
    uint32_t n[HIST_BUCKETS];
    double max;
};

static void hist_add(struct hist *h, double seconds)
{
    double us = seconds * 1e6;
    int b = us <= 1 ? 0 : (int)(log10(us) * 50);
    h->n[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
    if (seconds > h->max)
        h->max = seconds;
}

/* The upper edge of the bucket holding the q-th quantile, in ms. */
static double hist_quantile_ms(const struct hist *h, uint64_t total, double q)
{
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    for (int b = 0; b < HIST_BUCKETS; b++)
        if ((seen += h->n[b]) >= want && want > 0)
            return fmin(pow(10, (b + 1) / 50.0) / 1e3, h->max * 1e3);
    return 0;
}

/* ---- one client: the same code for threads and greenlets ---- */

struct client {
    int id;
    int fd;
    bool connected, failed;
    uint64_t sent, echoed, mismatched, bytes; /* read by the progress line */
    struct hist *lat;
    pthread_t thread;
};

/* How a client talks: blocking calls in a thread, cosock in a greenlet. */
struct io {
    int (*connect)(void);
    int (*sendall)(int fd, const void *buf, size_t len);
    ssize_t (*recv_exact)(int fd, void *buf, size_t len);
    int (*close)(int fd);
    void (*barrier)(int which); /* 0: all connected, 1: all done */
};

static const struct io *io;
static struct client *clients;
static long nclients;
static double t_start, t_end;
static volatile sig_atomic_t stop;
static int errors_shown;

/* One line per failure on stderr; after 10 they are only counted. */
static void client_error(struct client *c, const char *what, int err)
{
    c->failed = true;
    int shown = __atomic_fetch_add(&errors_shown, 1, __ATOMIC_RELAXED);
    if (shown < 10)
        cl_warn("[%d] %s: %s", c->id, what, err ? cosock_strerror(err) : "connection closed by the server");
    else if (shown == 10)
        cl_warn("(further errors are counted in the summary, not shown)");
}

/* "hello COUNT", padded with dots to --size bytes (or cut to it). */
static size_t make_message(char *buf, size_t cap, uint64_t count)
{
    size_t len = (size_t)snprintf(buf, cap, "hello %llu", (unsigned long long)count);
    if (size) {
        if ((size_t)size > len)
            memset(buf + len, '.', (size_t)size - len);
        len = (size_t)size;
    }
    return len;
}

static void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* def sock_conn() */
static void run_client(struct client *c)
{
    size_t cap = (size_t)(size > 32 ? size : 32) + 1;
    char *msg = malloc(cap), *reply = malloc(cap);

    if (!msg || !reply)
        cl_fatal("out of memory");
    c->fd = io->connect();
    if (c->fd < 0) {
        char what[300];
        snprintf(what, sizeof what, "connect to %s port %ld", host, port);
        client_error(c, what, errno);
    }
    c->connected = c->fd >= 0;
    io->barrier(0); /* everyone is connected (or has failed) */
    for (uint64_t count = 0; c->connected && !stop; count++) {
        if (duration ? cl_now() - t_start >= duration : count >= (uint64_t)messages)
            break;
        size_t len = make_message(msg, cap, count);
        double t0 = cl_now();
        ssize_t got;
        if (io->sendall(c->fd, msg, len) != 0) {
            client_error(c, "send", errno);
            break;
        }
        stat_add(&c->sent, 1);
        if ((got = io->recv_exact(c->fd, reply, len)) != (ssize_t)len) {
            client_error(c, "recv", got < 0 ? errno : 0);
            break;
        }
        hist_add(c->lat, cl_now() - t0);
        stat_add(&c->bytes, 2 * len);
        if (memcmp(msg, reply, len) != 0) {
            if (c->mismatched == 0)
                cl_warn("[%d] echo %llu differs from what was sent", c->id, (unsigned long long)count);
            stat_add(&c->mismatched, 1);
        } else {
            stat_add(&c->echoed, 1);
        }
        if (!quiet)
            printf("[%d] recv from server: %.*s\n", c->id, (int)(len < 64 ? len : 64), reply);
    }
    io->barrier(1); /* hold the connection until everyone is done */
    if (c->connected)
        io->close(c->fd);
    free(msg);
    free(reply);
}

/* ---- OS threads: blocking sockets ---- */

static pthread_barrier_t barriers[2];

/* A blocking socket connected to host:port. SO_SNDTIMEO bounds the
 * connect and each send, SO_RCVTIMEO each read (Linux). */
static int blocking_connect(void)
{
    struct timeval tv = {(time_t)timeout_s, (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6)};
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res, *ai;
    char serv[16];
    int fd = -1, err = EHOSTUNREACH, one = 1;

    snprintf(serv, sizeof serv, "%ld", port);
    if (getaddrinfo(host, serv, &hints, &res) != 0) {
        errno = EHOSTUNREACH;
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno == EINPROGRESS ? ETIMEDOUT : errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        errno = err;
    return fd;
}

static int thread_sendall(int fd, const void *buf, size_t len)
{
    for (size_t sent = 0; sent < len;) {
        ssize_t n = send(fd, (const char *)buf + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno == EAGAIN)
                errno = ETIMEDOUT; /* SO_SNDTIMEO passed */
            return -1;
        }
        sent += (size_t)n;
    }
    return 0;
}

static ssize_t thread_recv_exact(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno == EAGAIN)
                errno = ETIMEDOUT; /* SO_RCVTIMEO passed */
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void thread_barrier(int which)
{
    if (pthread_barrier_wait(&barriers[which]) == PTHREAD_BARRIER_SERIAL_THREAD)
        *(which ? &t_end : &t_start) = cl_now();
}

static const struct io thread_io = {blocking_connect, thread_sendall, thread_recv_exact, close,
                                    thread_barrier};

static int threads_done;

static void *thread_main(void *arg)
{
    run_client(arg);
    __atomic_fetch_add(&threads_done, 1, __ATOMIC_RELAXED);
    return NULL;
}

/* ---- greenlets: cooperative sockets ---- */

static hub_event *barrier_events[2];
static long barrier_arrived[2];

static int coro_connect(void)
{
    return cosock_connect(host, (int)port, timeout_s);
}

static int coro_sendall(int fd, const void *buf, size_t len)
{
    return cosock_sendall(fd, buf, len, timeout_s);
}

static ssize_t coro_recv_exact(int fd, void *buf, size_t len)
{
    return cosock_recv_exact(fd, buf, len, timeout_s);
}

static void coro_barrier(int which)
{
    if (++barrier_arrived[which] == nclients) {
        *(which ? &t_end : &t_start) = cl_now();
        hub_event_set(barrier_events[which]);
    } else {
        hub_event_wait(barrier_events[which], HUB_FOREVER);
    }
}

static const struct io coro_io = {coro_connect, coro_sendall, coro_recv_exact, cosock_close,
                                  coro_barrier};

static void *coro_main(void *arg)
{
    run_client(arg);
    return NULL;
}

/* ---- the live progress line (stderr, terminals only) ---- */

static void progress_line(void)
{
    uint64_t sent = 0;
    double t = t_start ? cl_now() - t_start : 0;
    for (long i = 0; i < nclients; i++)
        sent += __atomic_load_n(&clients[i].sent, __ATOMIC_RELAXED);
    fprintf(stderr, "\r  %llu messages, %.0f messages/s   ",
            (unsigned long long)sent, t > 0 ? (double)sent / t : 0.0);
}

static void *coro_progress(void *arg)
{
    (void)arg;
    while (hub_sleep(0.25) == 0)
        progress_line();
    return NULL;
}

/* ---- --local-server: an echo server on its own thread and hub ---- */

static struct {
    pthread_t thread;
    int lfd; /* made by main, served by the thread */
} local;

static void *local_echo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    ssize_t n;
    while ((n = cosock_recv(fd, buf, sizeof buf, HUB_FOREVER)) > 0)
        if (cosock_sendall(fd, buf, (size_t)n, HUB_FOREVER) != 0)
            break;
    cosock_close(fd);
    return NULL;
}

static void *local_server_main(void *arg)
{
    int fd;
    (void)arg;
    /* Until main shuts the listener down (accept then fails). */
    while ((fd = cosock_accept(local.lfd, NULL, HUB_FOREVER)) >= 0)
        if (!hub_spawn_with(local_echo, (void *)(intptr_t)fd,
                            &(hub_spawn_opts){.name = "echo", .detached = true}))
            cosock_close(fd);
    hub_run(); /* the echo greenlets end as their clients close */
    cosock_close(local.lfd);
    hub_shutdown();
    return NULL;
}

static void local_server_start(void)
{
    if ((local.lfd = cosock_listen("127.0.0.1", 0, 0)) < 0)
        cl_fatal("local server: cannot listen on 127.0.0.1: %s", cosock_strerror(errno));
    if (pthread_create(&local.thread, NULL, local_server_main, NULL) != 0)
        cl_fatal("cannot start the local server thread");
    host = "127.0.0.1";
    port = cosock_local_port(local.lfd);
    cl_warn("local echo server on 127.0.0.1:%ld", port);
}

static void local_server_stop(void)
{
    shutdown(local.lfd, SHUT_RDWR); /* wakes its accept, which fails */
    pthread_join(local.thread, NULL);
}

/* ---- --interactive: the notes' one-line client ---- */

static int interactive_client(void)
{
    char *line = NULL, *reply;
    size_t cap = 0;
    ssize_t len;
    int fd = blocking_connect();

    if (fd < 0)
        cl_fatal("cannot connect to %s port %ld: %s", host, port, cosock_strerror(errno));
    for (;;) {
        printf(">>:");
        fflush(stdout);
        if ((len = getline(&line, &cap, stdin)) < 0)
            break;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue; /* sending nothing would wait forever for nothing */
        if (!(reply = malloc((size_t)len)))
            cl_fatal("out of memory");
        if (thread_sendall(fd, line, (size_t)len) != 0 ||
            thread_recv_exact(fd, reply, (size_t)len) != len)
            cl_fatal("no echo from %s port %ld: %s", host, port,
                     errno ? cosock_strerror(errno) : "connection closed by the server");
        printf("Received b'%.*s'\n", (int)len, reply);
        free(reply);
    }
    putchar('\n');
    free(line);
    close(fd);
    return 0;
}

/* ---- --idle: connections that only sit there ---- */

static int *idle_fds;
static long idle_open_n;
static long fd_limit; /* RLIMIT_NOFILE after raising it, for error messages */

/* Open them before any client starts, so that the server has accepted
 * them (its listen queue is first come, first served) before the first
 * message. Plain blocking connects, in either model: they are never read,
 * so they need no greenlet here, only a descriptor. */
static void idle_open(void)
{
    if (!(idle_fds = calloc((size_t)idle, sizeof *idle_fds)))
        cl_fatal("out of memory");
    for (; idle_open_n < idle; idle_open_n++) {
        int fd = blocking_connect();
        if (fd < 0) {
            cl_fatal("--idle %ld: cannot open idle connection %ld to %s port %ld: %s "
                     "(open-file limit %ld: `ulimit -n`; the server has one too)",
                     idle, idle_open_n + 1, host, port, cosock_strerror(errno), fd_limit);
        }
        idle_fds[idle_open_n] = fd;
    }
}

static void idle_close(void)
{
    for (long i = 0; i < idle_open_n; i++)
        close(idle_fds[i]);
    free(idle_fds);
}

/* ---- the summary ---- */

static int summary(const char *model, struct hist *hists, int nhists)
{
    uint64_t sent = 0, echoed = 0, mismatched = 0, bytes = 0, lat_n = 0;
    long ok = 0, failed = 0;
    struct hist lat = {{0}, 0};
    double t = t_end > t_start ? t_end - t_start : 0;

    for (long i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        ok += c->connected;
        failed += c->failed;
        sent += c->sent;
        echoed += c->echoed;
        mismatched += c->mismatched;
        bytes += c->bytes;
    }
    for (int h = 0; h < nhists; h++) {
        for (int b = 0; b < HIST_BUCKETS; b++) {
            lat.n[b] += hists[h].n[b];
            lat_n += hists[h].n[b];
        }
        lat.max = fmax(lat.max, hists[h].max);
    }
    printf("load: %ld %s to %s:%ld, ", nclients, model, host, port);
    if (duration)
        printf("for %.2f s\n", duration);
    else
        printf("%ld messages each\n", messages);
    printf("connections: %ld opened, %ld failed\n", ok, nclients - ok);
    if (idle)
        printf("idle: %ld connections held open, never used\n", idle_open_n);
    printf("messages: %llu sent, %llu echoed, %llu mismatched\n", (unsigned long long)sent,
           (unsigned long long)echoed, (unsigned long long)mismatched);
    printf("bytes: %llu (both ways)\n", (unsigned long long)bytes);
    printf("time: %.3f s, %.0f messages/s\n", t, t > 0 ? (double)echoed / t : 0.0);
    printf("latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", hist_quantile_ms(&lat, lat_n, 0.50),
           hist_quantile_ms(&lat, lat_n, 0.99), lat.max * 1e3);
    printf("errors: %ld\n", failed);
    if (failed == 0 && mismatched == 0 && echoed == sent)
        printf("every echo matched what was sent\n");
    else
        printf("FAILED: %ld connections had errors, %llu echoes differed\n", failed,
               (unsigned long long)mismatched);
    return failed == 0 && mismatched == 0 ? 0 : CL_EXIT_FAIL;
}

/* ---- the two models ---- */

static void run_threads(struct hist *hists)
{
    bool tty = isatty(STDERR_FILENO);
    io = &thread_io;
    pthread_barrier_init(&barriers[0], NULL, (unsigned)nclients);
    pthread_barrier_init(&barriers[1], NULL, (unsigned)nclients);
    for (long i = 0; i < nclients; i++) {
        clients[i].lat = &hists[i];
        if (pthread_create(&clients[i].thread, NULL, thread_main, &clients[i]) != 0)
            cl_fatal("cannot start thread %ld of %ld (try fewer --threads)", i + 1, nclients);
    }
    while (tty && __atomic_load_n(&threads_done, __ATOMIC_RELAXED) < nclients) {
        usleep(250000);
        progress_line();
    }
    for (long i = 0; i < nclients; i++)
        pthread_join(clients[i].thread, NULL);
    if (tty)
        fputc('\n', stderr);
    pthread_barrier_destroy(&barriers[0]);
    pthread_barrier_destroy(&barriers[1]);
}

static void run_coroutines(struct hist *hist)
{
    hub_task **tasks = calloc((size_t)nclients, sizeof *tasks);
    hub_task *progress = NULL;
    io = &coro_io;
    barrier_events[0] = hub_event_new();
    barrier_events[1] = hub_event_new();
    if (!tasks || !barrier_events[0] || !barrier_events[1])
        cl_fatal("out of memory");
    for (long i = 0; i < nclients; i++) {
        clients[i].lat = hist; /* one thread: one histogram */
        if (!(tasks[i] = hub_spawn(coro_main, &clients[i])))
            cl_fatal("cannot spawn greenlet %ld of %ld: %s", i + 1, nclients, strerror(errno));
    }
    if (isatty(STDERR_FILENO) && !(progress = hub_spawn(coro_progress, NULL)))
        cl_err_exit("spawn");
    hub_joinall(tasks, (size_t)nclients, HUB_FOREVER);
    if (progress) {
        hub_kill(progress, HUB_FOREVER);
        hub_task_free(progress);
        fputc('\n', stderr);
    }
    for (long i = 0; i < nclients; i++)
        hub_task_free(tasks[i]);
    free(tasks);
    hub_event_free(barrier_events[0]);
    hub_event_free(barrier_events[1]);
    hub_shutdown();
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct hist *hists;
    int status;

    cl_parse_args(&prog, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    sigaction(SIGINT, &sa, NULL); /* stop sending, print the summary */
    sigaction(SIGTERM, &sa, NULL);
    fd_limit = cl_raise_fd_limit(); /* --threads/--coroutines/--idle in the thousands */
    if (local_server)
        local_server_start();
    if (interactive) {
        status = interactive_client();
    } else {
        nclients = coroutines ? coroutines : threads;
        clients = calloc((size_t)nclients, sizeof *clients);
        hists = calloc(coroutines ? 1 : (size_t)nclients, sizeof *hists);
        if (!clients || !hists)
            cl_fatal("out of memory");
        for (long i = 0; i < nclients; i++)
            clients[i].id = (int)i + 1;
        if (idle)
            idle_open();
        if (coroutines)
            run_coroutines(hists);
        else
            run_threads(hists);
        idle_close();
        status = summary(coroutines ? "greenlets" : "threads", hists,
                         coroutines ? 1 : (int)nclients);
        free(hists);
        free(clients);
    }
    if (local_server)
        local_server_stop();
    return status;
}
