/*
 * 07_load_client - many clients at once: OS threads, or greenlets.
 *
 * The notes' load test: each client connects, sends "hello COUNT", reads
 * the echo and prints it. Here it is twice, side by side, the same shape:
 * sock_conn_thread() with blocking calls, run by N OS threads (the notes'
 * threading.Thread), and sock_conn_greenlet() with cooperative ones
 * (common/cosock.h), run by N greenlets in one thread. Same work, two
 * models: compare the summaries, and how far each goes as N grows.
 *
 * Unlike the notes it stops (--messages, --duration), reads each echo in
 * full while still sending (exchange.c), checks it, and ends with a
 * summary (stats.c). Every client connects before any sends, and none
 * closes before all are done, so N connections really are open at once.
 * Options, signals, --local-server, --interactive, --idle: setup.c.
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
#include "exchange.h"
#include "setup.h"
#include "stats.h"

#include "cli.h"
#include "rlimit.h"
#include "cosock.h"
#include "hub.h"

#include <stdlib.h>
#include <unistd.h>

/* Go on with message `count`, at time `now`? (--messages M, or
 * --duration S) The message's own clock reading serves: one fewer a
 * message. */
static bool more(uint64_t count, double now)
{
    if (cl_stop_signal)
        return false;
    return duration ? now - t_start < duration : count < (uint64_t)messages;
}

/* ---- the thread model: blocking calls, the kernel switches ---- */

static pthread_barrier_t all_connected, all_done;

static void thread_barrier(pthread_barrier_t *b, double *when)
{
    if (pthread_barrier_wait(b) == PTHREAD_BARRIER_SERIAL_THREAD)
        *when = cl_now();
}

/* def sock_conn(), in an OS thread */
static void *sock_conn_thread(void *arg)
{
    struct client *c = arg;
    int fd = blocking_connect();

    client_connected(c, fd);
    thread_barrier(&all_connected, &t_start);
    for (uint64_t count = 0; fd >= 0; count++) {
        size_t len = client_message(c, count);
        double t0 = cl_now();
        if (!more(count, t0))
            break;
        if (thread_exchange(fd, c, len, t0) != 0)
            break;
        client_echoed(c, count, len, cl_now() - t0);
    }
    thread_barrier(&all_done, &t_end);
    if (fd >= 0) {
        thread_finish(fd, c); /* nothing more may come */
        close(fd);
    }
    return NULL;
}

/* ---- the greenlet model: cooperative calls, the hub switches ---- */

static hub_event *connected_event, *done_event;
static long connected_n, done_n;
static enum greenlet_stack_kind stack_kind;

static void greenlet_barrier(hub_event *e, long *arrived, double *when)
{
    if (++*arrived == nclients) {
        *when = cl_now();
        hub_event_set(e);
    } else {
        hub_event_wait(e, HUB_FOREVER); /* or ECANCELED: the run is stopped */
    }
}

/* def sock_conn(), in a greenlet */
static void *sock_conn_greenlet(void *arg)
{
    struct client *c = arg;
    c->started = true;
    int fd = cosock_connect(host, (int)port, timeout_s);

    client_connected(c, fd);
    greenlet_barrier(connected_event, &connected_n, &t_start);
    for (uint64_t count = 0; fd >= 0; count++) {
        size_t len = client_message(c, count);
        double t0 = cl_now();
        if (!more(count, t0))
            break;
        if (greenlet_exchange(fd, c, len, t0, stack_kind) != 0)
            break;
        client_echoed(c, count, len, cl_now() - t0);
    }
    greenlet_barrier(done_event, &done_n, &t_end);
    if (fd >= 0) {
        greenlet_finish(fd, c);
        cosock_close(fd);
    }
    return NULL;
}

/* ---- starting N of them, and waiting for them ---- */

static void run_threads(void)
{
    bool tty = isatty(STDERR_FILENO);
    pthread_barrier_init(&all_connected, NULL, (unsigned)nclients);
    pthread_barrier_init(&all_done, NULL, (unsigned)nclients);
    for (long i = 0; i < nclients; i++)
        if (pthread_create(&clients[i].thread, NULL, sock_conn_thread, &clients[i]) != 0)
            cl_fatal(_("cannot start thread %ld of %ld (try fewer --threads)"), i + 1, nclients);
    for (long i = 0; i < nclients; i++) {
        while (tty && pthread_tryjoin_np(clients[i].thread, NULL) != 0) {
            progress_line();
            usleep(250000);
        }
        if (!tty)
            pthread_join(clients[i].thread, NULL);
    }
    if (tty)
        fputc('\n', stderr);
    pthread_barrier_destroy(&all_connected);
    pthread_barrier_destroy(&all_done);
}

static void run_greenlets(void)
{
    hub_spawn_opts opts = {.stack_kind = stack_kind = load_stack_kind(), .name = "sock_conn"};
    long spawned = 0;
    /* First, so that they get their stacks even if the clients run out. */
    hub_task *watcher = spawn_stop_watcher(), *progress = spawn_progress();

    connected_event = hub_event_new();
    done_event = hub_event_new();
    if (!connected_event || !done_event)
        cl_fatal(_("out of memory"));
    int spawn_err = 0;
    for (char name[32]; spawned < nclients; spawned++) {
        snprintf(name, sizeof name, "sock_conn [%ld]", spawned + 1); /* copied by the hub */
        opts.name = name;
        if (!(clients[spawned].task = hub_spawn_with(sock_conn_greenlet, &clients[spawned], &opts))) {
            spawn_err = errno;
            break;
        }
    }
    /* Let each run up to its first wait: one that got no stack never starts. */
    hub_sleep(0);
    for (long i = 0; i < nclients; i++)
        not_started += !clients[i].started;
    if (not_started) {
        cl_warn(_("%ld of %ld greenlets could not start: %s; try %s"), not_started, nclients,
                spawn_err ? hub_strerror(spawn_err) : _("no stack for them"),
                stack_kind == GREENLET_STACK_SHARED ? "fewer" : "--stacks shared");
        for (long i = 0; i < spawned; i++)
            hub_kill(clients[i].task, 0);
    }
    for (long i = 0; i < spawned; i++) {
        hub_join(clients[i].task, HUB_FOREVER);
        hub_task_free(clients[i].task);
        clients[i].task = NULL; /* the stop watcher may still run: not for it to kill */
    }
    end_helper(watcher);
    end_helper(progress);
    hub_event_free(connected_event);
    hub_event_free(done_event);
    hub_shutdown();
}

int main(int argc, char **argv)
{
    int status;

    load_parse_args(argc, argv);
    stop_on_signals();
    cl_raise_fd_limit(); /* --threads/--coroutines/--idle in the thousands */
    if (local_server)
        local_server_start();
    if (interactive) {
        status = interactive_client();
    } else {
        clients_new(coroutines ? coroutines : threads, coroutines ? 1 : (int)threads);
        long idle_n = idle_open();
        if (coroutines)
            run_greenlets();
        else
            run_threads();
        idle_close();
        status = summary(coroutines ? _("greenlets") : _("threads"), idle_n);
        clients_free();
    }
    if (local_server)
        local_server_stop();
    return status;
}
