/* trace_file.c - the trace as a file: Trace Event Format JSON, or an SVG
 * picture (see trace_file.h). One lock for everything: threads trace into
 * one file, and the lock is only taken when a file was asked for. */
#include "trace_file.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool tf_on;

enum format { JSON, SVG, HTML };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static enum format format;
static int fd = -1;
static pid_t owner;            /* a forked child writes nothing */
static char path_copy[4096];
/* Times are kept from when the file was opened (the picture's 0 s); the
 * JSON's are the text trace's, since tracing began: TS() adds it back. */
static double origin;
#define TS(t) (((t) + origin) * 1e6)

/* ---- output: our own buffer, so a forked child never flushes ours ---- */

static char obuf[1 << 16];
static size_t olen;
static bool write_failed;

static void oflush(void)
{
    size_t off = 0;
    if (getpid() != owner) { /* a forked child (06 --workers): not its file */
        olen = 0;
        return;
    }
    while (off < olen && !write_failed) {
        ssize_t n = write(fd, obuf + off, olen - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, _("corolab: writing the trace to %s: %s\n"), path_copy,
                    strerror(errno));
            write_failed = true;
        } else {
            off += (size_t)n;
        }
    }
    olen = 0;
}

static void oputs(const char *s)
{
    size_t n = strlen(s);
    if (olen + n > sizeof obuf)
        oflush();
    if (n > sizeof obuf) { /* never, for our lines; still correct */
        size_t off = 0;
        while (off < n) {
            size_t k = n - off < sizeof obuf ? n - off : sizeof obuf;
            memcpy(obuf, s + off, k);
            olen = k;
            oflush();
            off += k;
        }
        return;
    }
    memcpy(obuf + olen, s, n);
    olen += n;
}

static void oprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void oprintf(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    oputs(line);
}

/* s quoted for JSON or escaped for XML, into out (cut to fit). */
static const char *quote(const char *s, char *out, size_t len, bool xml)
{
    size_t o = 0;
    for (; *s && o + 8 < len; s++) {
        unsigned char c = (unsigned char)*s;
        const char *rep = NULL;
        char hex[8];
        if (xml)
            rep = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                : c == '"' ? "&quot;" : NULL;
        else if (c == '"' || c == '\\')
            rep = c == '"' ? "\\\"" : "\\\\";
        if (!rep && c < 0x20) {
            snprintf(hex, sizeof hex, xml ? " " : "\\u%04x", c);
            rep = hex;
        }
        if (rep) {
            size_t k = strlen(rep);
            memcpy(out + o, rep, k);
            o += k;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    tf_utf8_trim(out);
    return out;
}

void tf_utf8_trim(char *s)
{
    size_t n = strlen(s), i = n, need;
    unsigned char c;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
        i--; /* back over continuation bytes to the sequence's first */
    if (i == 0)
        return;
    c = (unsigned char)s[i - 1];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > 1 && n - (i - 1) < need)
        s[i - 1] = '\0';
}

size_t tf_why_head(const char *why)
{
    static const char *const stops[] = {"\xef\xbc\x8c", "\xef\xbc\x88"}; /* ，（ */
    size_t n = strcspn(why, ",(");
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        const char *p = strstr(why, stops[i]);
        if (p && (size_t)(p - why) < n)
            n = (size_t)(p - why);
    }
    return n;
}

/* ---- JSON: one event per line, as they come ---- */

static bool json_first = true;
static unsigned long flow_id;

/* What each thread is running, for the slice written when it stops. */
static __thread double run_since = -1;
static __thread char run_why[128];
static __thread unsigned run_lane, run_thread;
static __thread double thread_first = -1; /* when the trace met this thread */

/* One event: a line of the traceEvents array. */
#define json_event(...)                        \
    do {                                       \
        oputs(json_first ? "\n" : ",\n");      \
        json_first = false;                    \
        oprintf(__VA_ARGS__);                  \
    } while (0)

static void json_slice(double t, unsigned thread, unsigned lane, const char *left)
{
    char a[300], b[300];
    if (run_since < 0 || !lane)
        return;
    json_event("{\"ph\":\"X\",\"name\":\"running\",\"cat\":\"run\",\"pid\":%u,"
               "\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"in\":\"%s\","
               "\"out\":\"%s\"}}",
               thread, lane, TS(run_since), (t - run_since) * 1e6,
               quote(run_why, a, sizeof a, false), quote(left, b, sizeof b, false));
}

