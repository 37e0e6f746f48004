/*
 * setup.c - 07's scaffolding: options, signals, a blocking connect, the
 * local echo server, the interactive client and the idle connections.
 */
#include "setup.h"
#include "exchange.h"
#include "stats.h"

#include "cli.h"
#include "cosock.h"
#include "dial.h"
#include "hub.h"
#include "repr.h"
#include "rlimit.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHARED_STACKS_ABOVE 10000 /* as 04: past this, guarded stacks run out */

long threads = 100, coroutines, messages = 10, size, idle, port = 8001;
double duration, timeout_s = 5;
const char *host = "127.0.0.1";
bool quiet, interactive, local_server;
static const char *stacks = "auto", *size_arg;

/* Short options mean what they mean in the other lessons: -p and -q as
 * in 06, -t (--timeout) as in 05. */
static const cl_option options[] = {
    {"threads", 0, CL_OPT_INT, &threads, "N", N_("N OS threads, a connection each (default 100)"), 1, 10000},
    {"coroutines", 'c', CL_OPT_INT, &coroutines, "N", N_("N greenlets in one thread instead"), 1, 1000000},
    {"messages", 'm', CL_OPT_INT, &messages, "M", N_("messages per connection (default 10)"), 0, 1000000000},
    {"duration", 'd', CL_OPT_DOUBLE, &duration, "SECONDS", N_("send for this long instead of a count"), 0.01, 86400},
    {"size", 0, CL_OPT_STRING, &size_arg, "BYTES", N_("pad \"hello N\" with dots to this size (16K, 16M)"), 0, 0},
    {"host", 'H', CL_OPT_STRING, &host, "HOST", N_("server address (default 127.0.0.1)"), 0, 0},
    {"port", 'p', CL_OPT_INT, &port, "PORT", N_("server port (default 8001)"), 1, 65535},
    {"timeout", 't', CL_OPT_DOUBLE, &timeout_s, "SECONDS", N_("for a connect, and per message (default 5)"), 0.001, 3600},
    {"quiet", 'q', CL_OPT_FLAG, &quiet, NULL, N_("print only the summary"), 0, 0},
    {"idle", 0, CL_OPT_INT, &idle, "N", N_("also hold N connections open that never send"), 0, 1000000},
    {"stacks", 0, CL_OPT_STRING, &stacks, "KIND", N_("guarded, shared or auto (shared above 10000)"), 0, 0},
    {"interactive", 'i', CL_OPT_FLAG, &interactive, NULL, N_("read a line, send it, print the echo; repeat"), 0, 0},
    {"local-server", 0, CL_OPT_FLAG, &local_server, NULL, N_("start an echo server of its own on a free port"), 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "07_load_client",
    .summary = N_("Load an echo server (06) from N threads or N greenlets; check every echo."),
    .details = N_("Start 06_socket_server first (or give --local-server).\n"
               "Exit status 1 if a connection failed, an echo differed from what was\n"
               "sent, or a signal (Ctrl-C, SIGTERM) stopped the run before its end."),
    .options = options,
    .max_args = 0,
};

void load_parse_args(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (strcmp(stacks, "auto") && strcmp(stacks, "guarded") && strcmp(stacks, "shared"))
        cl_usage_err(_("--stacks wants guarded, shared or auto, not '%s'"), stacks);
    if (size_arg) {
        size_t n = strlen(size_arg);
        char unit = n ? size_arg[n - 1] : 0, num[32];
        int shift = unit == 'K' || unit == 'k' ? 10 : unit == 'M' || unit == 'm' ? 20 : 0;
        snprintf(num, sizeof num, "%.*s", (int)(shift ? n - 1 : n), size_arg);
        if (!cl_parse_long(num, 1, (64L << 20) >> shift, &size))
            cl_usage_err(_("--size wants bytes from 1 to 64M (K, M: KiB, MiB), not '%s'"), size_arg);
        size <<= shift;
    }
}

enum greenlet_stack_kind load_stack_kind(void)
{
    if (strcmp(stacks, "shared") == 0 ||
        (strcmp(stacks, "auto") == 0 && coroutines > SHARED_STACKS_ABOVE))
        return GREENLET_STACK_SHARED;
    return GREENLET_STACK_GUARDED;
}

/* ---- signals: a flag, and a pipe that every waiter can watch ---- */

int stop_fd = -1;

void stop_on_signals(void)
{
    if ((stop_fd = cl_stop_on_signals()) < 0)
        cl_err_exit("pipe");
    signal(SIGPIPE, SIG_IGN);
}

/* The run's greenlets wait on sockets and events, not on stop_fd: this
 * one waits on it for them, and kills them (their waits return ECANCELED). */
static void *watch_stop(void *arg)
{
    (void)arg;
    /* The handler sets cl_stop_signal before it writes: a write after this
     * test makes the pipe readable, news that hub_wait_fd does not miss. */
    while (!cl_stop_signal && hub_wait_fd(stop_fd, HUB_READ, HUB_FOREVER) == 0)
        ;
    for (long i = 0; cl_stop_signal && i < nclients; i++)
        if (clients[i].task)
            hub_kill(clients[i].task, 0);
    return NULL;
}

hub_task *spawn_stop_watcher(void)
{
    hub_task *t = hub_spawn(watch_stop, NULL);
    if (!t)
        cl_err_exit("spawn");
    return t;
}

void end_helper(hub_task *t)
{
    if (t) {
        hub_kill(t, HUB_FOREVER);
        hub_task_free(t);
    }
}

/* ---- a connect that a signal can stop ---- */

/* dial's wait for the handshake, which a stop signal cuts short
 * (ECANCELED ends the dial at once). */
static int writable_or_stopped(int fd, double seconds)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLOUT}, {.fd = stop_fd, .events = POLLIN}};
    int n = poll_until(p, 2, cl_now() + (seconds < 0 ? 86400 : seconds)); /* dial: < 0 is none */
    if (n > 0 && p[1].revents)
        errno = ECANCELED;
    else if (n == 0)
        errno = ETIMEDOUT;
    return n > 0 && !p[1].revents ? 0 : -1;
}

