/*
 * trace.h - say what the core does, for students: each switch and why.
 *
 * Off by default and free when off: the switch hook is a NULL check on the
 * slow path of greenlet_switch (the inline fast path already steps aside
 * when a hook is set), and every trace point is one load and a predictable
 * branch. Turned on by a lesson's --trace or, for every lesson at once,
 * the environment variable COROLAB_TRACE=1. Lines go to stderr, so a
 * lesson's stdout (and its transcript) does not change.
 *
 * One line per switch, and a few for events that are not switches:
 *
 *       0.000021  main                       spawn greenlet-2
 *       0.000062  main         -> hub          join greenlet-2
 *       0.000119  hub          -> greenlet-2   start
 *       0.000137  greenlet-2   -> hub          sleep 2.000 s, until 2.000137
 *       1.001296  hub          -> greenlet-3   woke: timer (sleep 1.000 s, after 1.001 s)
 *       1.001304  greenlet-3   -> hub          ended
 *
 * seconds since tracing began, who runs, who runs next, and why. The why
 * of a switch away comes from the blocking call (cl_trace_why); the why of
 * a switch into a greenlet comes from whatever woke it (cl_trace_wake),
 * followed by what it had been waiting for and for how long.
 *
 * In Chinese (issue 15) the titles and the whys are translated and the
 * columns padded by display width (a CJK character takes two). Callers
 * give the whys in English, marked N_(): cl_trace_why, cl_tracef,
 * cl_trace_wake and cl_trace_phase translate them where they are printed,
 * and keep the English as the key (the picture's colours, the JSON's event
 * names, a phase's data-name). 01's "next", "send 1", "yield" are the
 * Python calls: not in the catalogue, they stay English.
 *
 * The same trace can go to a file instead or as well (--trace-file FILE,
 * or COROLAB_TRACE_FILE=FILE): FILE.json in the Trace Event Format that
 * chrome://tracing and ui.perfetto.dev open, FILE.svg (or FILE.html) a
 * picture with one lane per greenlet on a real time axis. See
 * trace_file.h. The file is written as the program exits.
 *
 * Once a second thread traces, each line gets a thread column (T1, T2...);
 * every thread's lines use the one clock.
 */
#ifndef CL_TRACE_H
#define CL_TRACE_H

#include <stdbool.h>

#include "greenlet.h"

extern bool cl_trace_on;

/* Turn tracing on or off; cl_trace_from_env() reads COROLAB_TRACE. */
void cl_trace_enable(bool on);
void cl_trace_from_env(void);

/* Write the trace to path as well (.json, .svg or .html). Returns NULL,
 * or why it cannot (an unknown extension, a file that cannot be made).
 * One file at a time: one opened before (COROLAB_TRACE_FILE's, before
 * the command line's --trace-file) is removed unwritten. */
const char *cl_trace_file(const char *path);

/* Finish and close the trace file now (done at exit otherwise). */
void cl_trace_file_close(void);

/* A named part of the run begins ("Synchronous", "Patched"): a line in
 * the text trace, a band across the picture. */
void cl_trace_phase(const char *name);

/* Seconds since tracing was turned on: the clock of the trace lines. */
double cl_trace_clock(void);

/* An event line that is not a switch (a spawn...), for the running
 * greenlet. */
void cl_tracef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Why the running greenlet is about to switch away ("sleep 1.000 s"):
 * printed on that switch's line, and again, in brackets, when it is
 * woken. Call it right before the blocking switch. */
void cl_trace_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What woke g ("timer", "fd 5 readable"): printed on the line of the next
 * switch into g. */
void cl_trace_wake(const greenlet *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
