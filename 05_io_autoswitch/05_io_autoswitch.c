/*
 * 05_io_autoswitch - a greenlet switches by itself when it meets I/O.
 *
 * fetch() below is ordinary blocking code: getaddrinfo, socket, connect,
 * write a GET, read until the response is complete. Three greenlets run
 * it on three URLs. After monkey_patch_all() (common/monkey.h) each call
 * that would block waits on the hub instead, so the three requests are in
 * flight together: three "GET:" lines, then the answers in the order they
 * come back, in about the time of the slowest. Without the patch the very
 * same greenlets block the whole thread in read() and run one after
 * another: the sum of the times.
 *
 * With no URL it fetches from a server of its own: libevent's evhttp, in a
 * second thread, on a free loopback port, serving three pages of different
 * sizes after different delays. Given http:// URLs it fetches those.
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
 */
#include "cli.h"
#include "cosock.h" /* cosock_local_port, for the server side only */
#include "http.h"
#include "hub.h"
#include "monkey.h"
#include "trace.h" /* cl_trace_phase */

#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RESPONSE (64u << 20)

static double timeout_s = 10;
static bool no_compare;

static const cl_option options[] = {
    {"timeout", 't', CL_OPT_DOUBLE, &timeout_s, "SECONDS",
     "give up on a connect, send or read after this long (default 10)", 0.001, 3600},
    {"no-compare", 0, CL_OPT_FLAG, &no_compare, NULL,
     "skip the unpatched run", 0, 0},
    {0},
};

static const cl_program prog = {
    .name = "05_io_autoswitch",
    .summary = "Blocking socket calls in greenlets switch to the hub once patched.",
    .args = "[URL...]",
    .details = "Without URLs it serves three pages itself on 127.0.0.1 and fetches them.\n"
               "URLs must be http:// (there is no TLS here). Exit status 1 if any fetch failed.",
    .options = options,
    .min_args = 0,
    .max_args = 64,
};

/* ---- the client: plain POSIX calls, written as blocking code ---- */

struct fetch {
    const char *url;
    bool ok;
};

/* Connect to the first address of host:port that answers. */
static int dial(const url *u, char *why, size_t len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res, *ai;
    struct timeval tv = {(time_t)timeout_s, (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6)};
    char port[8];
    int fd = -1, err = 0, rc;

    snprintf(port, sizeof port, "%u", u->port);
    rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, len, "cannot resolve %s: %s", u->host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(why, len, "cannot connect to %s port %u: %s", u->host, u->port,
                 err == EINPROGRESS || err == EAGAIN ? "timed out" : strerror(err));
    return fd;
}

/* GET the URL and read the whole response; the body's length, or -1 with
 * a reason in why. */
static long long get(const char *text, char *why, size_t len, enum http_framing *framing)
{
    url u;
    const char *err;
    char req[URL_PATH_MAX + URL_HOST_MAX + 256];
    char *buf = NULL;
    size_t have = 0, cap = 0, n;
    long long body = -1;
    int fd;

    if ((err = url_parse(text, &u)) != NULL) {
        snprintf(why, len, "bad URL: %s", err);
        return -1;
    }
    if (u.scheme == URL_HTTPS) {
        snprintf(why, len, "https is not supported (no TLS in this lesson): use http://");
        return -1;
    }
    if ((fd = dial(&u, why, len)) < 0)
        return -1;
    n = http_format_get(&u, req, sizeof req);
    if (write(fd, req, n) != (ssize_t)n) { /* a blocking write sends it all */
        snprintf(why, len, "sending the request: %s",
                 errno == EAGAIN ? "timed out" : strerror(errno));
        goto out;
    }
    for (;;) {
        http_response r;
        ssize_t got;
        int rc;
        if (have == cap) {
            char *more;
            if (cap == MAX_RESPONSE) {
                snprintf(why, len, "response larger than %u MiB", MAX_RESPONSE >> 20);
                goto out;
            }
            cap = cap ? cap * 2 : 16384;
            if (!(more = realloc(buf, cap))) {
                snprintf(why, len, "out of memory");
                goto out;
            }
            buf = more;
        }
        got = read(fd, buf + have, cap - have);
        if (got < 0) {
            snprintf(why, len, "reading the response: %s",
                     errno == EAGAIN ? "timed out" : strerror(errno));
            goto out;
        }
        have += (size_t)got;
        rc = http_parse_response(buf, have, got == 0, &r, &err);
        if (rc == HTTP_ERROR) {
            snprintf(why, len, "bad response: %s", err);
            goto out;
        }
        if (rc == HTTP_COMPLETE) {
            *framing = r.framing;
            if (r.status < 200 || r.status > 299) {
                snprintf(why, len, "the server answered %d (%zu bytes)", r.status, r.body_len);
                goto out;
            }
            body = (long long)r.body_len;
            goto out;
        }
    }
out:
    free(buf);
    close(fd);
    return body;
}