int blocking_connect(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    char serv[16];
    int fd, one = 1;

    snprintf(serv, sizeof serv, "%ld", port);
    if (getaddrinfo(host, serv, &hints, &res) != 0) {
        errno = EHOSTUNREACH;
        return -1;
    }
    fd = dial_addrinfo(res, cl_now() + timeout_s, writable_or_stopped);
    freeaddrinfo(res);
    if (fd < 0 && errno == ECANCELED)
        errno = EINTR; /* a signal stopped the run */
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
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

void local_server_start(void)
{
    if ((local.lfd = cosock_listen("127.0.0.1", 0, 0)) < 0)
        cl_fatal(_("local server: cannot listen on 127.0.0.1: %s"), cosock_strerror(errno));
    if (pthread_create(&local.thread, NULL, local_server_main, NULL) != 0)
        cl_fatal(_("cannot start the local server thread"));
    host = "127.0.0.1";
    port = cosock_local_port(local.lfd);
    cl_warn(_("local echo server on 127.0.0.1:%ld"), port);
}

void local_server_stop(void)
{
    shutdown(local.lfd, SHUT_RDWR); /* wakes its accept, which fails */
    pthread_join(local.thread, NULL);
}

/* ---- --interactive: the notes' one-line client ---- */

int interactive_client(void)
{
    struct client c = {.id = 1};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int fd = blocking_connect(), status = 0;

    if (fd < 0)
        cl_fatal(_("cannot connect to %s port %ld: %s"), host, port, cosock_strerror(errno));
    for (;;) {
        printf(">>:");
        fflush(stdout);
        if ((len = getline(&line, &cap, stdin)) < 0)
            break;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue; /* sending nothing would wait forever for nothing */
        c.msg = line;
        if (!(c.reply = malloc((size_t)len)))
            cl_fatal(_("out of memory"));
        if (thread_exchange(fd, &c, (size_t)len, cl_now()) != 0) {
            status = CL_EXIT_FAIL;
            free(c.reply);
            break;
        }
        fputs("Received ", stdout); /* print('Received', repr(data)) */
        cl_fputs_repr_bytes(stdout, c.reply, (size_t)len, 0);
        putchar('\n');
        free(c.reply);
    }
    putchar('\n');
    free(line);
    close(fd);
    if (cl_stop_signal) {
        cl_warn(_("stopped by %s"), cl_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        status = CL_EXIT_FAIL;
    }
    return status;
}

/* ---- --idle: connections that only sit there ---- */

static int *idle_fds;
static long idle_open_n;

/* Open them before any client starts, so that the server has accepted
 * them (its listen queue is first come, first served) before the first
 * message. Plain blocking connects, in either model: they are never read,
 * so they need no greenlet here, only a descriptor. */
long idle_open(void)
{
    long fd_limit = cl_raise_fd_limit();
    if (!(idle_fds = calloc((size_t)(idle ? idle : 1), sizeof *idle_fds)))
        cl_fatal(_("out of memory"));
    for (; idle_open_n < idle; idle_open_n++) {
        int fd = blocking_connect();
        if (fd < 0)
            cl_fatal(_("--idle %ld: cannot open idle connection %ld to %s port %ld: %s "
                     "(open-file limit %ld: `ulimit -n`; the server has one too)"),
                     idle, idle_open_n + 1, host, port, cosock_strerror(errno), fd_limit);
        idle_fds[idle_open_n] = fd;
    }
    return idle_open_n;
}

void idle_close(void)
{
    for (long i = 0; i < idle_open_n; i++)
        close(idle_fds[i]);
    free(idle_fds);
}
