/*
 * 05_io_autoswitch - a greenlet switches by itself when it meets I/O.
 *
 * Python:
 *     from gevent import monkey; monkey.patch_all()
 *     def f(url):
 *         print('GET: %s' % url)
 *         resp = urlopen(url)
 *         data = resp.read()
 *         print('%d bytes received from %s.' % (len(data), url))
 *     gevent.joinall([gevent.spawn(f, 'https://www.python.org/'),
 *                     gevent.spawn(f, 'https://www.yahoo.com/'),
 *                     gevent.spawn(f, 'https://github.com/')])
 *
 * urlopen() (common/urlopen.h) is ordinary blocking code: getaddrinfo,
 * socket, connect, send, recv, knowing nothing of greenlets. After
 * monkey_patch_all() (common/monkey.h) each of its calls that would block
 * waits on the hub instead, so the requests are in flight together: every
 * "GET:" line first, then the answers in the order they come back, in
 * about the time of the slowest. Without the patch the very same greenlets
 * block the whole thread and run one after another: the sum of the times.
 *
 * With no URL it fetches three pages from a server of its own
 * (page_server.c, on 127.0.0.1). Given http:// URLs it fetches those.
 */
#include "cli.h"
#include "hub.h"
#include "monkey.h"
#include "trace.h" /* cl_trace_phase */
#include "urlopen.h"
#include "page_server.h"

#include <signal.h>
#include <stdlib.h>

static double timeout_s = 10;
static bool no_compare;

static const cl_option options[] = {
    {"timeout", 't', CL_OPT_DOUBLE, &timeout_s, "SECONDS", /* urlopen(url, timeout) */
     N_("give up on a URL after this long, resolving to last byte (default 10)"), 0.001, 3600},
    {"no-compare", 0, CL_OPT_FLAG, &no_compare, NULL, N_("skip the unpatched run"), 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "05_io_autoswitch",
    .summary = N_("Blocking socket calls in greenlets switch to the hub once patched."),
    .args = "[URL...]",
    .details = N_("Without URLs it serves three pages itself on 127.0.0.1 and fetches them.\n"
               "URLs must be http:// (there is no TLS here). Exit status 1 if any fetch failed."),
    .options = options,
    .max_args = -1, /* one greenlet per URL, as many as given */
};

struct fetch {
    const char *url;
    bool ok;
};

/* def f(url) */
static void *f(void *arg)
{
    struct fetch *ft = arg;
    url_response resp;

    printf("GET: %s\n", ft->url);
    fflush(stdout);
    ft->ok = urlopen(ft->url, timeout_s, &resp) == 0; /* data = urlopen(url).read() */
    if (!ft->ok)
        cl_warn("%s: %s", ft->url, resp.error);
    else if (resp.framing == HTTP_FRAMING_CLOSE) /* say it: the end was a guess */
        printf("%zu bytes received from %s (%s).\n", resp.body_len, ft->url,
               http_framing_name(resp.framing));
    else
        printf("%zu bytes received from %s.\n", resp.body_len, ft->url);
    fflush(stdout);
    url_response_free(&resp);
    return NULL;
}

/* gevent.joinall([gevent.spawn(f, url) for url in urls]): how many
 * failed, and the time taken */
static int fetch_all(struct fetch *fs, int n, double *took)
{
    hub_task **ts = calloc((size_t)n, sizeof *ts);
    double t0 = cl_now();
    int failed = 0;
    if (!ts)
        cl_err_exit("calloc");
    for (int i = 0; i < n; i++) {
        char name[16]; /* "f-1": its name in traces (the hub copies it) */
        snprintf(name, sizeof name, "f-%d", i + 1);
        hub_spawn_opts opts = {.name = name};
        if (!(ts[i] = hub_spawn_with(f, &fs[i], &opts)))
            cl_err_exit("spawn");
    }
    if (hub_joinall(ts, (size_t)n, HUB_FOREVER) != 0)
        cl_fatal("joinall: %s", hub_strerror(errno));
    *took = cl_now() - t0;
    for (int i = 0; i < n; i++) {
        failed += !fs[i].ok;
        hub_task_free(ts[i]);
    }
    free(ts);
    return failed;
}

int main(int argc, char **argv)
{
    int first = cl_parse_args(&prog, argc, argv);
    int n = argc - first, failed;
    bool serving = n == 0;
    char own[NPAGES][SERVER_URL_MAX];
    struct fetch *fs;
    double patched_s, unpatched_s;

    signal(SIGPIPE, SIG_IGN); /* a server that closes early is an error, not our death */
    if (serving) {
        server_start(own); /* prints "Serving on ..." */
        n = NPAGES;
    }
    if (!(fs = calloc((size_t)n, sizeof *fs)))
        cl_err_exit("calloc");
    for (int i = 0; i < n; i++)
        fs[i].url = serving ? own[i] : argv[first + i];

    printf(_("%sPatched: monkey_patch_all(), one greenlet per URL\n"), serving ? "\n" : "");
    cl_trace_phase(N_("Patched")); /* the key stays English; shown translated */
    monkey_patch_all();
    monkey_set_resolver_timeout(timeout_s);
    failed = fetch_all(fs, n, &patched_s);
    monkey_unpatch_all();
    printf(_("took %.2f s\n"), patched_s);

    if (!no_compare) {
        printf(_("\nUnpatched: the same greenlets; read() blocks the whole thread\n"));
        cl_trace_phase(N_("Unpatched"));
        failed += fetch_all(fs, n, &unpatched_s);
        printf(_("took %.2f s\n"), unpatched_s);
        printf(_("\nUnpatched, one after another: %.2f s. Patched, all at once: %.2f s.\n"),
               unpatched_s, patched_s);
    }

    hub_shutdown();
    if (serving)
        server_stop();
    free(fs);
    return failed ? CL_EXIT_FAIL : 0;
}
