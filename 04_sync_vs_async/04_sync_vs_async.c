/*
 * 04_sync_vs_async - the same tasks run one after another, then together.
 *
 * Each task sleeps 0.5 s and says it is done. Called one by one (the
 * synchronous way) nine tasks take 9 x 0.5 s; spawned as greenlets and
 * joined, ten take about 0.5 s, because every sleep switches to the hub
 * and the hub starts the next task while the timers run. --timeline draws
 * each task's sleep on one time axis for both runs, so the overlap, and
 * how much shorter the second run is, can be seen.
 *
 * It also shows how cheap a greenlet is: --async-only --tasks 1000000 runs
 * a million sleeping greenlets in one thread. Past 10,000 tasks they share
 * one stack (each keeps a copy of the few hundred bytes it uses while it
 * sleeps) instead of each mapping its own: see common/README.md, "Stacks".
 *
 * Python:
 *     def task(pid):
 *         gevent.sleep(0.5)
 *         print('Task %s done' % pid)
 *     def synchronous():
 *         for i in range(1, 10): task(i)
 *     def asynchronous():
 *         threads = [gevent.spawn(task, i) for i in range(10)]
 *         gevent.joinall(threads)
 */
#include "cli.h"
#include "hub.h"
#include "trace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHARED_STACKS_ABOVE 10000

static long ntasks = 10;
static double sleep_s = 0.5;
static bool async_only, timeline;
static const char *stacks = "auto";

