/* trace.c - the trace switch and its one output format (see trace.h). */
#include "trace.h"
#include "clock.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY_LEN 96

bool cl_trace_on;
static double t0;

/* What the trace remembers of a greenlet between its switches, kept here
 * rather than in the greenlet so that tracing costs nothing when off. The
 * id tells a new greenlet from a freed one that had the same address. */
struct note {
    const greenlet *g;
    unsigned id;
    double left;         /* when it last switched away */
    char why[WHY_LEN];   /* why it did ("sleep 1.000 s") */
    char woke[WHY_LEN];  /* what woke it since, or "" */
    struct note *next;
};

/* Per thread, like greenlets and hubs. */
static __thread struct note **notes;
static __thread size_t notes_len, notes_count; /* len: a power of 2 */
static __thread char pending_why[WHY_LEN];     /* cl_trace_why, not yet used */
static __thread const greenlet *pending_owner; /* ... by this greenlet */

/* A thread's notes are freed when it ends (the main thread's stay until
 * exit, still reachable). */
static pthread_key_t notes_key;
static pthread_once_t notes_once = PTHREAD_ONCE_INIT;

static void notes_free(void *unused)
{
    size_t i;
    (void)unused;
    for (i = 0; i < notes_len; i++) {
        struct note *n = notes[i], *next;
        for (; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    free(notes);
    notes = NULL;
    notes_len = notes_count = 0;
}

static void notes_key_make(void)
{
    pthread_key_create(&notes_key, notes_free);
}

static size_t bucket(const greenlet *g, size_t len)
{
    uint64_t k = (uint64_t)(uintptr_t)g * 0x9E3779B97F4A7C15ull;
    return (size_t)(k >> 32) & (len - 1);
}

static void grow(void)
{
    size_t len = notes_len ? notes_len * 2 : 64, i;
    struct note **v = calloc(len, sizeof *v);
    if (!v)
        return; /* longer chains, still correct */
    for (i = 0; i < notes_len; i++) {
        struct note *n = notes[i], *next;
        for (; n; n = next) {
            size_t b = bucket(n->g, len);
            next = n->next;
            n->next = v[b];
            v[b] = n;
        }
    }
    free(notes);
    if (!notes) { /* this thread's first note */
        pthread_once(&notes_once, notes_key_make);
        pthread_setspecific(notes_key, v);
    }
    notes = v;
    notes_len = len;
}

/* g's note, made if `make`; NULL if there is none (or no memory). */
static struct note *note_of(const greenlet *g, bool make)
{
    struct note *n;
    if (notes_len) {
        for (n = notes[bucket(g, notes_len)]; n; n = n->next) {
            if (n->g != g)
                continue;
            if (n->id != g->id) { /* a new greenlet where a freed one was */
                n->id = g->id;
                n->left = 0;
                n->why[0] = n->woke[0] = '\0';
                if (!make)
                    return NULL;
            }
            return n;
        }
    }
    if (!make)
        return NULL;
    if (notes_count >= notes_len)
        grow();
    if (!notes_len || !(n = calloc(1, sizeof *n)))
        return NULL;
    n->g = g;
    n->id = g->id;
    n->next = notes[bucket(g, notes_len)];
    notes[bucket(g, notes_len)] = n;
    notes_count++;
    return n;
}

static void note_drop(const greenlet *g)
{
    struct note **p;
    if (!notes_len)
        return;
    for (p = &notes[bucket(g, notes_len)]; *p; p = &(*p)->next) {
        if ((*p)->g == g) {
            struct note *n = *p;
            *p = n->next;
            free(n);
            notes_count--;
            return;
        }
    }
}

/* The one line format: time, who runs, "->" and who runs next (or blanks
 * for an event that is not a switch), why. Written in one call, so that
 * lines from several threads do not mix. */
static void line(double when, const greenlet *from, const greenlet *to,
                 const char *why)
{
    /* Names are never cut; the columns widen to the longest seen (up to
     * 40), so that the lines after a long name line up again. */
    static __thread int width = 12;
    char a[32], b[32], buf[WHY_LEN * 4];
    const char *fa = greenlet_name(from, a, sizeof a);
    const char *tb = to ? greenlet_name(to, b, sizeof b) : "";
    int w = (int)(strlen(fa) > strlen(tb) ? strlen(fa) : strlen(tb));
    if (w > width)
        width = w < 40 ? w : 40;
    /* Whatever the lesson printed so far comes first, on a shared terminal
     * or file: stdout's content is unchanged, only flushed sooner. */
    fflush(stdout);
    snprintf(buf, sizeof buf, "%10.6f  %-*s %-2s %-*s %s\n", when, width, fa,
             to ? "->" : "", width, tb, why);
    fputs(buf, stderr);
}

static void on_switch(greenlet *from, greenlet *to)
{
    char why[WHY_LEN * 2 + 32];
    double now = cl_trace_clock();
    struct note *nt = note_of(to, false);

    if (from->state == GREENLET_DEAD) {
        snprintf(why, sizeof why, "ended");
        note_drop(from);
    } else {
        struct note *nf = note_of(from, true);
        if (from != pending_owner)
            pending_why[0] = '\0'; /* left by a call that did not block */
        if (nf) {
            nf->left = now;
            memcpy(nf->why, pending_why, sizeof nf->why);
        }
        if (nt && nt->woke[0] && nt->why[0])
            /* a reminder of what it waited for: its why up to a comma */
            snprintf(why, sizeof why, "woke: %s (%.*s, after %.3f s)",
                     nt->woke, (int)strcspn(nt->why, ","), nt->why,
                     now - nt->left);
        else if (nt && nt->woke[0])
            snprintf(why, sizeof why, "woke: %s (after %.3f s)", nt->woke,
                     now - nt->left);
        else if (pending_why[0])
            snprintf(why, sizeof why, "%s", pending_why);
        else if (!nt && to != greenlet_main())
            snprintf(why, sizeof why, "start");
        else
            snprintf(why, sizeof why, "switch");
    }
    if (nt)
        nt->woke[0] = '\0';
    pending_why[0] = '\0';
    line(now, from, to, why);
}

void cl_trace_enable(bool on)
{
    if (on && t0 == 0) {
        t0 = cl_now();
        fprintf(stderr, "%10s  %-12s %-2s %-12s %s\n", "seconds", "running",
                "", "next", "why");
    }
    cl_trace_on = on;
    greenlet_set_switch_hook(on ? on_switch : NULL);
}

void cl_trace_from_env(void)
{
    const char *v = getenv("COROLAB_TRACE");
    if (v && *v && strcmp(v, "0") != 0)
        cl_trace_enable(true);
}

double cl_trace_clock(void)
{
    return cl_now() - t0;
}

void cl_tracef(const char *fmt, ...)
{
    char what[WHY_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    line(cl_trace_clock(), greenlet_current(), NULL, what);
}

void cl_trace_why(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pending_why, sizeof pending_why, fmt, ap);
    va_end(ap);
    pending_owner = greenlet_current();
}

void cl_trace_wake(const greenlet *g, const char *fmt, ...)
{
    struct note *n = note_of(g, true);
    va_list ap;
    if (!n)
        return;
    va_start(ap, fmt);
    vsnprintf(n->woke, sizeof n->woke, fmt, ap);
    va_end(ap);
}
