/* backend_libevent.c - the hub's backend on libevent (see backend.h).
 *
 * Under epoll (which has edge-triggered events) each fd gets one
 * persistent READ|WRITE|ET event, added once: a recv that meets EAGAIN
 * then costs one epoll_wait and no epoll_ctl. Under poll and select each
 * direction gets a one-shot event, added while a greenlet waits. */
#include "backend.h"
#include "hub.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

struct hub_backend {
    struct event_base *base;
    struct event *timer_ev; /* makes a turn end at the hub's next deadline */
    hub_backend_ready_fn ready;
    bool edge_triggered;
    bool early_close;       /* EV_CLOSED (epoll's EPOLLRDHUP) is offered */
    bool select;            /* fd_set: FD_SETSIZE bits, no more */
};

struct hub_backend_fd {
    struct hub_backend *b;
    void *cookie;
    struct event *ev;        /* edge-triggered: READ|WRITE|PERSIST|ET */
    struct event *rev, *wev; /* level-triggered: one-shot per direction */
};

/* HUB_READ and HUB_WRITE are libevent's EV_READ and EV_WRITE. */
_Static_assert(HUB_READ == EV_READ && HUB_WRITE == EV_WRITE &&
                   HUB_BACKEND_HUP == EV_CLOSED,
               "hub.h's directions are libevent's");

static int le_supports(const char *method)
{
    for (const char **m = event_get_supported_methods(); m && *m; m++)
        if (strcmp(*m, method) == 0)
            return 1;
    return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg; /* it only ends the turn */
}

static struct hub_backend *le_open(const char *method,
                                   hub_backend_ready_fn ready)
{
    struct hub_backend *b = calloc(1, sizeof *b);
    struct event_config *cfg = event_config_new();
    if (!b || !cfg)
        goto fail;
    if (method) /* libevent picks among those not avoided */
        for (const char **m = event_get_supported_methods(); m && *m; m++)
            if (strcmp(*m, method) != 0)
                event_config_avoid_method(cfg, *m);
    b->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    cfg = NULL;
    if (!b->base || !(b->timer_ev = evtimer_new(b->base, on_timer, b)))
        goto fail;
    b->ready = ready;
    b->edge_triggered =
        (event_base_get_features(b->base) & EV_FEATURE_ET) != 0;
    b->early_close =
        (event_base_get_features(b->base) & EV_FEATURE_EARLY_CLOSE) != 0;
    b->select = strcmp(event_base_get_method(b->base), "select") == 0;
    return b;
fail:
    if (cfg)
        event_config_free(cfg);
    if (b && b->base)
        event_base_free(b->base);
    free(b);
    errno = ENOMEM;
    return NULL;
}

static void le_close(struct hub_backend *b)
{
    event_free(b->timer_ev);
    event_base_free(b->base);
    free(b);
}

static const char *le_method(const struct hub_backend *b)
{
    return event_base_get_method(b->base);
}

static int le_fd_limit(const struct hub_backend *b)
{
    return b->select ? FD_SETSIZE : INT32_MAX;
}

static int le_reports_every_edge(const struct hub_backend *b)
{
    return b->edge_triggered;
}

static void fd_event(evutil_socket_t fd, short what, void *arg)
{
    struct hub_backend_fd *f = arg;
    (void)fd;
    /* Known gap: a reset comes as EPOLLHUP|EPOLLERR, which libevent
     * reports as READ|WRITE without EV_CLOSED. A reset that arrived with
     * data, before the short read that took the data, is therefore not
     * remembered (see hub_fd_drained in hub.h). */
    f->b->ready(f->cookie, what & (EV_READ | EV_WRITE | EV_CLOSED));
}

static void le_fd_close(struct hub_backend *b, struct hub_backend_fd *f)
{
    (void)b;
    if (f->ev)
        event_free(f->ev);
    if (f->rev)
        event_free(f->rev);
    if (f->wev)
        event_free(f->wev);
    free(f);
}

static struct hub_backend_fd *le_fd_open(struct hub_backend *b, int fd,
                                         void *cookie)
{
    struct hub_backend_fd *f;
    if (fcntl(fd, F_GETFD) < 0)
        return NULL; /* EBADF: closed, or never opened */
    if (!(f = calloc(1, sizeof *f)))
        return NULL;
    f->b = b;
    f->cookie = cookie;
    if (b->edge_triggered) {
        /* EV_CLOSED: a FIN that came with the last data is reported
         * (hub_fd_drained must not then count a short read as drained). */
        f->ev = event_new(b->base, fd,
                          EV_READ | EV_WRITE | EV_PERSIST | EV_ET |
                              (b->early_close ? EV_CLOSED : 0),
                          fd_event, f);
        if (!f->ev || event_add(f->ev, NULL) != 0)
            goto fail;
    } else {
        f->rev = event_new(b->base, fd, EV_READ, fd_event, f);
        f->wev = event_new(b->base, fd, EV_WRITE, fd_event, f);
        if (!f->rev || !f->wev)
            goto fail;
    }
    return f;
fail:
    le_fd_close(b, f);
    errno = ENOMEM;
    return NULL;
}

static int le_fd_arm(struct hub_backend *b, struct hub_backend_fd *f,
                     short dir)
{
    if (b->edge_triggered)
        return 0; /* watched all along */
    return event_add(dir == HUB_READ ? f->rev : f->wev, NULL) == 0 ? 0
                                                                   : ENOMEM;
}

static void le_fd_disarm(struct hub_backend *b, struct hub_backend_fd *f,
                         short dir)
{
    if (!b->edge_triggered)
        event_del(dir == HUB_READ ? f->rev : f->wev);
}

static int le_poll(struct hub_backend *b, int64_t timeout_ns)
{
    int r;
    if (timeout_ns == 0)
        return event_base_loop(b->base, EVLOOP_NONBLOCK) < 0 ? -1 : 0;
    if (timeout_ns > 0) {
        uint64_t ns = (uint64_t)timeout_ns;
        struct timeval tv = {(time_t)(ns / 1000000000u),
                             (suseconds_t)((ns % 1000000000u + 999) / 1000)};
        if (tv.tv_usec == 1000000) {
            tv.tv_sec++;
            tv.tv_usec = 0;
        }
        evtimer_add(b->timer_ev, &tv);
    }
    r = event_base_loop(b->base, EVLOOP_ONCE);
    if (timeout_ns > 0)
        evtimer_del(b->timer_ev);
    return r;
}

static struct event_base *le_event_base(struct hub_backend *b)
{
    return b->base;
}

const struct hub_backend_ops hub_backend_libevent = {
    .name = "libevent",
    .open = le_open,
    .close = le_close,
    .method = le_method,
    .supports = le_supports,
    .fd_limit = le_fd_limit,
    .reports_every_edge = le_reports_every_edge,
    .fd_open = le_fd_open,
    .fd_close = le_fd_close,
    .fd_arm = le_fd_arm,
    .fd_disarm = le_fd_disarm,
    .poll = le_poll,
    .event_base = le_event_base,
};