static const cl_option options[] = {
    {"tasks", 'n', CL_OPT_INT, &ntasks, "N", N_("asynchronous tasks 0..N-1, synchronous 1..N-1 (default 10)"), 1, 100000000},
    {"sleep", 0, CL_OPT_DOUBLE, &sleep_s, "SECONDS", N_("how long each task sleeps (default 0.5)"), 0, 3600},
    {"async-only", 'a', CL_OPT_FLAG, &async_only, NULL, N_("skip the synchronous run"), 0, 0},
    {"timeline", 0, CL_OPT_FLAG, &timeline, NULL, N_("draw each task's sleep on a time axis"), 0, 0},
    {"stacks", 0, CL_OPT_STRING, &stacks, "KIND", N_("guarded, shared or auto (shared above 10000 tasks)"), 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "04_sync_vs_async",
    .summary = N_("The same sleeping tasks run synchronously, then as greenlets."),
    .options = options,
    .max_args = 0,
};

/* When each task slept, for --timeline: the synchronous run's task i at
 * ntasks + i, the asynchronous run's at i; both runs on one axis from
 * axis_from to axis_to. */
static double *slept_from, *slept_to, axis_from, axis_to;
static long slot_base;

/* For --timeline: now, as task pid's slot in `when`. Not inlined, and
 * task inlined into task_greenlet, so that the lesson's one frame under a
 * sleep (a SHARED greenlet keeps a copy of it while it sleeps) holds only
 * pid and a return address: 16 bytes, not 48, times a million sleepers. */
__attribute__((noinline)) static void note_time(double *when, long pid)
{
    when[slot_base + pid] = cl_now();
}

static inline void task(long pid)
{
    if (timeline)
        note_time(slept_from, pid);
    if (hub_sleep(sleep_s) != 0)
        cl_fatal("sleep: %s", hub_strerror(errno));
    if (timeline)
        note_time(slept_to, pid);
    printf("Task %ld done\n", pid);
}

static void *task_greenlet(void *pid)
{
    task((long)(intptr_t)pid);
    return NULL;
}

static void synchronous(void)
{
    for (long i = 1; i < ntasks; i++)
        task(i);
}

static void asynchronous(void)
{
    hub_spawn_opts opts = {.stack_kind = GREENLET_STACK_GUARDED};
    hub_task **threads = calloc((size_t)ntasks, sizeof *threads);

    if (strcmp(stacks, "shared") == 0 ||
        (strcmp(stacks, "auto") == 0 && ntasks > SHARED_STACKS_ABOVE))
        opts.stack_kind = GREENLET_STACK_SHARED;
    if (!threads)
        cl_err_exit("calloc");
    long spawned, stackless = 0;
    for (spawned = 0; spawned < ntasks; spawned++) {
        /* "Task 7", as --trace shows it (the hub copies it). Only when
         * tracing: a million sleepers would keep a million names. */
        char name[20];
        snprintf(name, sizeof name, "Task %d", (int)spawned); /* < 1e8 */
        opts.name = cl_trace_on ? name : NULL;
        if (!(threads[spawned] = hub_spawn_with(task_greenlet, (void *)(intptr_t)spawned, &opts))) {
            if (errno != ENOMEM && errno != EAGAIN)
                cl_err_exit(_("spawn of task %ld"), spawned);
            stackless = ntasks - spawned; /* no stack for it: stop here */
            break;
        }
    }
    if (hub_joinall(threads, (size_t)spawned, HUB_FOREVER) != 0 &&
        errno != ENOMEM && errno != EAGAIN) /* no stack: counted below */
        cl_fatal("joinall: %s", hub_strerror(errno));
    for (long i = 0; i < spawned; i++) {
        stackless += hub_task_error(threads[i]) != 0; /* never got a stack */
        hub_task_free(threads[i]);
    }
    free(threads);
    if (stackless)
        cl_fatal(_("%ld of %ld tasks could not get a stack (each guarded stack "
                   "is two of the %s memory mappings a process may have): "
                   "try --stacks shared"), stackless, ntasks, "65530");
}

/* One bar per task: '#' where it slept, on the one axis of both runs. */
static void draw_timeline(const char *name, long first, long base)
{
    const int width = 50;
    double t0 = axis_from, span = axis_to > t0 ? axis_to - t0 : 1;
    long shown = ntasks - first > 20 ? 20 : ntasks - first;

    printf(_("%s:\n"), name); /* a run's name as a heading */
    for (long i = first; i < first + shown; i++) {
        int a = (int)((slept_from[base + i] - t0) / span * width + 0.5);
        int b = (int)((slept_to[base + i] - t0) / span * width + 0.5);
        char bar[64];
        memset(bar, ' ', sizeof bar);
        for (int x = a; x < b && x < width; x++)
            bar[x] = '#';
        if (b <= a && a < width)
            bar[a] = '#';
        bar[width] = '\0';
        printf("Task %-3ld |%s%s%s|\n", i, cl_color(CL_GREEN), bar, cl_color(CL_RESET));
    }
    if (shown < ntasks - first)
        printf(_("(%ld more tasks not drawn)\n"), ntasks - first - shown);
}

static void phase(const char *name, void (*run)(void), long base)
{
    printf(_("%s:\n"), name); /* a run's name as a heading */
    cl_trace_phase(name);
    double t0 = cl_now();
    slot_base = base;
    run();
    double t1 = cl_now();
    printf(_("%s took %.2f s\n"), name, t1 - t0);
    if (axis_from == 0)
        axis_from = t0;
    axis_to = t1;
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (strcmp(stacks, "auto") && strcmp(stacks, "guarded") && strcmp(stacks, "shared"))
        cl_usage_err(_("--stacks wants guarded, shared or auto, not '%s'"), stacks);
    if (timeline) {
        slept_from = calloc(2 * (size_t)ntasks, sizeof *slept_from);
        slept_to = calloc(2 * (size_t)ntasks, sizeof *slept_to);
        if (!slept_from || !slept_to)
            cl_err_exit("calloc");
    }
    if (!async_only)
        phase(_("Synchronous"), synchronous, ntasks);
    phase(_("Asynchronous"), asynchronous, 0);
    if (timeline) {
        printf("\n%s\n%s          0 s%*s%.2f s%s\n", _("Timeline (both runs on one axis):"),
               cl_color(CL_DIM), 50 - 3, "", axis_to - axis_from, cl_color(CL_RESET));
        if (!async_only)
            draw_timeline(_("Synchronous"), 1, ntasks);
        draw_timeline(_("Asynchronous"), 0, 0);
    }
    free(slept_from);
    free(slept_to);
    hub_shutdown();
    return 0;
}
