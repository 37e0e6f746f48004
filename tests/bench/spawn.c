/*
 * spawn - what a greenlet costs: spawn + run + join + free, per greenlet,
 * beside pthread_create + pthread_join in the same run.
 *
 * Three greenlet ways and the baseline:
 *   one by one   hub_spawn, hub_join, hub_task_free, then the next
 *                (like pthread_create then pthread_join each time)
 *   batch        spawn them all, joinall, free them all (guarded stacks)
 *   batch shared the same on the shared stack (GREENLET_STACK_SHARED)
 *   pthread      pthread_create + pthread_join, one by one
 * Each is run --repeat times and the best is kept: the machine is shared
 * and timings are noisy; the best run is the one least disturbed.
 */
#include "cli.h"
#include "hub.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long ngreenlets = 200000, nthreads = 20000, repeat = 5;
static bool quick;

static const cl_option options[] = {
    {"greenlets", 'n', CL_OPT_INT, &ngreenlets, "N", "greenlets per round (default 200000)", 1, 10000000},
    {"threads", 't', CL_OPT_INT, &nthreads, "N", "pthreads per round (default 20000)", 1, 1000000},
    {"repeat", 'r', CL_OPT_INT, &repeat, "N", "rounds; the best is shown (default 5)", 1, 1000},
    {"quick", 'q', CL_OPT_FLAG, &quick, NULL, "a short run for CI (10x fewer, 2 rounds)", 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "spawn",
    .summary = "Cost of spawn+run+join per greenlet, beside a pthread's.",
    .options = options,
    .max_args = 0,
};

static volatile long sink;

static void *greenlet_work(void *arg)
{
    sink += (long)(intptr_t)arg;
    return arg;
}

static void *thread_work(void *arg)
{
    sink += (long)(intptr_t)arg;
    return arg;
}

static void one_by_one(long n)
{
    for (long i = 0; i < n; i++) {
        hub_task *t = hub_spawn(greenlet_work, (void *)(intptr_t)i);
        if (!t)
            cl_err_exit("hub_spawn");
        if (hub_join(t, HUB_FOREVER) != 0)
            cl_fatal("hub_join: %s", hub_strerror(errno));
        hub_task_free(t);
    }
}

static hub_task **tasks;

static void batch(long n, enum greenlet_stack_kind kind)
{
    hub_spawn_opts opts = {.stack_kind = kind};
    for (long i = 0; i < n; i++)
        if (!(tasks[i] = hub_spawn_with(greenlet_work, (void *)(intptr_t)i, &opts)))
            cl_err_exit("hub_spawn of greenlet %ld", i);
    if (hub_joinall(tasks, (size_t)n, HUB_FOREVER) != 0)
        cl_fatal("hub_joinall: %s", hub_strerror(errno));
    for (long i = 0; i < n; i++)
        hub_task_free(tasks[i]);
}

static void batch_guarded(long n)
{
    batch(n, GREENLET_STACK_GUARDED);
}

static void batch_shared(long n)
{
    batch(n, GREENLET_STACK_SHARED);
}

static void pthreads(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t th;
        int err = pthread_create(&th, NULL, thread_work, (void *)(intptr_t)i);
        if (err) {
            errno = err;
            cl_err_exit("pthread_create");
        }
        pthread_join(th, NULL);
    }
}

/* Best time per item over `repeat` rounds, in nanoseconds. */
static double best_ns(void (*run)(long), long n)
{
    double best = 0;
    run(n < 1000 ? n : 1000); /* warm up: pools, page faults */
    for (long r = 0; r < repeat; r++) {
        double t0 = cl_now();
        run(n);
        double ns = (cl_now() - t0) * 1e9 / (double)n;
        if (r == 0 || ns < best)
            best = ns;
    }
    return best;
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (quick) {
        ngreenlets = ngreenlets / 10 > 0 ? ngreenlets / 10 : 1;
        nthreads = nthreads / 10 > 0 ? nthreads / 10 : 1;
        repeat = repeat < 2 ? repeat : 2;
    }
    /* guarded batches need two mappings per greenlet (vm.max_map_count) */
    long nbatch_guarded = ngreenlets < 20000 ? ngreenlets : 20000;
    tasks = malloc((size_t)ngreenlets * sizeof *tasks);
    if (!tasks)
        cl_err_exit("malloc");

    double thread_ns = best_ns(pthreads, nthreads);
    struct {
        const char *what;
        long n;
        double ns;
    } rows[] = {
        {"greenlet, one by one (guarded stack)", ngreenlets, best_ns(one_by_one, ngreenlets)},
        {"greenlet, batch (guarded stacks)", nbatch_guarded, best_ns(batch_guarded, nbatch_guarded)},
        {"greenlet, batch (shared stack)", ngreenlets, best_ns(batch_shared, ngreenlets)},
    };

    printf("spawn + run + join + free, best of %ld rounds (shared machine: noisy)\n", repeat);
    printf("  %-40s %9ld x %9.0f ns\n", "pthread_create + pthread_join", nthreads, thread_ns);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("  %-40s %9ld x %9.0f ns   %5.1fx cheaper than a pthread\n",
               rows[i].what, rows[i].n, rows[i].ns, thread_ns / rows[i].ns);
    free(tasks);
    hub_shutdown();
    return 0;
}