/* ---- SVG: lanes kept in memory, drawn at exit ---- */

struct seg {
    double t;         /* from when */
    unsigned char state;
    char label[47];   /* why, cut to fit (no malloc per change) */
};

struct lane {
    unsigned no;      /* lane number, 0 for an unused slot */
    unsigned thread;
    char name[32];
    struct seg *segs;
    size_t n, cap;
    double min_dt;    /* shorter segments are merged (see seg_add) */
};

#define SEGS_MAX 4096

static struct lane first_lanes[TF_LANES_FIRST];
static struct lane last_lanes[TF_LANES_LAST]; /* a ring: lane no % LAST */
static unsigned lanes_total;
static unsigned threads_max;
static double t_last;

struct phase {
    double t;
    char name[48];  /* the key: data-name, as the program named it */
    char shown[48]; /* its words, translated */
};
static struct phase phases[32];
static size_t nphases;

static void lane_clear(struct lane *l)
{
    free(l->segs);
    memset(l, 0, sizeof *l);
}

/* The kept lane numbered no, or NULL if it is not kept. */
static struct lane *lane_get(unsigned no)
{
    struct lane *l;
    if (no == 0)
        return NULL;
    if (no <= TF_LANES_FIRST)
        return &first_lanes[no - 1];
    l = &last_lanes[no % TF_LANES_LAST];
    return l->no == no ? l : NULL;
}

/* Keep at most SEGS_MAX changes per lane: when full, merge those shorter
 * than a 2048th of the lane's time so far into the one before, and from
 * then on replace a change that lasted less than that instead of adding. */
static void lane_compact(struct lane *l)
{
    size_t i, o = 1;
    double span = l->segs[l->n - 1].t - l->segs[0].t;
    l->min_dt = span / 2048;
    for (i = 1; i < l->n; i++) {
        double end = i + 1 < l->n ? l->segs[i + 1].t : l->segs[i].t;
        if (end - l->segs[i].t < l->min_dt && i + 1 < l->n)
            continue;
        l->segs[o++] = l->segs[i];
    }
    l->n = o;
}

static void seg_add(struct lane *l, double t, enum tf_state s, const char *label)
{
    struct seg *last = l->n ? &l->segs[l->n - 1] : NULL;
    if (last && last->state == TF_DONE)
        return;
    if (last && l->n > 1 && t - last->t < l->min_dt) {
        /* too short to see at this lane's scale: the new state wins */
        last->state = (unsigned char)s;
        snprintf(last->label, sizeof last->label, "%s", label);
        tf_utf8_trim(last->label);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct seg *v;
        if (l->n >= SEGS_MAX) {
            lane_compact(l);
            cap = l->cap;
        }
        if (cap > l->cap) {
            if (!(v = realloc(l->segs, cap * sizeof *v)))
                return; /* the picture misses a change, nothing else */
            l->segs = v;
            l->cap = cap;
        }
    }
    last = &l->segs[l->n++];
    last->t = t;
    last->state = (unsigned char)s;
    snprintf(last->label, sizeof last->label, "%s", label);
    tf_utf8_trim(last->label);
}

/* ---- the entry points ---- */

bool tf_open(const char *path, double t, char *err, size_t errlen)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcmp(dot, ".json") == 0)
        format = JSON;
    else if (dot && strcmp(dot, ".svg") == 0)
        format = SVG;
    else if (dot && (strcmp(dot, ".html") == 0 || strcmp(dot, ".htm") == 0))
        format = HTML;
    else {
        snprintf(err, errlen, _("'%s': name it FILE.json (Trace Event Format), "
                                 "FILE.svg or FILE.html (a picture)"), path);
        return false;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "'%s': %s", path, strerror(errno));
        return false;
    }
    snprintf(path_copy, sizeof path_copy, "%s", path);
    owner = getpid();
    origin = t;
    if (format == JSON)
        oputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
    tf_on = true;
    return true;
}

/* Threads can trace first out of order (T2's first lane before T1's):
 * every number up to the highest seen is named, once. */
