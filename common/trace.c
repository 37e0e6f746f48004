/* trace.c - the trace switch and its two outputs: lines on stderr, and a
 * file (trace_file.c) (see trace.h). */
#include "trace.h"
#include "clock.h"
#include "i18n.h"
#include "trace_file.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY_LEN 96

bool cl_trace_on;
static bool text_on;  /* lines on stderr (--trace); the file is tf_on */
static double t0;

/* Threads are numbered T1, T2... in the order they first trace; the text
 * lines get a thread column once there is more than one. */
static unsigned threads_seen;
/* ...and once the header with that column is written: set, and read, with
 * stderr locked, so no line with a thread column comes before its header
 * and none without one after it. */
static bool threads_shown;
static unsigned session; /* trace files opened so far */
static __thread unsigned thread_no;

/* What the trace remembers of a greenlet between its switches, kept here
 * rather than in the greenlet so that tracing costs nothing when off. The
 * id tells a new greenlet from a freed one that had the same address. */
struct note {
    const greenlet *g;
    unsigned id;
    unsigned lane;       /* its lane in the trace file, 0 before it has one */
    unsigned session;    /* ... in which file (tests open several) */
    double left;         /* when it last switched away */
    char why[WHY_LEN];   /* why it did ("sleep 1.000 s") */
    char woke[WHY_LEN];  /* what woke it since, or "" */
    struct note *next;
};

/* Per thread, like greenlets and hubs. */
static __thread struct note **notes;
static __thread size_t notes_len, notes_count; /* len: a power of 2 */
static __thread char pending_why[WHY_LEN];     /* cl_trace_why, not yet used */
static __thread enum tf_state pending_state;   /* ... how the picture colours it */
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
                n->lane = 0;
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
 * lines from several threads do not mix. Columns are padded by display
 * width (cl_text_width: a CJK character takes two), so that the lines
 * stay aligned in Chinese. */

/* s padded with spaces to `width` display columns, on the right (or, if
 * `right`, on the left), into out. */
static const char *padded(const char *s, int width, bool right, char *out, size_t len)
{
    int pad = width - cl_text_width(s);
    if (pad < 0)
        pad = 0;
    if (right)
        snprintf(out, len, "%*s%s", pad, "", s);
    else
        snprintf(out, len, "%s%*s", s, pad, "");
    return out;
}

/* The header line, with or without the thread column. */
static void header(bool threads)
{
    /* TRANSLATORS: the --trace columns' titles, in this order, separated
     * by |: the seconds, the thread (T1, T2...), the greenlet running,
     * the one running next, why. Keep the five and the |s. */
    const char *titles = _("seconds|thread|running|next|why");
    char t[5][64], a[80], b[80], c[80], d[80];
    int i;
    for (i = 0; i < 5; i++) {
        size_t n = strcspn(titles, "|");
        snprintf(t[i], sizeof t[i], "%.*s", (int)n, titles);
        titles += titles[n] ? n + 1 : n;
    }
    fprintf(stderr, "%s  %s%s%s %-2s %s %s\n", padded(t[0], 10, true, a, sizeof a),
            threads ? padded(t[1], 6, false, b, sizeof b) : "", threads ? " " : "",
            padded(t[2], 12, false, c, sizeof c), "", padded(t[3], 12, false, d, sizeof d),
            t[4]);
}

static unsigned this_thread(void)
{
    if (!thread_no) {
        thread_no = __atomic_add_fetch(&threads_seen, 1, __ATOMIC_RELAXED);
        if (thread_no == 2 && text_on) {
            flockfile(stderr);
            header(true);
            threads_shown = true;
            funlockfile(stderr);
        }
    }
    return thread_no;
}