/* def f(url) */
static void *f(void *arg)
{
    struct fetch *ft = arg;
    enum http_framing framing = HTTP_FRAMING_LENGTH;
    char why[512];
    long long n;

    printf("GET: %s\n", ft->url);
    fflush(stdout);
    n = get(ft->url, why, sizeof why, &framing);
    if (n < 0) {
        cl_warn("%s: %s", ft->url, why);
        return NULL;
    }
    if (framing == HTTP_FRAMING_CLOSE)
        printf("%lld bytes received from %s (%s).\n", n, ft->url, http_framing_name(framing));
    else
        printf("%lld bytes received from %s.\n", n, ft->url);
    fflush(stdout);
    ft->ok = true;
    return NULL;
}

/* gevent.joinall([gevent.spawn(f, url) for url in urls]); the time taken */
static double fetch_all(struct fetch *fs, int n)
{
    hub_task **ts = calloc((size_t)n, sizeof *ts);
    double t0 = cl_now();
    if (!ts)
        cl_err_exit("calloc");
    for (int i = 0; i < n; i++) {
        hub_spawn_opts opts = {.name = fs[i].url}; /* for --trace */
        fs[i].ok = false;
        if (!(ts[i] = hub_spawn_with(f, &fs[i], &opts)))
            cl_err_exit("spawn");
    }
    if (hub_joinall(ts, (size_t)n, HUB_FOREVER) != 0)
        cl_fatal("joinall: %s", hub_strerror(errno));
    for (int i = 0; i < n; i++)
        hub_task_free(ts[i]);
    free(ts);
    return cl_now() - t0;
}

/* ---- the server: evhttp in its own thread, with its own event_base ---- */

struct page {
    const char *path;
    size_t size;
    double delay;
    bool chunked;
};

/* Named after the notes' three sites; answered slowest first. */
static const struct page pages[] = {
    {"/python", 49152, 0.30, false},
    {"/yahoo", 120000, 0.10, true},
    {"/github", 30000, 0.20, false},
};
#define NPAGES (sizeof pages / sizeof pages[0])

struct reply {
    struct evhttp_request *req;
    const struct page *page;
    struct event *timer;
    struct reply *next;
};

static struct server {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    int stop_pipe[2];
    struct reply *pending;
    int port;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    bool started;
    const char *error;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};

static void fill(struct evbuffer *out, const struct page *p, size_t from, size_t n)
{
    /* Deterministic text: the same page always has the same bytes. */
    char line[64];
    for (size_t i = from; i < from + n;) {
        int len = snprintf(line, sizeof line, "%s line %zu\n", p->path + 1, i / 32);
        size_t off = i % 32, take = 32 - off;
        if (len < 32)
            memset(line + len, '.', (size_t)(32 - len));
        line[31] = '\n';
        if (take > from + n - i)
            take = from + n - i;
        evbuffer_add(out, line + off, take);
        i += take;
    }
}

