/* scaffold.c - lesson 06's options, log, signals, summary, --demo and
 * --workers (see scaffold.h). */
#include "scaffold.h"

#include "cli.h"
#include "hub.h"
#include "repr.h"
#include "rlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_WORKERS = 64 };

static long port = 8001, max_conns, workers = 1;
static double idle_timeout = 300;
static const char *bind_host = "127.0.0.1", *backend;
static bool quiet, demo;

static const cl_option options[] = {
    {"port", 'p', CL_OPT_INT, &port, "PORT", N_("port to listen on (default 8001; 0: a free one)"), 0, 65535},
    {"bind", 'b', CL_OPT_STRING, &bind_host, "ADDR", N_("address to listen on (default 127.0.0.1)"), 0, 0},
    {"quiet", 'q', CL_OPT_FLAG, &quiet, NULL, N_("print only the start and the summary"), 0, 0},
    {"backend", 0, CL_OPT_STRING, &backend, "NAME", N_("epoll, poll or select (select: fds < 1024 only)"), 0, 0},
    {"max-conns", 0, CL_OPT_INT, &max_conns, "N", N_("beyond N open, close new ones at once (0: no limit)"), 0, 10000000},
    {"idle-timeout", 0, CL_OPT_DOUBLE, &idle_timeout, "SECONDS", N_("close clients silent this long (300; 0: never)"), 0, 1e9},
    {"workers", 0, CL_OPT_INT, &workers, "N", N_("N processes on one port, a hub each (default 1)"), 1, MAX_WORKERS},
    {"demo", 0, CL_OPT_FLAG, &demo, NULL, N_("serve one client of its own, then stop"), 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "06_socket_server",
    .summary = N_("Echo server: one greenlet per connection, all in one thread."),
    .details = N_("The first line gives the address and port (useful with --port 0).\n"
               "Ctrl-C (SIGINT) or SIGTERM stops it: connections are closed and a\n"
               "summary printed. Try it with 07_load_client, or: nc 127.0.0.1 8001"),
    .options = options,
    .max_args = 0,
};

/* What one process has done; a worker sends its own to the parent. */
struct srv_stats {
    int worker;
    pid_t pid;
    unsigned long accepted, refused, past_fd_setsize, idle_closed, log_dropped, peak;
    unsigned long long bytes;
};

static struct srv_stats st;

static struct {
    int lfd, port, stats_fd;
    bool stopping, starved;
    hub_pool *pool;
    char where[80]; /* "127.0.0.1:8001", "[::1]:8001" */
} srv = {.lfd = -1, .stats_fd = -1};

/* ---- the log: never stalls the server ----
 *
 * A stdout nobody reads (a full pipe, a terminal stopped with Ctrl-S)
 * would block the one thread in write(), and with it every client and the
 * signal handling. So when stdout or stderr is a pipe or a terminal, this
 * process opens it afresh, non-blocking (a file description of its own:
 * the shell's stays as it was), and a line that cannot be written now is
 * dropped and counted; the summary says how many. One write() per line,
 * so lines of several workers never mix (a pipe takes up to PIPE_BUF bytes
 * whole). */
static void reopen_nonblocking(int fd)
{
    struct stat sb;
    char path[32];
    int nfd;
    if (fstat(fd, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)))
        return; /* a regular file never blocks for long */
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if ((nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
        return; /* no /proc: keep the blocking one */
    dup2(nfd, fd);
    close(nfd);
}

static void write_line(const char *line, size_t len, int patience_ms)
{
    ssize_t n;
    while ((n = write(STDOUT_FILENO, line, len)) < 0 && errno == EAGAIN && patience_ms > 0) {
        struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};
        poll(&p, 1, patience_ms);
        patience_ms = 0;
    }
    if (n != (ssize_t)len)
        st.log_dropped++;
}

static void __attribute__((format(printf, 2, 3))) say_waiting(int patience_ms, const char *fmt, ...)
{
    char line[1024];
    int len = 0;
    va_list ap;
    if (st.worker)
        len = snprintf(line, sizeof line, "[worker %d] ", st.worker);
    va_start(ap, fmt);
    len += vsnprintf(line + len, sizeof line - (size_t)len - 1, fmt, ap);
    va_end(ap);
    if (len > (int)sizeof line - 2)
        len = (int)sizeof line - 2;
    line[len++] = '\n';
    write_line(line, (size_t)len, patience_ms);
}
#define say(...) say_waiting(0, __VA_ARGS__)

void srv_print_recv(const void *data, size_t n)
{
    char r[CL_REPR_SIZE(64)];
    if (!quiet) {
        cl_repr_bytes(r, sizeof r, data, n, 64);
        say("recv: %s", r);
    }
}

void srv_echoed(size_t n)
{
    st.bytes += n;
}

/* ---- stopping ---- */

static void stop_server(void)
{
    srv.stopping = true;
    hub_fd_forget(srv.lfd); /* the accept loop, waiting on it, wakes up */
}

bool srv_stopping(void)
{
    return srv.stopping;
}

/* SIGINT, SIGTERM: the handler writes to a pipe that a greenlet of the
 * hub waits on (cl_stop_on_signals, as 07 does), which then stops the
 * server. */
static int signal_fd = -1;
static hub_task *signal_watcher;

static void *watch_signals_task(void *arg)
{
    (void)arg;
    /* The handler sets stop_signal before it writes: a write after this
     * test makes the pipe readable, news that hub_wait_fd does not miss. */
    while (!cl_stop_signal && hub_wait_fd(signal_fd, HUB_READ, HUB_FOREVER) == 0)
        ;
    /* Ctrl-C with --workers: SIGINT, then the parent's SIGTERM: one line */
    if (cl_stop_signal && !srv.stopping) {
        cl_warn("%s: stopping", cl_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        stop_server();
    }
    return NULL;
}

static void watch_signals(void)
{
    hub_spawn_opts opts = {.name = "signals"};
    sigset_t set;
    if ((signal_fd = cl_stop_on_signals()) < 0 ||
        !(signal_watcher = hub_spawn_with(watch_signals_task, NULL, &opts)))
        cl_fatal(_("cannot watch SIGINT and SIGTERM"));
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL); /* blocked across --workers' fork */
}

/* The watcher ends, if a signal did not end it (--demo, a failure). */
static void unwatch_signals(void)
{
    if (!signal_watcher)
        return;
    hub_kill(signal_watcher, HUB_FOREVER);
    hub_task_free(signal_watcher);
    signal_watcher = NULL;
}

/* ---- connections ---- */

double srv_idle_timeout(void)
{
    return idle_timeout > 0 ? idle_timeout : HUB_FOREVER;
}

size_t srv_max_conns(void)
{
    return (size_t)max_conns;
}

static size_t open_now(void)
{
    return srv.pool ? hub_pool_count(srv.pool) : 0;
}

/* Close a client at once; the first refusal of each kind is said, the
 * rest counted for the summary (20,000 of them must not flood stderr). */
static struct srv_conn *refuse(int fd, unsigned long *count, const char *fmt, ...)
{
    if ((*count)++ == 0) {
        char why[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        cl_warn(_("%s (further refusals are counted in the summary)"), why);
    }
    if (fd >= 0)
        cosock_close(fd);
    return NULL;
}

struct srv_conn *srv_admit(hub_pool *pool, int fd, const cosock_addr *addr)
{
    char who[80];
    struct srv_conn *c;
    unsigned long id = ++st.accepted;

    srv.pool = pool;
    cosock_addr_str(addr, who, sizeof who);
    if (srv.starved) {
        cl_warn(_("accepting again (%zu connections open)"), open_now());
        srv.starved = false;
    }
    if (hub_pool_full(pool))
        return refuse(fd, &st.refused, _("connection %lu from %s refused: %zu open (--max-conns %ld)"),
                      id, who, open_now(), max_conns);
    if (!(c = malloc(sizeof *c))) {
        cl_warn(_("connection %lu from %s dropped: out of memory"), id, who);
        cosock_close(fd);
        return NULL;
    }
    c->fd = fd;
    c->id = id;
    if (!quiet)
        say(_("connection %lu from %s opened"), id, who);
    if (open_now() + 1 > st.peak)
        st.peak = open_now() + 1;
    return c;
}

void srv_spawn_failed(struct srv_conn *c, int err)
{
    cl_warn(_("connection %lu dropped: no greenlet: %s"), c->id, hub_strerror(err));
    cosock_close(c->fd);
    free(c);
}

void srv_closed(struct srv_conn *c, int err)
{
    if (err == ETIMEDOUT)
        st.idle_closed++;
    /* select's fd_set has FD_SETSIZE bits: the hub refuses to wait on a
     * descriptor past it (Debian's fortified FD_SET would abort the whole
     * process), so that one connection ends; the others go on. */
    if (err == ERANGE) {
        refuse(-1, &st.past_fd_setsize, _("connection %lu refused: descriptor %d: %s"), c->id,
               c->fd, hub_strerror(err));
        return;
    }
    if (quiet)
        return;
    if (err == 0)
        say(_("connection %lu closed"), c->id);
    else if (err == ECANCELED)
        say(_("connection %lu closed: the server is stopping"), c->id);
    else if (err == ETIMEDOUT)
        say(_("connection %lu closed: idle for %g s (--idle-timeout)"), c->id, idle_timeout);
    else
        say(_("connection %lu closed: %s"), c->id, cosock_strerror(err));
}

/* accept failed. Out of file descriptors, the pending connection stays
 * queued: pause rather than retry at once (a busy spin), and say so once;
 * srv_admit says when accepting works again. */
void srv_accept_failed(int err)
{
    if (srv.stopping) /* the listener was taken away */
        return;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        if (!srv.starved)
            cl_warn(_("accept: %s (%zu connections open): pausing new connections"),
                    strerror(err), open_now());
        srv.starved = true;
        hub_sleep(0.1);
    } else {
        cl_fatal("accept: %s", cosock_strerror(err));
    }
}

void srv_kill_all(hub_pool *pool)
{
    /* A greenlet that does not end within 10 s is left behind (the summary
     * is printed all the same): none should, every wait is cancelled. */
    if (hub_pool_killall(pool, 10) != 0)
        cl_warn(_("%zu connections did not close: %s"), hub_pool_count(pool), hub_strerror(errno));
}

/* ---- --demo: the notes' client, a greenlet in this same thread ---- */

static void *demo_client(void *arg)
{
    const char *host = arg;
    char msg[32], reply[32];
    int fd = cosock_connect(host, srv.port, 5);

    if (fd < 0) {
        cl_warn(_("demo: connect: %s"), cosock_strerror(errno));
    } else {
        for (int i = 0; i < 3; i++) {
            int len = snprintf(msg, sizeof msg, "hello %d", i);
            if (cosock_sendall(fd, msg, (size_t)len, 5) != 0 ||
                cosock_recv_exact(fd, reply, (size_t)len, 5) != len) {
                cl_warn(_("demo: no echo: %s"), cosock_strerror(errno));
                break;
            }
            say("[demo] recv from server: %.*s", len, reply);
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
    static const char *const any[][2] = {{"0.0.0.0", "127.0.0.1"}, {"::", "::1"}};
    const char *host = bind_host;
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++)
        if (strcmp(bind_host, any[i][0]) == 0)
            host = any[i][1];
    hub_spawn_opts opts = {.name = "demo", .detached = true};
    if (!hub_spawn_with(demo_client, (void *)host, &opts))
        cl_err_exit("spawn");
}

/* ---- listening ---- */

static int listen_here(int at_port, bool shared)
{
    int fd = shared ? cosock_listen_shared(bind_host, at_port, 0)
                    : cosock_listen(bind_host, at_port, 0);
    cosock_addr a = {.len = sizeof a.ss};
    if (fd < 0)
        cl_fatal(_("cannot listen on %s port %d: %s"), bind_host, at_port, cosock_strerror(errno));
    if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == 0)
        cosock_addr_str(&a, srv.where, sizeof srv.where);
    srv.port = cosock_local_port(fd);
    return fd;
}

int srv_listen(void)
{
    if (srv.lfd < 0) { /* a worker has made its own already */
        srv.lfd = listen_here((int)port, false);
        say(_("06_socket_server listening on %s"), srv.where);
        say(_("backend: %s"), hub_backend());
    }
    watch_signals(); /* SIGINT, SIGTERM: stop_server() */
    if (demo)
        start_demo();
    return srv.lfd;
}

/* ---- the summary ---- */

static void print_summary(const struct srv_stats *s)
{
    char extra[256] = "";
    size_t k = 0;
    /* Counts of trouble only when there was some: the line fits 80 columns. */
    if (s->refused)
        k += (size_t)snprintf(extra + k, sizeof extra - k, _("%lu refused (--max-conns), "),
                              s->refused);
    if (s->past_fd_setsize)
        k += (size_t)snprintf(extra + k, sizeof extra - k, _("%lu refused (past FD_SETSIZE), "),
                              s->past_fd_setsize);
    if (s->idle_closed)
        k += (size_t)snprintf(extra + k, sizeof extra - k, _("%lu closed idle (--idle-timeout), "),
                              s->idle_closed);
    if (s->log_dropped)
        snprintf(extra + k, sizeof extra - k, _("%lu log lines dropped (stdout full), "),
                 s->log_dropped);
    /* The summary may wait a little for stdout: it is the last line. */
    say_waiting(2000, _("summary: %lu connections, %s%llu bytes echoed, at most %lu at once"),
                s->accepted, extra, s->bytes, s->peak);
}

int srv_summary(void)
{
    unwatch_signals();
    if (srv.stats_fd >= 0) { /* a worker: the parent prints it */
        st.pid = getpid();
        return write(srv.stats_fd, &st, sizeof st) == (ssize_t)sizeof st ? 0 : 1;
    }
    print_summary(&st);
    return 0;
}

/* ---- --workers N: processes sharing the port, one hub each ---- */

static pid_t worker_pids[MAX_WORKERS];

static void forward_stop(int sig)
{
    (void)sig;
    for (long i = 0; i < workers; i++)
        if (worker_pids[i] > 0)
            kill(worker_pids[i], SIGTERM);
}

/* The parent: wait for every worker, then say how the connections spread. */
static void __attribute__((noreturn)) parent(int stats_fd)
{
    struct srv_stats total = {0}, w;
    int status, failed = 0;
    for (long left = workers; left > 0;) {
        if (waitpid(-1, &status, 0) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        left--;
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    while (read(stats_fd, &w, sizeof w) == (ssize_t)sizeof w) {
        say(_("worker %d (pid %d): %lu connections, %llu bytes echoed, at most %lu at once"),
            w.worker, (int)w.pid, w.accepted, w.bytes, w.peak);
        total.accepted += w.accepted, total.refused += w.refused;
        total.past_fd_setsize += w.past_fd_setsize, total.idle_closed += w.idle_closed;
        total.log_dropped += w.log_dropped, total.bytes += w.bytes, total.peak += w.peak;
    }
    total.log_dropped += st.log_dropped;
    print_summary(&total);
    if (failed)
        cl_warn(_("a worker failed (see above)"));
    hub_shutdown();
    exit(failed ? 1 : 0);
}

static void run_workers(void)
{
    int first = listen_here((int)port, true), ready[2], stats[2];
    sigset_t stop;
    char c;
    long up = 0;

    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(stats, O_CLOEXEC) != 0)
        cl_err_exit("pipe");
    sigprocmask(SIG_BLOCK, &stop, NULL); /* each unblocks once it watches them */
    for (long i = 0; i < workers; i++) {
        pid_t pid = fork();
        if (pid < 0)
            cl_err_exit("fork");
        if (pid == 0) { /* a worker: its own listener on the same port */
            close(ready[0]);
            close(stats[0]);
            st.worker = (int)i + 1;
            setvbuf(stderr, NULL, _IOLBF, BUFSIZ); /* one write a line: no mixing */
            srv.stats_fd = stats[1];
            srv.lfd = listen_here(srv.port, true);
            close(first);
            if (write(ready[1], "", 1) != 1)
                _exit(1);
            close(ready[1]);
            return;
        }
        worker_pids[i] = pid;
    }
    close(ready[1]);
    close(stats[1]);
    while (up < workers && read(ready[0], &c, 1) == 1)
        up++;
    close(first); /* every worker listens now: connections go to theirs */
    signal(SIGINT, forward_stop);
    signal(SIGTERM, forward_stop);
    sigprocmask(SIG_UNBLOCK, &stop, NULL);
    if (up < workers) {
        forward_stop(0);
        cl_warn(_("only %ld of %ld workers started"), up, workers);
    } else {
        say(_("06_socket_server listening on %s"), srv.where);
        say(_("backend: %s"), hub_backend());
        say(_("workers: %ld processes share the port (SO_REUSEPORT), one hub each"), workers);
    }
    parent(stats[0]);
}

void srv_setup(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (demo && workers > 1)
        cl_usage_err(_("--demo serves one client in one process: use it without --workers"));
    if (backend && hub_set_backend(backend) != 0)
        cl_usage_err(_("--backend %s: not one of this libevent's methods (epoll, poll, select)"),
                     backend);
    cl_raise_fd_limit();
    signal(SIGPIPE, SIG_IGN); /* and MSG_NOSIGNAL on every send */
    reopen_nonblocking(STDOUT_FILENO);
    reopen_nonblocking(STDERR_FILENO);
    if (workers > 1)
        run_workers(); /* returns in each worker only */
}
