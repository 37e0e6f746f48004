/*
 * million - a million sleeping greenlets: wall time and peak RSS of
 *     04_sync_vs_async --async-only --tasks 1000000 >/dev/null
 * run as a child process, beside a baseline run the same way: bare
 * libevent with a million timers (event_new + evtimer_add each, the same
 * sleep, the same "Task N done" line printed to /dev/null as each fires),
 * i.e. the same work without greenlets, stacks or a scheduler.
 *
 * Peak RSS is the child's ru_maxrss from wait4. Each is run --repeat times,
 * alternating, and the best time is kept (the machine is shared: timings
 * are noisy); the RSS shown is the highest seen. The bytes per task are
 * what N tasks take beyond what one task takes (each program run once
 * with --tasks 1): the ~2.4 MiB every process has (libc, libevent, the
 * binary) is nobody's task, and counted in would add ~25 bytes to each
 * of 100,000. The whole processes' ratio is printed too.
 *
 * Sizes: 100,000 and 1,000,000 tasks (--big adds 10,000,000: ~2.2 GiB of
 * memory for the greenlets, 1.5 GiB for the timers, and a minute, not for
 * CI; --tasks N runs only N, 10,000 or more: below that the first slab
 * chunks and the shared stack are most of it; --quick only 100,000,
 * once). At each size it prints the cost per task in microseconds, (time - sleep) / tasks,
 * which should stay flat as the count grows, and the issue 12 targets
 * beside the figures: time <= 1.0x the bare timers, memory <= 1.5x,
 * <= 250 bytes per sleeping greenlet.
 */
#include "cli.h"

#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long ntasks, repeat = 3;
static double sleep_s = 0.5;
static bool quick, big;
static const char *lesson; /* path of 04_sync_vs_async */

static const cl_option options[] = {
    {"tasks", 'n', CL_OPT_INT, &ntasks, "N", "sleeping tasks: this size only, 10000 or more (default 100000, then 1000000)", 10000, 100000000},
    {"sleep", 's', CL_OPT_DOUBLE, &sleep_s, "SECONDS", "how long each sleeps (default 0.5, as in the lesson)", 0, 60},
    {"repeat", 'r', CL_OPT_INT, &repeat, "N", "runs of each; the best time is shown (default 3)", 1, 100},
    {"lesson", 0, CL_OPT_STRING, &lesson, "PATH", "the 04_sync_vs_async binary (default: found from this one)", 0, 0},
    {"big", 0, CL_OPT_FLAG, &big, NULL, "also 10000000 tasks (about 2.2 GiB, then 1.5 GiB; not for CI)", 0, 0},
    {"quick", 'q', CL_OPT_FLAG, &quick, NULL, "a short run for CI (100000 tasks, one run)", 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "million",
    .summary = "A million sleeping greenlets (lesson 04) beside a million bare libevent timers.",
    .options = options,
    .max_args = 0,
};

/* ---- the baseline, in a child ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    printf("Task %ld done\n", (long)(intptr_t)arg);
}

static void bare_libevent_timers(void)
{
    struct event_base *base = event_base_new();
    struct event **evs = malloc((size_t)ntasks * sizeof *evs);
    struct timeval tv = {(time_t)sleep_s, (suseconds_t)((sleep_s - (time_t)sleep_s) * 1e6)};
    if (!base || !evs)
        cl_fatal("baseline: out of memory");
    for (long i = 0; i < ntasks; i++) {
        evs[i] = event_new(base, -1, 0, on_timer, (void *)(intptr_t)i);
        if (!evs[i] || evtimer_add(evs[i], &tv) != 0)
            cl_fatal("baseline: event_new/evtimer_add failed at %ld", i);
    }
    event_base_dispatch(base); /* returns once every timer has fired */
    for (long i = 0; i < ntasks; i++)
        event_free(evs[i]);
    free(evs);
    event_base_free(base);
}

/* ---- running a child and measuring it ---- */

struct measure {
    double seconds;
    long maxrss_kib;
};

static void stdout_to_devnull(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
        _exit(127);
    close(fd);
}

