/*
 * page_server.c - lesson 05's offline web server: libevent's evhttp in a
 * second thread, with its own event_base, on a free port of 127.0.0.1,
 * serving three pages of different sizes after different delays (one of
 * them chunked). That thread never calls monkey_patch_all(), so its calls
 * stay libc's (patching is per thread).
 */
#include "page_server.h"
#include "cli.h"
#include "cosock.h" /* cosock_local_port */

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Named after the notes' three sites; answered slowest first. */
const struct page pages[NPAGES] = {
    {"/python", 49152, 0.30, false},
    {"/yahoo", 120000, 0.10, true},
    {"/github", 30000, 0.20, false},
};

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
        server_started(_("cannot create the HTTP server"));
        return NULL;
    }
    evhttp_set_gencb(srv.http, on_request, NULL);
    sock = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
    if (!sock || (srv.port = cosock_local_port(evhttp_bound_socket_get_fd(sock))) < 0) {
        server_started(_("cannot listen on 127.0.0.1"));
        return NULL;
    }
    srv.stop_ev = event_new(srv.base, srv.stop_pipe[0], EV_READ, on_stop, NULL);
    event_add(srv.stop_ev, NULL);
    server_started(NULL);
    event_base_dispatch(srv.base);
    return NULL;
}

static int start_thread(void)
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

void server_start(char urls[NPAGES][SERVER_URL_MAX])
{
    int port = start_thread();
    /* A line a page: the whole fits an 80-column projector. */
    printf(_("Serving on 127.0.0.1:%d:\n"), port);
    for (int i = 0; i < NPAGES; i++) {
        snprintf(urls[i], SERVER_URL_MAX, "http://127.0.0.1:%d%s", port, pages[i].path);
        printf(_("  %-7s %6zu bytes, answered after %.2f s\n"), pages[i].path,
               pages[i].size, pages[i].delay);
    }
}

void server_stop(void)
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