static void unlink_reply(struct reply *r)
{
    for (struct reply **p = &srv.pending; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    event_free(r->timer);
    free(r);
}

static void answer(evutil_socket_t fd, short what, void *arg)
{
    struct reply *r = arg;
    const struct page *p = r->page;
    struct evbuffer *body = evbuffer_new();
    (void)fd, (void)what;
    if (!body) {
        evhttp_send_error(r->req, HTTP_INTERNAL, NULL);
    } else if (p->chunked) { /* Transfer-Encoding: chunked, in 4 chunks */
        evhttp_send_reply_start(r->req, HTTP_OK, "OK");
        for (size_t k = 0; k < 4; k++) {
            size_t from = k * p->size / 4, to = (k + 1) * p->size / 4;
            fill(body, p, from, to - from);
            evhttp_send_reply_chunk(r->req, body);
        }
        evhttp_send_reply_end(r->req);
    } else { /* Content-Length */
        fill(body, p, 0, p->size);
        evhttp_send_reply(r->req, HTTP_OK, "OK", body);
    }
    if (body)
        evbuffer_free(body);
    unlink_reply(r);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    const char *path = evhttp_request_get_uri(req);
    (void)arg;
    for (size_t i = 0; i < NPAGES; i++) {
        if (strcmp(path, pages[i].path) == 0) {
            struct reply *r = calloc(1, sizeof *r);
            struct timeval tv = {0, (suseconds_t)(pages[i].delay * 1e6)};
            evhttp_add_header(evhttp_request_get_output_headers(req),
                              "Content-Type", "text/plain");
            /* Answer later with a timer: the server thread never sleeps. */
            if (!r || !(r->timer = evtimer_new(srv.base, answer, r))) {
                free(r);
                evhttp_send_error(req, HTTP_INTERNAL, NULL);
                return;
            }
            r->req = req;
            r->page = &pages[i];
            r->next = srv.pending;
            srv.pending = r;
            evtimer_add(r->timer, &tv);
            return;
        }
    }
    evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    event_base_loopbreak(srv.base);
}

static void server_started(const char *error)
{
    pthread_mutex_lock(&srv.lock);
    srv.error = error;
    srv.started = true;
    pthread_cond_signal(&srv.ready);
    pthread_mutex_unlock(&srv.lock);
}

static void *server_main(void *arg)
{
    struct evhttp_bound_socket *sock;
    (void)arg;

    srv.base = event_base_new();
    srv.http = srv.base ? evhttp_new(srv.base) : NULL;
    if (!srv.http) {
        server_started("cannot create the HTTP server");
        return NULL;
    }
    evhttp_set_gencb(srv.http, on_request, NULL);
    sock = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
    if (!sock || (srv.port = cosock_local_port(evhttp_bound_socket_get_fd(sock))) < 0) {
        server_started("cannot listen on 127.0.0.1");
        return NULL;
    }
    srv.stop_ev = event_new(srv.base, srv.stop_pipe[0], EV_READ, on_stop, NULL);
    event_add(srv.stop_ev, NULL);
    server_started(NULL);
    event_base_dispatch(srv.base);
    return NULL;
}

static int server_start(void)
{
    if (pipe(srv.stop_pipe) != 0)
        cl_err_exit("pipe");
    if ((errno = pthread_create(&srv.thread, NULL, server_main, NULL)) != 0)
        cl_err_exit("pthread_create");
    pthread_mutex_lock(&srv.lock);
    while (!srv.started)
        pthread_cond_wait(&srv.ready, &srv.lock);
    pthread_mutex_unlock(&srv.lock);
    if (srv.error)
        cl_fatal("%s", srv.error);
    return srv.port;
}

static void server_stop(void)
{
    if (write(srv.stop_pipe[1], "x", 1) != 1)
        cl_err_exit("write");
    pthread_join(srv.thread, NULL);
    while (srv.pending)
        unlink_reply(srv.pending);
    if (srv.stop_ev)
        event_free(srv.stop_ev);
    if (srv.http)
        evhttp_free(srv.http);
    if (srv.base)
        event_base_free(srv.base);
    close(srv.stop_pipe[0]);
    close(srv.stop_pipe[1]);
}

/* ---- the lesson ---- */

int main(int argc, char **argv)
{
    int first = cl_parse_args(&prog, argc, argv);
    int n = argc - first, failed = 0;
    struct fetch *fs;
    char (*own)[64] = NULL;
    double patched_s, unpatched_s = 0;
    bool serving = n == 0;

    /* A server that closes early must give an EPIPE error, not kill us. */
    signal(SIGPIPE, SIG_IGN);

    if (serving) {
        int port = server_start();
        n = (int)NPAGES;
        own = calloc(NPAGES, sizeof *own);
        if (!own)
            cl_err_exit("calloc");
        printf("Serving on 127.0.0.1:%d:", port);
        for (size_t i = 0; i < NPAGES; i++) {
            snprintf(own[i], sizeof own[i], "http://127.0.0.1:%d%s", port, pages[i].path);
            printf(" %s (%zu bytes, after %.2f s)%s", pages[i].path, pages[i].size,
                   pages[i].delay, i + 1 < NPAGES ? "," : "\n");
        }
    }
    fs = calloc((size_t)n, sizeof *fs);
    if (!fs)
        cl_err_exit("calloc");
    for (int i = 0; i < n; i++)
        fs[i].url = serving ? own[i] : argv[first + i];

    printf("%sPatched: monkey_patch_all(), one greenlet per URL\n", serving ? "\n" : "");
    cl_trace_phase("Patched");
    monkey_patch_all();
    patched_s = fetch_all(fs, n);
    monkey_unpatch_all();
    for (int i = 0; i < n; i++)
        failed += !fs[i].ok;
    printf("took %.2f s\n", patched_s);

    if (!no_compare) {
        printf("\nUnpatched: the same greenlets; read() blocks the whole thread\n");
        cl_trace_phase("Unpatched");
        unpatched_s = fetch_all(fs, n);
        for (int i = 0; i < n; i++)
            failed += !fs[i].ok;
        printf("took %.2f s\n", unpatched_s);
        printf("\nUnpatched, one after another: %.2f s. Patched, all at once: %.2f s.\n",
               unpatched_s, patched_s);
    }

    hub_shutdown();
    if (serving)
        server_stop();
    free(fs);
    free(own);
    return failed ? CL_EXIT_FAIL : 0;
}