/* argv != NULL: exec it; else run the baseline. */
static struct measure run_child(char *const argv[])
{
    struct measure m;
    struct rusage ru;
    int status;
    fflush(stdout);
    double t0 = cl_now();
    pid_t pid = fork();
    if (pid < 0)
        cl_err_exit("fork");
    if (pid == 0) {
        stdout_to_devnull();
        if (argv) {
            execv(argv[0], argv);
            _exit(127);
        }
        bare_libevent_timers();
        fflush(stdout);
        _exit(0);
    }
    if (wait4(pid, &status, 0, &ru) < 0)
        cl_err_exit("wait4");
    m.seconds = cl_now() - t0;
    m.maxrss_kib = ru.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        cl_fatal("%s failed (%s %d)", argv ? argv[0] : "baseline",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return m;
}

static void keep_best(struct measure *best, struct measure m, long r)
{
    if (r == 0 || m.seconds < best->seconds)
        best->seconds = m.seconds;
    if (r == 0 || m.maxrss_kib > best->maxrss_kib)
        best->maxrss_kib = m.maxrss_kib;
}

/* tests/bench/million -> 04_sync_vs_async/04_sync_vs_async */
static const char *default_lesson(void)
{
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 64);
    if (n <= 0)
        return "04_sync_vs_async/04_sync_vs_async";
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "../../04_sync_vs_async/04_sync_vs_async");
    return path;
}

/* Both programs with n tasks, each run `runs` times. */
static void measure_both(long n, long runs, struct measure *greenlets,
                         struct measure *timers)
{
    char tasks_arg[32], sleep_arg[32];
    snprintf(tasks_arg, sizeof tasks_arg, "%ld", n);
    snprintf(sleep_arg, sizeof sleep_arg, "%g", sleep_s);
    char *child_argv[] = {(char *)lesson, "--async-only", "--tasks", tasks_arg,
                          "--sleep", sleep_arg, NULL};

    ntasks = n; /* the baseline child reads it */
    for (long r = 0; r < runs; r++) {
        keep_best(greenlets, run_child(child_argv), r);
        keep_best(timers, run_child(NULL), r);
    }
}

/* Peak RSS with one task: what each process has before its tasks. */
static struct measure one_greenlet, one_timer;

static double bytes_per_task(const struct measure *m, const struct measure *one, long n)
{
    return (double)(m->maxrss_kib - one->maxrss_kib) * 1024.0 / (double)(n - 1);
}

/* One size: both runs, the figures, and the targets beside them. */
static void one_size(long n)
{
    struct measure greenlets = {0}, timers = {0};
    measure_both(n, repeat, &greenlets, &timers);

    double bytes_g = bytes_per_task(&greenlets, &one_greenlet, n);
    double bytes_t = bytes_per_task(&timers, &one_timer, n);
    printf("%ld tasks sleeping %g s, best of %ld runs (shared machine: noisy)\n", n,
           sleep_s, repeat);
    printf("  %-44s %7.2f s  %8.1f MiB peak RSS  %6.3f us/task\n",
           "04_sync_vs_async --async-only (greenlets)", greenlets.seconds,
           greenlets.maxrss_kib / 1024.0, (greenlets.seconds - sleep_s) * 1e6 / (double)n);
    printf("  %-44s %7.2f s  %8.1f MiB peak RSS  %6.3f us/task\n",
           "bare libevent: event_new + evtimer_add each", timers.seconds,
           timers.maxrss_kib / 1024.0, (timers.seconds - sleep_s) * 1e6 / (double)n);
    printf("  per task, beyond one task's process (%.1f and %.1f MiB): %.0f bytes (greenlets), "
           "%.0f bytes (bare timers); whole processes %.2fx\n",
           one_greenlet.maxrss_kib / 1024.0, one_timer.maxrss_kib / 1024.0, bytes_g, bytes_t,
           (double)greenlets.maxrss_kib / (double)timers.maxrss_kib);
    printf("  million: time %.2fx bare timers (target <= 1.0x), memory %.2fx (target <= 1.5x), "
           "%.0f B/greenlet (target <= 250)\n",
           greenlets.seconds / timers.seconds, bytes_g / bytes_t, bytes_g);
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    if (quick)
        repeat = 1;
    if (!lesson)
        lesson = default_lesson();
    if (access(lesson, X_OK) != 0)
        cl_err_exit("%s (build the lessons first: make at the top)", lesson);
    long n = ntasks; /* measure_both sets ntasks for the baseline child */
    measure_both(1, 1, &one_greenlet, &one_timer); /* the bytes per task are above these */
    if (n) {
        one_size(n);
        return 0;
    }
    one_size(100000);
    if (quick)
        return 0;
    one_size(1000000);
    if (big)
        one_size(10000000);
    return 0;
}
