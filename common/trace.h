/*
 * trace.h - say what the core does, for students: each switch and why.
 *
 * Off by default and free when off: every trace point is one load and a
 * predictable branch. Turned on by a lesson's --trace or, for every
 * lesson at once, the environment variable COROLAB_TRACE=1. Lines go to
 * stderr, so a lesson's stdout (and its transcript) does not change.
 */
#ifndef CL_TRACE_H
#define CL_TRACE_H

#include <stdbool.h>

extern bool cl_trace_on;

/* Turn tracing on or off; cl_trace_from_env() reads COROLAB_TRACE. */
void cl_trace_enable(bool on);
void cl_trace_from_env(void);

/* One trace line: "[  0.123456] <who>  <what>". who is the running
 * greenlet's name. */
void cl_tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CL_TRACE(...)                                   \
    do {                                                \
        if (__builtin_expect(cl_trace_on, 0))           \
            cl_tracef(__VA_ARGS__);                     \
    } while (0)

#endif
