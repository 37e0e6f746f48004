/* trace.c - the trace switch and its one output format. */
#include "trace.h"
#include "cli.h"
#include "greenlet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cl_trace_on;
static double t0;

static void on_switch(greenlet *from, greenlet *to)
{
    char a[32], b[32];
    cl_tracef("switch %s -> %s", greenlet_name(from, a, sizeof a),
              greenlet_name(to, b, sizeof b));
}

void cl_trace_enable(bool on)
{
    cl_trace_on = on;
    if (on && t0 == 0)
        t0 = cl_now();
    greenlet_set_switch_hook(on ? on_switch : NULL);
}

void cl_trace_from_env(void)
{
    const char *v = getenv("COROLAB_TRACE");
    if (v && *v && strcmp(v, "0") != 0)
        cl_trace_enable(true);
}

void cl_tracef(const char *fmt, ...)
{
    char name[32];
    va_list ap;
    fprintf(stderr, "[%10.6f] %-12s ", cl_now() - t0,
            greenlet_name(greenlet_current(), name, sizeof name));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