static void thread_seen(unsigned thread)
{
    while (threads_max < thread) {
        unsigned n = ++threads_max;
        if (format == JSON) {
            char name[64], q[140];
            snprintf(name, sizeof name, _("thread T%u"), n);
            json_event("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,"
                       "\"args\":{\"name\":\"%s\"}}", n, quote(name, q, sizeof q, false));
            json_event("{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%u,"
                       "\"args\":{\"sort_index\":%u}}", n, n);
        }
    }
}

unsigned tf_lane_new(unsigned thread, const char *name, double t)
{
    unsigned no;
    char q[80];
    pthread_mutex_lock(&lock);
    t -= origin;
    no = ++lanes_total;
    if (thread_first < 0) /* the first thread ran since the trace began */
        thread_first = thread == 1 ? 0 : t;
    thread_seen(thread);
    if (format == JSON) {
        json_event("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,"
                   "\"args\":{\"name\":\"%s\"}}", thread, no,
                   quote(name, q, sizeof q, false));
    } else {
        struct lane *l = no <= TF_LANES_FIRST ? &first_lanes[no - 1]
                                              : &last_lanes[no % TF_LANES_LAST];
        lane_clear(l); /* the lane that fell out of the window */
        l->no = no;
        l->thread = thread;
        snprintf(l->name, sizeof l->name, "%s", name);
    }
    pthread_mutex_unlock(&lock);
    return no;
}

void tf_switch(double t, unsigned thread, unsigned from, enum tf_state left,
               const char *left_why, unsigned to, const char *in_why, bool woke)
{
    static const char *const kind[TF_NSTATES] = {
        [TF_RUN] = "switch", [TF_READY] = "switch", [TF_TIMER] = "wait",
        [TF_FD] = "wait", [TF_WAIT] = "wait", [TF_DONE] = "end"};
    t -= origin;
    pthread_mutex_lock(&lock);
    if (t > t_last)
        t_last = t;
    if (format == JSON) {
        char a[300], b[300];
        unsigned long id = ++flow_id;
        if (run_since < 0) { /* this thread's first switch */
            run_since = thread_first;
            snprintf(run_why, sizeof run_why, "%s", _("traced from here"));
        }
        if (run_since > t) /* clocks read before taking the lock: no negative slice */
            run_since = t;
        json_slice(t, thread, from, left_why);
        json_event("{\"ph\":\"i\",\"name\":\"%s\","
                   "\"pid\":%u,\"tid\":%u,\"ts\":%.3f,\"args\":{\"reason\":\"%s\"}}",
                   kind[left], thread, from, TS(t),
                   quote(left_why, a, sizeof a, false));
        if (woke)
            json_event("{\"ph\":\"i\",\"name\":\"wake\","
                       "\"pid\":%u,\"tid\":%u,\"ts\":%.3f,\"args\":{\"reason\":\"%s\"}}",
                       thread, to, TS(t), quote(in_why, b, sizeof b, false));
        json_event("{\"ph\":\"s\",\"name\":\"switch\",\"id\":%lu,"
                   "\"pid\":%u,\"tid\":%u,\"ts\":%.3f}", id, thread, from, TS(t));
        json_event("{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"switch\","
                   "\"id\":%lu,\"pid\":%u,\"tid\":%u,\"ts\":%.3f}", id, thread, to,
                   TS(t));
        run_since = t;
        run_lane = to;
        run_thread = thread;
        snprintf(run_why, sizeof run_why, "%s", in_why);
        tf_utf8_trim(run_why);
    } else {
        struct lane *lf = lane_get(from), *lt = lane_get(to);
        if (lf) {
            if (!lf->n) /* it was running before the trace met it */
                seg_add(lf, thread_first, TF_RUN, "");
            seg_add(lf, t, left, left_why);
        }
        if (lt)
            seg_add(lt, t, TF_RUN, in_why);
        run_lane = to;
        run_thread = thread;
    }
    pthread_mutex_unlock(&lock);
}