static void line(double when, const greenlet *from, const greenlet *to,
                 const char *why)
{
    /* Names are never cut; the columns widen to the longest seen (up to
     * 40), so that the lines after a long name line up again. */
    static __thread int width = 12;
    char a[32], b[32], pa[80], pb[80], buf[WHY_LEN * 4], thread[16] = "";
    const char *fa = greenlet_name(from, a, sizeof a);
    const char *tb = to ? greenlet_name(to, b, sizeof b) : "";
    int wa = cl_text_width(fa), wb = cl_text_width(tb), w = wa > wb ? wa : wb;
    if (w > width)
        width = w < 40 ? w : 40;
    /* Whatever the lesson printed so far comes first, on a shared terminal
     * or file: stdout's content is unchanged, only flushed sooner. */
    fflush(stdout);
    unsigned me = this_thread();
    flockfile(stderr);
    if (threads_shown)
        snprintf(thread, sizeof thread, "T%-5u ", me);
    snprintf(buf, sizeof buf, "%10.6f  %s%s %-2s %s %s\n", when, thread,
             padded(fa, width, false, pa, sizeof pa), to ? "->" : "",
             padded(tb, width, false, pb, sizeof pb), why);
    fputs(buf, stderr);
    funlockfile(stderr);
}

/* g's lane in the trace file, given a new one the first time. */
static unsigned lane_of(const greenlet *g, struct note *n)
{
    if (!n && !(n = note_of(g, true)))
        return 0;
    if (!n->lane || n->session != session) {
        n->session = session;
        char name[32];
        n->lane = tf_lane_new(this_thread(), greenlet_name(g, name, sizeof name),
                              cl_trace_clock());
    }
    return n->lane;
}

/* How the picture colours a greenlet that switched away because of why:
 * the English why (cl_trace_why's format, untranslated) is the key. */
static enum tf_state state_of(const char *why)
{
    if (strncmp(why, "sleep 0:", 8) == 0) /* "sleep 0: let the others run" */
        return TF_READY;
    if (strncmp(why, "sleep", 5) == 0)
        return TF_TIMER;
    if (strncmp(why, "wait fd", 7) == 0)
        return TF_FD;
    if (strncmp(why, "join", 4) == 0 || strncmp(why, "wait", 4) == 0 ||
        strncmp(why, "run until", 9) == 0)
        return TF_WAIT;
    return TF_READY;
}

static void on_switch(greenlet *from, greenlet *to)
{
    char why[WHY_LEN * 2 + 32], in[WHY_LEN * 2 + 32];
    const char *left;
    double now = cl_trace_clock();
    struct note *nt = note_of(to, false), *nf = NULL;
    unsigned from_lane = 0;
    bool started = !nt && to != greenlet_main(), woke = nt && nt->woke[0];

    (void)this_thread();
    if (from->state == GREENLET_DEAD) {
        left = _("ended");
        if (tf_on)
            from_lane = lane_of(from, NULL);
        note_drop(from);
    } else {
        nf = note_of(from, true);
        if (from != pending_owner)
            pending_why[0] = '\0'; /* left by a call that did not block */
        if (nf) {
            nf->left = now;
            memcpy(nf->why, pending_why, sizeof nf->why);
        }
        left = pending_why[0] ? pending_why : _("switch");
        if (tf_on)
            from_lane = lane_of(from, nf);
    }
    if (woke && nt->why[0])
        /* a reminder of what it waited for: its why up to a comma */
        snprintf(in, sizeof in, _("woke: %s (%.*s, after %.3f s)"), nt->woke,
                 (int)tf_why_head(nt->why), nt->why, now - nt->left);
    else if (woke)
        snprintf(in, sizeof in, _("woke: %s (after %.3f s)"), nt->woke,
                 now - nt->left);
    else
        snprintf(in, sizeof in, "%s", started ? _("start") : _("switch"));
    tf_utf8_trim(in);
    /* The line says the most telling of the two: what woke the next one,
     * else why this one left. */
    if (from->state == GREENLET_DEAD || woke || !pending_why[0])
        snprintf(why, sizeof why, "%s", from->state == GREENLET_DEAD ? left : in);
    else
        snprintf(why, sizeof why, "%s", pending_why);
    if (tf_on)
        tf_switch(now, this_thread(), from_lane,
                  from->state == GREENLET_DEAD ? TF_DONE
                  : pending_why[0]             ? pending_state
                                               : TF_READY,
                  left, lane_of(to, nt), in, woke);
    if (nt)
        nt->woke[0] = '\0';
    pending_why[0] = '\0';
    if (text_on)
        line(now, from, to, why);
}

