/*
 * trace_file.h - the trace written to a file, for trace.c only.
 *
 * trace.c decides what happened (who switched to whom, and why); this
 * layer only writes it down, in the format the file's name asks for:
 *   .json  Trace Event Format (chrome://tracing, ui.perfetto.dev), written
 *          as the events come, so a run of any length costs no memory;
 *   .svg   a picture drawn at exit: one lane per greenlet, time on a real
 *          axis, a colour per state; the lanes kept are the first and last
 *          TF_LANES_FIRST / TF_LANES_LAST, each with at most a few thousand
 *          state changes (older ones are merged as the run grows);
 *   .html  the same picture inside a page.
 * Lanes are greenlets, numbered from 1 in the order the trace first meets
 * them, across all threads; a thread is a group of lanes (T1, T2...).
 * Times t are the text trace's (cl_trace_clock).
 */
#ifndef CL_TRACE_FILE_H
#define CL_TRACE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#define TF_LANES_FIRST 128
#define TF_LANES_LAST 128

/* What a lane is doing from a switch on, as the picture colours it. */
enum tf_state {
    TF_RUN,   /* running */
    TF_READY, /* switched away, could run again (an explicit switch) */
    TF_TIMER, /* waiting on a timer (sleep) */
    TF_FD,    /* waiting on a file descriptor */
    TF_WAIT,  /* waiting on another greenlet, an event or a queue */
    TF_DONE,  /* finished */
    TF_NSTATES
};

extern bool tf_on;

/* Open PATH for writing (the format from its extension) at trace time t.
 * On failure returns false with a reason in err. */
bool tf_open(const char *path, double t, char *err, size_t errlen);

/* A new lane, for a greenlet named name on thread `thread`. */
unsigned tf_lane_new(unsigned thread, const char *name, double t);

/* The whys are the words a person reads, translated (issue 15) by
 * trace.c; what a program reads stays English: the JSON's keys and event
 * names, the SVG's classes and a phase's data-name. */

/* At t, on thread `thread`, lane `from` stops running (and goes into
 * state `left`, because of left_why) and lane `to` runs (because of
 * in_why; `woke`: something woke it, in_why says what). */
void tf_switch(double t, unsigned thread, unsigned from, enum tf_state left,
               const char *left_why, unsigned to, const char *in_why, bool woke);

/* An instant event on a lane (a spawn): named by key's first word (the
 * English text), with what (its translation) as the reason. */
void tf_instant(double t, unsigned thread, unsigned lane, const char *key,
                const char *what);

/* A named part of the run starts at t, until the next one: name is its
 * key (the SVG's data-name), shown its words. */
void tf_phase(double t, const char *name, const char *shown);

/* Cut s before a UTF-8 sequence that a cut to fit left unfinished. */
void tf_utf8_trim(char *s);

/* The head of a why, up to its first comma or bracket (ASCII or CJK
 * fullwidth): "sleep 1.000 s" of "sleep 1.000 s, until 2.0". */
size_t tf_why_head(const char *why);

/* Finish and close the file. */
void tf_close(double t);

/* Close and remove the file, unwritten (--trace-file overrides
 * COROLAB_TRACE_FILE). */
void tf_abandon(void);

#endif