void tf_instant(double t, unsigned thread, unsigned lane, const char *key,
                const char *what)
{
    char q[300];
    if (format != JSON)
        return;
    t -= origin;
    pthread_mutex_lock(&lock);
    json_event("{\"ph\":\"i\",\"name\":\"%.*s\","
               "\"pid\":%u,\"tid\":%u,\"ts\":%.3f,\"args\":{\"reason\":\"%s\"}}",
               (int)strcspn(key, " \"\\"), key, thread, lane, TS(t),
               quote(what, q, sizeof q, false));
    pthread_mutex_unlock(&lock);
}

void tf_phase(double t, const char *name, const char *shown)
{
    char q[100];
    t -= origin;
    pthread_mutex_lock(&lock);
    if (format == JSON) {
        json_event("{\"ph\":\"i\",\"s\":\"g\",\"name\":\"%s\",\"cat\":\"phase\","
                   "\"pid\":1,\"tid\":1,\"ts\":%.3f}",
                   quote(shown, q, sizeof q, false), TS(t));
    } else if (nphases < sizeof phases / sizeof *phases) {
        phases[nphases].t = t;
        snprintf(phases[nphases].name, sizeof phases[nphases].name, "%s", name);
        snprintf(phases[nphases].shown, sizeof phases[nphases].shown, "%s", shown);
        tf_utf8_trim(phases[nphases].name);
        tf_utf8_trim(phases[nphases].shown);
        nphases++;
    }
    pthread_mutex_unlock(&lock);
}

/* ---- drawing ---- */

static const char *const state_class[TF_NSTATES] = {
    "run", "ready", "timer", "fd", "wait", "done"};
static const char *const state_colour[TF_NSTATES] = {
    "#2e9d45", "#d4d4d4", "#f0a030", "#3b7dd8", "#a98bd6", "#555555"};
static const char *const state_legend[TF_NSTATES] = { /* translated when drawn */
    N_("running"), N_("switched away (ready)"), N_("waiting on a timer"),
    N_("waiting on a file descriptor"), N_("waiting on a greenlet or event"),
    N_("finished")};

/* A tick step of 1, 2 or 5 times a power of ten, about span/8. */
static double tick_step(double span)
{
    double raw = span / 8, mag = pow(10, floor(log10(raw)));
    return raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
}

static void time_label(double t, double step, char *buf, size_t len)
{
    if (step >= 0.5)
        snprintf(buf, len, "%g s", t);
    else if (step >= 0.0005)
        snprintf(buf, len, "%g ms", round(t * 1e6) / 1e3);
    else
        snprintf(buf, len, "%g \xc2\xb5s", round(t * 1e9) / 1e3);
}

/* The short form of a why, for inside a bar: up to " (" or ",". */
static void short_label(const char *why, char *out, size_t len)
{
    size_t n = tf_why_head(why);
    while (n && why[n - 1] == ' ')
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(out, why, n);
    out[n] = '\0';
    tf_utf8_trim(out);
}

/* A lane: its name (unless `run` is 0: a lane named like the one above,
 * when lanes are too thin for a name each; run > 1 counts the lanes of
 * that name from here), then its stretches. */
