/*
 * 03_gevent_sleep - two greenlets that sleep, spawned and joined.
 *
 * gevent's first example: func1 sleeps 2 s, func2 sleeps 1 s. A sleep does
 * not block the program: it switches to the hub, which runs the other
 * greenlet and comes back when the timer fires. So func2 wakes first, and
 * the whole run takes about 2 s, not 3.
 *
 * Python:
 *     def func1():                       def func2():
 *         print('... started ...')           print('... started ...')
 *         gevent.sleep(2)                    gevent.sleep(1)
 *         print('... woke up ...')           print('... woke up ...')
 *     gevent.joinall([gevent.spawn(func1), gevent.spawn(func2)])
 */
#include "cli.h"
#include "hub.h"

static double sleep1 = 2.0, sleep2 = 1.0;

static const cl_option options[] = {
    {"sleep1", 0, CL_OPT_DOUBLE, &sleep1, "SECONDS", N_("how long func1 sleeps (default 2)"), 0, 3600},
    {"sleep2", 0, CL_OPT_DOUBLE, &sleep2, "SECONDS", N_("how long func2 sleeps (default 1)"), 0, 3600},
    {0},
};

static const cl_program prog = {
    .name = "03_gevent_sleep",
    .summary = N_("gevent.spawn, gevent.sleep and gevent.joinall: two sleeps overlap."),
    .options = options,
    .max_args = 0,
};

/* what is a translated format taking who's name and the seconds. */
static void say(enum cl_color c, const char *who, const char *what, double s)
{
    printf("%s", cl_color(c));
    printf(what, who, s);
    printf("%s\n", cl_color(CL_RESET));
}

static void *func1(void *arg)
{
    (void)arg;
    say(CL_RED, "func1", _("%s: started, sleeping %g s"), sleep1);
    hub_sleep(sleep1);
    say(CL_RED, "func1", _("%s: woke up after %g s"), sleep1);
    return NULL;
}

static void *func2(void *arg)
{
    (void)arg;
    say(CL_GREEN, "func2", _("%s: started, sleeping %g s"), sleep2);
    hub_sleep(sleep2);
    say(CL_GREEN, "func2", _("%s: woke up after %g s"), sleep2);
    return NULL;
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    double start = cl_now();

    hub_task *tasks[] = {hub_spawn(func1, NULL), hub_spawn(func2, NULL)};
    if (!tasks[0] || !tasks[1])
        cl_err_exit("spawn");
    if (hub_joinall(tasks, 2, HUB_FOREVER) != 0)
        cl_fatal("joinall: %s", hub_strerror(errno));

    printf(_("joinall: both done in %.2f s (the sleeps overlapped: not %g s)\n"),
           cl_now() - start, sleep1 + sleep2);
    hub_task_free(tasks[0]);
    hub_task_free(tasks[1]);
    hub_shutdown();
    return 0;
}
