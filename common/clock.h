/*
 * clock.h - the one clock of the core: CLOCK_MONOTONIC, in seconds for
 * people (cl_now) and in nanoseconds for the hub's timers (cl_now_ns).
 * Every timing in the lessons, the hub, the trace and the benchmarks reads
 * it, so their figures can be compared.
 */
#ifndef CL_CLOCK_H
#define CL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Seconds since an arbitrary fixed point. */
double cl_now(void);
/* The same, in nanoseconds. Inline: a blocking call with a timeout reads
 * it just before it parks, and each frame of a call chain below the
 * parked greenlet's is a stack line written for nothing (common/README.md,
 * "Echo at a thousand connections"). */
static inline uint64_t cl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