static void draw_lane(const struct lane *l, double y, double lane_h, double x0,
                      double scale, double t_end, int font, unsigned run)
{
    double bar_h = lane_h > 8 ? lane_h - 4 : lane_h - 1;
    char name[100], q[400], shortq[100], lbl[100];
    size_t i;

    {
        /* A long name (05's are URLs) keeps its end, which tells them
         * apart, within the margin. */
        size_t fit = (size_t)(x0 - 40) / (size_t)(font * 0.6 + 0.5), len = strlen(l->name);
        char cut[64];
        if (len > fit && fit > 4)
            snprintf(cut, sizeof cut, "\xe2\x80\xa6%s", l->name + len - (fit - 1));
        else
            snprintf(cut, sizeof cut, "%s", l->name);
        quote(cut, name, sizeof name, true);
    }
    oprintf("<g class=\"lane\" data-lane=\"%u\" data-thread=\"%u\">\n", l->no, l->thread);
    if (run) {
        char thread[16] = "", count[32] = "";
        if (threads_max > 1)
            snprintf(thread, sizeof thread, "T%u ", l->thread);
        if (run > 1)
            snprintf(count, sizeof count, _(" (%u lanes)"), run);
        oprintf("<text class=\"lane-name\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
                "text-anchor=\"end\">%s%s%s</text>\n", x0 - 6,
                run > 1 ? y + font : y + lane_h / 2 + font * 0.35,
                run == 1 && lane_h < 8 ? 7 : font, thread,
                name, count);
    }
    /* Two passes, running last: a slice of a few microseconds is drawn
     * at least 0.6 px wide and must not be hidden by the wait after it. */
    for (int pass = 0; pass < 2; pass++)
    for (i = 0; i < l->n;) {
        /* One rectangle per visible stretch: a run of changes under half a
         * pixel wide becomes one stretch in the state it spent most of
         * its time in; neighbours in the same state are joined. */
        const struct seg *s = &l->segs[i];
        double a = s->t, b, spent[TF_NSTATES] = {0};
        enum tf_state st = (enum tf_state)s->state;
        size_t j = i, k;
        do {
            double e = j + 1 < l->n ? l->segs[j + 1].t : t_end;
            spent[l->segs[j].state] += e - l->segs[j].t;
            j++;
        } while (j < l->n && (l->segs[j].t - a) * scale < 0.5);
        for (k = 0; k < TF_NSTATES; k++)
            if (spent[k] > spent[st])
                st = (enum tf_state)k;
        while (j < l->n && l->segs[j].state == st &&
               (j + 1 >= l->n || (l->segs[j + 1].t - l->segs[j].t) * scale >= 0.5))
            j++;
        b = j < l->n ? l->segs[j].t : t_end;
        for (k = i; k < j && l->segs[k].state != st; k++)
            ;
        s = &l->segs[k < j ? k : i]; /* its label names the stretch */
        i = j;
        if ((pass == 1) != (st == TF_RUN))
            continue;
        if (st == TF_DONE) {
            oprintf("<rect class=\"done\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                    "height=\"%.2f\" fill=\"%s\"><title>%s: %s</title></rect>\n",
                    x0 + a * scale, y + lane_h / 2 - 1, (b - a) * scale > 1 ? (b - a) * scale : 1,
                    2.0, state_colour[TF_DONE], name, _(state_legend[TF_DONE]));
        } else {
            double x = x0 + a * scale, w = (b - a) * scale;
            if (w < 0.6)
                w = 0.6;
            else if (w > 4)
                w -= 0.8; /* a seam between two waits in a row */
            quote(s->label, q, sizeof q, true);
            char title[600];
            /* TRANSLATORS: an SVG bar's tooltip: the greenlet, its state
             * (running, waiting on a timer...), from when, to when, why. */
            snprintf(title, sizeof title, _("%s %s %.6f s to %.6f s: %s"), name,
                     _(state_legend[st]), a, b, q);
            oprintf("<rect class=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                    "height=\"%.2f\" fill=\"%s\"><title>%s</title></rect>\n",
                    state_class[st], x, y + (lane_h - bar_h) / 2, w, bar_h,
                    state_colour[st], title);
            short_label(s->label, lbl, sizeof lbl);
            /* no label for a plain switch ("switch", or its translation);
             * a CJK character is about twice as wide as a Latin one */
            if (lane_h >= 14 && *lbl && strcmp(lbl, "switch") != 0 &&
                strcmp(lbl, _("switch")) != 0 &&
                w > cl_text_width(lbl) * (font - 1) * 0.55 + 5)
                oprintf("<text class=\"why\" x=\"%.2f\" y=\"%.2f\" font-size=\"%d\" "
                        "fill=\"%s\">%s</text>\n", x + 3,
                        y + lane_h / 2 + font * 0.35, font - 1,
                        st == TF_READY || st == TF_TIMER ? "#000" : "#fff",
                        quote(lbl, shortq, sizeof shortq, true));
        }
    }
    oputs("</g>\n");
}

static int by_thread(const void *a, const void *b)
{
    const struct lane *x = *(const struct lane *const *)a;
    const struct lane *y = *(const struct lane *const *)b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->no < y->no ? -1 : x->no > y->no;
}