static void trace_close(void)
{
    cl_trace_file_close();
}

static void start_clock(void)
{
    if (t0 == 0)
        t0 = cl_now();
}

void cl_trace_enable(bool on)
{
    if (on && !text_on) {
        start_clock();
        header(false);
    }
    text_on = on;
    cl_trace_on = text_on || tf_on;
    greenlet_set_switch_hook(cl_trace_on ? on_switch : NULL);
}

const char *cl_trace_file(const char *path)
{
    static char err[4200];
    static bool at_exit;
    tf_abandon(); /* one file: the last one asked for */
    start_clock();
    if (!tf_open(path, cl_trace_clock(), err, sizeof err))
        return err;
    session++;
    if (!at_exit)
        atexit(trace_close);
    at_exit = true;
    cl_trace_on = true;
    greenlet_set_switch_hook(on_switch);
    return NULL;
}

void cl_trace_file_close(void)
{
    if (!tf_on)
        return;
    tf_close(cl_trace_clock());
    cl_trace_on = text_on;
    greenlet_set_switch_hook(cl_trace_on ? on_switch : NULL);
}

void cl_trace_phase(const char *name)
{
    /* name is the key (the picture's data-name); the words are translated */
    const char *shown = *name ? _(name) : name;
    if (text_on)
        line(cl_trace_clock(), greenlet_current(), NULL, shown);
    if (tf_on)
        tf_phase(cl_trace_clock(), name, shown);
}

void cl_trace_from_env(void)
{
    const char *v = getenv("COROLAB_TRACE"), *err;
    if (v && *v && strcmp(v, "0") != 0)
        cl_trace_enable(true);
    v = getenv("COROLAB_TRACE_FILE");
    if (v && *v && !tf_on && (err = cl_trace_file(v))) {
        fprintf(stderr, _("%s: COROLAB_TRACE_FILE: %s\n"),
                program_invocation_short_name, err);
        exit(2);
    }
}

double cl_trace_clock(void)
{
    return cl_now() - t0;
}

/* The callers' formats are English, marked N_(): translated here, where
 * they are printed. The English text stays the key: of the picture's
 * colour (state_of) and of the JSON event's name (its first word). */
void cl_tracef(const char *fmt, ...)
{
    char what[WHY_LEN], key[WHY_LEN];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    vsnprintf(what, sizeof what, _(fmt), ap);
    vsnprintf(key, sizeof key, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    tf_utf8_trim(what);
    if (text_on)
        line(cl_trace_clock(), greenlet_current(), NULL, what);
    if (tf_on)
        tf_instant(cl_trace_clock(), this_thread(),
                   lane_of(greenlet_current(), NULL), key, what);
}

void cl_trace_why(const char *fmt, ...)
{
    char key[WHY_LEN];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    vsnprintf(pending_why, sizeof pending_why, _(fmt), ap);
    vsnprintf(key, sizeof key, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    tf_utf8_trim(pending_why);
    pending_state = state_of(key);
    pending_owner = greenlet_current();
}

void cl_trace_wake(const greenlet *g, const char *fmt, ...)
{
    struct note *n = note_of(g, true);
    va_list ap;
    if (!n)
        return;
    va_start(ap, fmt);
    vsnprintf(n->woke, sizeof n->woke, _(fmt), ap);
    va_end(ap);
    tf_utf8_trim(n->woke);
}
