/*
 * stats.c - 07's counters, latency histogram, progress line and summary.
 *
 * Threads update their own client's counters while the main thread reads
 * them for the progress line: relaxed atomic stores and loads, so the
 * reader never sees a torn value (each counter has one writer).
 */
#include "stats.h"
#include "setup.h"

#include "cli.h"
#include "cosock.h"
#include "repr.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct client *clients;
long nclients;
double t_start, t_end;
long not_started;

static struct hist *hists;
static int nhists;
static size_t buf_size;
static int errors_shown;

void clients_new(long n, int nh)
{
    buf_size = (size_t)(size > 32 ? size : 32) + 1;
    nclients = n;
    nhists = nh;
    clients = calloc((size_t)n, sizeof *clients);
    hists = calloc((size_t)nh, sizeof *hists);
    if (!clients || !hists)
        cl_fatal(_("out of memory"));
    for (long i = 0; i < n; i++) {
        clients[i].id = (int)i + 1;
        clients[i].lat = &hists[nh == 1 ? 0 : i];
    }
}

void clients_free(void)
{
    for (long i = 0; i < nclients; i++) {
        free(clients[i].msg);
        free(clients[i].reply);
    }
    free(clients);
    free(hists);
}

static void hist_add(struct hist *h, double seconds)
{
    double us = seconds * 1e6;
    int b = us <= 1 ? 0 : (int)(log10(us) * 50);
    h->n[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
    if (seconds > h->max)
        h->max = seconds;
}

/* The upper edge of the bucket holding the q-th quantile, in ms. */
static double hist_quantile_ms(const struct hist *h, uint64_t total, double q)
{
    uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
    for (int b = 0; b < HIST_BUCKETS; b++)
        if ((seen += h->n[b]) >= want && want > 0)
            return fmin(pow(10, (b + 1) / 50.0) / 1e3, h->max * 1e3);
    return 0;
}

static void stat_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* The buffers are made by the client itself, on first use: a greenlet
 * that never gets a stack costs no message buffers. The reply buffer has
 * room for more than one echo: greenlet_exchange reads into all of it.
 *
 * The dots are written once, and each message rewrites only its "hello N"
 * (dots again where a shorter one ends): at 1,000 connections snprintf
 * and a --size memset were a third of 07's instructions per message
 * (cachegrind: about 750 of 2,400, and four cold cache lines of the
 * greenlet's stack for snprintf's FILE), the bytes sent the same. */
size_t client_message(struct client *c, uint64_t count)
{
    static const char hello[] = "hello ";
    char digits[20]; /* UINT64_MAX has 20 */
    size_t nd = 0, len;
    if (!c->msg) {
        c->reply_room = 2 * buf_size;
        if (!(c->msg = malloc(buf_size)) || !(c->reply = malloc(c->reply_room)))
            cl_fatal(_("out of memory"));
        memset(c->msg, '.', buf_size);
        c->msg_prefix = 0;
    }
    do
        digits[nd++] = (char)('0' + count % 10);
    while ((count /= 10) != 0);
    len = sizeof hello - 1 + nd; /* at most 26: buf_size is at least 33 */
    if (len < c->msg_prefix)
        memset(c->msg + len, '.', c->msg_prefix - len);
    c->msg_prefix = len;
    memcpy(c->msg, hello, sizeof hello - 1);
    for (size_t i = 0; i < nd; i++)
        c->msg[sizeof hello - 1 + i] = digits[nd - 1 - i];
    return size ? (size_t)size : len;
}

void client_connected(struct client *c, int fd)
{
    c->connected = fd >= 0;
    if (fd < 0) {
        char what[300];
        snprintf(what, sizeof what, _("connect to %s port %ld"), host, port);
        client_error(c, what, errno);
    }
}

void client_error(struct client *c, const char *what, int err)
{
    if (cl_stop_signal || not_started)
        return; /* the run was stopped: not the connection's fault */
    c->failed = true;
    int shown = __atomic_fetch_add(&errors_shown, 1, __ATOMIC_RELAXED);
    if (shown < 10)
        cl_warn("[%d] %s: %s", c->id, what, err ? cosock_strerror(err) : _("connection closed by the server"));
    else if (shown == 10)
        cl_warn(_("(further errors are counted in the summary, not shown)"));
}

void client_sent(struct client *c)
{
    stat_add(&c->sent, 1);
}

/* Up to 64 bytes of what the server sent, as Python's repr (06 prints
 * what it receives the same way). */
static void warn_bytes(struct client *c, const char *why, const char *p, size_t n)
{
    char shown[CL_REPR_SIZE(64)];
    cl_repr_bytes(shown, sizeof shown, p, n, 64);
    cl_warn("[%d] %s: %s", c->id, why, shown);
}

void client_echoed(struct client *c, uint64_t count, size_t len, double seconds)
{
    hist_add(c->lat, seconds);
    stat_add(&c->bytes, 2 * len);
    if (memcmp(c->msg, c->reply, len) != 0) {
        if (c->mismatched == 0) {
            char why[80];
            snprintf(why, sizeof why, _("echo %llu differs from what was sent"),
                     (unsigned long long)count);
            warn_bytes(c, why, c->reply, len);
        }
        stat_add(&c->mismatched, 1);
    } else {
        stat_add(&c->echoed, 1);
    }
    if (!quiet)
        printf("[%d] recv from server: %.*s\n", c->id, (int)(len < 64 ? len : 64), c->reply);
}

void client_extra(struct client *c, const char *buf, size_t n)
{
    if (cl_stop_signal || not_started)
        return; /* the echo of a message the stop cut short */
    warn_bytes(c, _("bytes after the last echo"), buf, n);
    stat_add(&c->mismatched, 1);
}

void progress_line(void)
{
    uint64_t sent = 0;
    double t = t_start ? cl_now() - t_start : 0;
    for (long i = 0; i < nclients; i++)
        sent += __atomic_load_n(&clients[i].sent, __ATOMIC_RELAXED);
    fputc('\r', stderr); /* the progress line rewrites itself */
    fprintf(stderr, _("  %llu messages, %.0f messages/s   "),
            (unsigned long long)sent, t > 0 ? (double)sent / t : 0.0);
}

static void *progress_greenlet(void *arg)
{
    (void)arg;
    while (hub_sleep(0.25) == 0)
        progress_line();
    fputc('\n', stderr);
    return NULL;
}

hub_task *spawn_progress(void)
{
    hub_task *t = NULL;
    if (isatty(STDERR_FILENO) && !(t = hub_spawn(progress_greenlet, NULL)))
        cl_err_exit("spawn");
    return t;
}

int summary(const char *model, long idle_open)
{
    uint64_t sent = 0, echoed = 0, mismatched = 0, bytes = 0, lat_n = 0;
    long ok = 0, failed = 0;
    struct hist lat = {{0}, 0};
    double t = t_end > t_start ? t_end - t_start : 0;

    for (long i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        ok += c->connected;
        failed += c->failed;
        sent += c->sent;
        echoed += c->echoed;
        mismatched += c->mismatched;
        bytes += c->bytes;
    }
    for (int h = 0; h < nhists; h++) {
        for (int b = 0; b < HIST_BUCKETS; b++) {
            lat.n[b] += hists[h].n[b];
            lat_n += hists[h].n[b];
        }
        lat.max = fmax(lat.max, hists[h].max);
    }
    printf(_("load: %ld %s to %s:%ld, "), nclients, model, host, port);
    if (duration)
        printf("for %.2f s\n", duration);
    else
        printf(_("%ld messages each\n"), messages);
    printf(_("connections: %ld opened, %ld failed\n"), ok, nclients - ok);
    if (idle)
        printf(_("idle: %ld connections held open, never used\n"), idle_open);
    printf(_("messages: %llu sent, %llu echoed, %llu mismatched\n"), (unsigned long long)sent,
           (unsigned long long)echoed, (unsigned long long)mismatched);
    printf(_("bytes: %llu (both ways)\n"), (unsigned long long)bytes);
    printf(_("time: %.3f s, %.0f messages/s\n"), t, t > 0 ? (double)echoed / t : 0.0);
    printf(_("latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n"), hist_quantile_ms(&lat, lat_n, 0.50),
           hist_quantile_ms(&lat, lat_n, 0.99), lat.max * 1e3);
    printf(_("errors: %ld\n"), failed);
    if (cl_stop_signal) {
        printf(_("STOPPED: by %s before the end of the run\n"), cl_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        return CL_EXIT_FAIL;
    }
    if (not_started) {
        printf(_("FAILED: %ld of %ld greenlets could not start (no stack)\n"), not_started, nclients);
        return CL_EXIT_FAIL;
    }
    if (failed == 0 && mismatched == 0 && echoed == sent)
        printf(_("every echo matched what was sent\n"));
    else
        printf(_("FAILED: %ld connections had errors, %llu echoes differed\n"), failed,
               (unsigned long long)mismatched);
    return failed == 0 && mismatched == 0 ? 0 : CL_EXIT_FAIL;
}