static void draw(double t_end)
{
    const double width = 1200, x0 = 190, x1 = width - 30;
    const struct lane *drawn[TF_LANES_FIRST + TF_LANES_LAST];
    size_t n = 0, i, gap_at = (size_t)-1;
    unsigned hidden = 0, gap_from = 0, gap_to = 0;
    double lane_h, top, height, scale, step, t;
    int font;
    char q[200];
    bool has_hub = false;

    for (i = 0; i < TF_LANES_FIRST && i < lanes_total; i++)
        drawn[n++] = &first_lanes[i];
    if (lanes_total > TF_LANES_FIRST) {
        unsigned from = lanes_total > TF_LANES_FIRST + TF_LANES_LAST
                            ? lanes_total - TF_LANES_LAST + 1 : TF_LANES_FIRST + 1;
        if (from > TF_LANES_FIRST + 1) {
            gap_at = n;
            gap_from = TF_LANES_FIRST + 1;
            gap_to = from - 1;
            hidden = gap_to - gap_from + 1;
        }
        for (unsigned no = from; no <= lanes_total; no++)
            if (lane_get(no))
                drawn[n++] = lane_get(no);
    }
    for (i = 0; i < n; i++)
        has_hub |= strcmp(drawn[i]->name, "hub") == 0;
    if (!hidden) /* all drawn: each thread's lanes together */
        qsort(drawn, n, sizeof *drawn, by_thread);
    if (t_end <= 0)
        t_end = 1e-6;
    {
        size_t rows = n + (hidden ? 1 : 0);
        lane_h = rows <= 8 ? 34 : rows <= 24 ? 22 : rows <= 60 ? 12 : rows <= 130 ? 7 : 5;
        font = lane_h >= 22 ? 13 : lane_h >= 12 ? 10 : 9;
        top = 56 + (nphases ? 18 : 0);
        height = top + (double)rows * lane_h + 34 + 30 * 2;
    }
    scale = (x1 - x0) / t_end;

    if (format == HTML) {
        oputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
        oprintf(_("%s trace"), quote(program_invocation_short_name, q, sizeof q, true));
        oputs("</title></head>\n<body style=\"margin:0\">\n");
    } else {
        oputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    oprintf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, "
            "sans-serif\" data-seconds=\"%.6f\" data-x0=\"%.0f\" data-x1=\"%.0f\" "
            "data-lanes=\"%u\">\n", width, height, width, height, t_end, x0, x1,
            lanes_total);
    oprintf("<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    oprintf("<text class=\"title\" x=\"12\" y=\"24\" font-size=\"17\" "
            "font-weight=\"bold\">");
    oprintf(_("%s: who runs when"), quote(program_invocation_short_name, q, sizeof q, true));
    oprintf("</text>\n<text x=\"12\" y=\"44\" font-size=\"12\" fill=\"#444\">");
    oprintf(ngettext("%u greenlet (main included)", "%u greenlets (main included)",
                     lanes_total), lanes_total);
    oprintf("%s, %.6f s%s</text>\n",
            threads_max > 1 ? _(", lanes named by thread (T1, T2...)") : "", t_end,
            has_hub ? _("; the hub runs while it waits in its event loop") : "");

    /* phases, as bands behind the lanes */
    for (i = 0; i < nphases; i++) {
        double a = phases[i].t, b = i + 1 < nphases ? phases[i + 1].t : t_end;
        oprintf("<rect class=\"phase\" data-name=\"%s\" x=\"%.2f\" y=\"%.1f\" "
                "width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n",
                quote(phases[i].name, q, sizeof q, true), x0 + a * scale, top - 18,
                (b - a) * scale, (double)(n + (hidden ? 1 : 0)) * lane_h + 18,
                i % 2 ? "#eef3fb" : "#f6f6ea");
        oprintf("<text class=\"phase-name\" x=\"%.2f\" y=\"%.1f\" font-size=\"12\" "
                "font-weight=\"bold\">%s</text>\n", x0 + a * scale + 4, top - 5,
                quote(phases[i].shown, q, sizeof q, true));
    }
    /* the time axis, with grid lines */
    step = tick_step(t_end);
    for (t = 0; t <= t_end * 1.0001; t += step) {
        double x = x0 + t * scale, yb = top + (double)(n + (hidden ? 1 : 0)) * lane_h;
        char lbl[32];
        time_label(t, step, lbl, sizeof lbl);
        oprintf("<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
                "stroke=\"#cccccc\" stroke-width=\"1\"/>\n", x, top, x, yb);
        oprintf("<text class=\"tick\" x=\"%.2f\" y=\"%.1f\" font-size=\"11\" "
                "text-anchor=\"middle\">%s</text>\n", x, yb + 14, lbl);
    }
    oprintf("<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" "
            "fill=\"#444\">%s</text>\n", x1,
            top + (double)(n + (hidden ? 1 : 0)) * lane_h + 28,
            _("time since the trace began"));

    {
        double y = top;
        unsigned run;
        for (i = 0; i < n; i++) {
            if (i == gap_at) {
                oprintf("<text class=\"gap\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
                        "fill=\"#444\">\xe2\x80\xa6 ", x0 + 4,
                        y + lane_h / 2 + font * 0.35, font < 10 ? 10 : font);
                oprintf(_("%u more greenlets not drawn (lanes %u to %u)"), hidden,
                        gap_from, gap_to);
                oputs(" \xe2\x80\xa6</text>\n");
                y += lane_h;
            }
            if (i && drawn[i]->thread != drawn[i - 1]->thread)
                oprintf("<line x1=\"10\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" "
                        "stroke=\"#888\" stroke-width=\"0.6\"/>\n", y, x1, y);
            if (lane_h >= 12) {
                run = 1; /* room for every name */
            } else if (i && drawn[i]->thread == drawn[i - 1]->thread &&
                       strcmp(drawn[i]->name, drawn[i - 1]->name) == 0 && i != gap_at) {
                run = 0;
            } else {
                for (run = 1; i + run < n && i + run != gap_at &&
                              drawn[i + run]->thread == drawn[i]->thread &&
                              strcmp(drawn[i + run]->name, drawn[i]->name) == 0;
                     run++)
                    ;
                /* too thin for every name: every fourth, and the ends */
                if (run == 1 && i % 4 && i + 1 != n && i + 1 != gap_at &&
                    strcmp(drawn[i]->name, "main") && strcmp(drawn[i]->name, "hub"))
                    run = 0;
            }
            draw_lane(drawn[i], y, lane_h, x0, scale, t_end, font, run);
            y += lane_h;
        }
    }
    /* the legend */
    {
        double y = height - 30, x = 12;
        oputs("<g class=\"legend\">\n");
        for (i = 0; i < TF_NSTATES; i++) {
            oprintf("<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"%d\" "
                    "fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s"
                    "</text>\n", x, i == TF_DONE ? y + 5 : y, i == TF_DONE ? 3 : 12,
                    state_colour[i], x + 18, y + 10, _(state_legend[i]));
            x += 26 + cl_text_width(_(state_legend[i])) * 6.6;
        }
        oputs("</g>\n");
    }
    oputs("</svg>\n");
    if (format == HTML)
        oputs("</body></html>\n");
}

