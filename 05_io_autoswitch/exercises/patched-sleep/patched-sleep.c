/*
 * patched-sleep - three greenlets that each call the C library's plain
 * usleep(), the way library code that knows nothing of greenlets would.
 * The exercise (../README.md): make the sleeps overlap without changing
 * f(), as lesson 05 does for its sockets.
 *
 * Python:
 *     def f(name):
 *         print('%s: sleeping 0.2 s' % name)
 *         time.sleep(0.2)
 *         print('%s: woke up' % name)
 *     gevent.joinall([gevent.spawn(f, n) for n in ('g1', 'g2', 'g3')])
 */
#include "cli.h"
#include "hub.h"
#include "monkey.h"

#include <stdio.h>
#include <unistd.h>

static const cl_program prog = {
    .name = "patched-sleep",
    .summary = "Three greenlets calling plain usleep(); the exercise: patch it.",
    .max_args = 0,
};

/* Library code: a plain blocking sleep. */
static void *f(void *name)
{
    printf("%s: sleeping 0.2 s\n", (const char *)name);
    usleep(200000);
    printf("%s: woke up\n", (const char *)name);
    return NULL;
}

int main(int argc, char **argv)
{
    cl_parse_args(&prog, argc, argv);
    double start = cl_now();
    hub_task *tasks[] = {hub_spawn_named(f, "g1", "g1"), hub_spawn_named(f, "g2", "g2"),
                         hub_spawn_named(f, "g3", "g3")};
    for (int i = 0; i < 3; i++)
        if (!tasks[i])
            cl_err_exit("spawn");
    if (hub_joinall(tasks, 3, HUB_FOREVER) != 0)
        cl_fatal("joinall: %s", hub_strerror(errno));
    printf("took %.2f s\n", cl_now() - start);
    for (int i = 0; i < 3; i++)
        hub_task_free(tasks[i]);
    hub_shutdown();
    return 0;
}
