/*
 * clock.h - the one clock of the core: CLOCK_MONOTONIC, in seconds for
 * people (cl_now) and in nanoseconds for the hub's timers (cl_now_ns).
 * Every timing in the lessons, the hub, the trace and the benchmarks reads
 * it, so their figures can be compared.
 */
#ifndef CL_CLOCK_H
#define CL_CLOCK_H

#include <stdint.h>

/* Seconds since an arbitrary fixed point. */
double cl_now(void);
/* The same, in nanoseconds. */
uint64_t cl_now_ns(void);

#endif