/* Forget the open file: remove it, reset. Called with the lock held. */
static void reset(void);

void tf_abandon(void)
{
    if (!tf_on)
        return;
    pthread_mutex_lock(&lock);
    tf_on = false;
    olen = 0;
    close(fd);
    fd = -1;
    unlink(path_copy);
    reset();
    pthread_mutex_unlock(&lock);
}

void tf_close(double t)
{
    if (!tf_on)
        return;
    pthread_mutex_lock(&lock);
    tf_on = false;
    if (getpid() != owner) { /* a forked child: the file is its parent's */
        pthread_mutex_unlock(&lock);
        return;
    }
    t -= origin;
    if (t < t_last)
        t = t_last;
    if (format == JSON) {
        json_slice(t, run_thread ? run_thread : 1, run_lane, _("trace ends"));
        oputs("\n]}\n");
    } else {
        draw(t);
    }
    oflush();
    close(fd);
    fd = -1;
    reset();
    pthread_mutex_unlock(&lock);
}

static void reset(void)
{
    /* ready for another file (the tests open several) */
    for (size_t i = 0; i < TF_LANES_FIRST; i++)
        lane_clear(&first_lanes[i]);
    for (size_t i = 0; i < TF_LANES_LAST; i++)
        lane_clear(&last_lanes[i]);
    lanes_total = threads_max = 0;
    nphases = 0;
    t_last = 0;
    json_first = true;
    flow_id = 0;
    write_failed = false;
    run_since = thread_first = -1;
    run_lane = run_thread = 0;
}
