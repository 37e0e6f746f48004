/* backend_libevent.c - the hub's backend on libevent (see backend.h).
 *
 * Under epoll the hub's fds are not libevent events: each is added once,
 * READ|WRITE|edge-triggered, to an epoll instance of the backend's own
 * (a recv that meets EAGAIN then costs one epoll_wait and no epoll_ctl),
 * and a turn is one epoll_wait on it whenever libevent has nothing of its
 * own to watch (evdns, evhttp, monkey's poll): libevent's dispatch cost
 * about 280 instructions and several cache lines an event (its struct
 * event, evmap entry, active queue; cachegrind, 06 at 1,000 connections),
 * where this costs about 30. When libevent has events, its loop runs the
 * turn and watches our epoll fd as one of them. Under poll and select
 * each direction gets a one-shot libevent event, added while a greenlet
 * waits. */
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
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#define HAVE_OWN_EPOLL 1
#endif

/* Events taken by one epoll_wait (echo_epoll.c's loops take as many). */
enum { EPOLL_BATCH = 256 };

struct hub_backend {
    struct event_base *base;
    struct event *timer_ev; /* makes a turn end at the hub's next deadline */
    hub_backend_ready_fn ready;
    bool edge_triggered;
    bool select;            /* fd_set: FD_SETSIZE bits, no more */
    int epfd;               /* epoll: the hub's fds, edge-triggered; or -1 */
    struct event *epfd_ev;  /* epfd, for libevent's loop (see le_poll) */
    size_t watched;         /* fds in epfd */
};

struct hub_backend_fd {
    struct hub_backend *b;
    void *cookie;
    int fd;                  /* epoll: to take it out of epfd */
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

#ifdef HAVE_OWN_EPOLL
/* Tell the hub what epoll said. An error or a hang-up (a reset, or both
 * sides shut) wakes both directions and is a close (EV_CLOSED): reads
 * never block again, so the short read that takes data which came with
 * it must not count as drained (hub_fd_drained in hub.h). libevent's own
 * epoll backend reports those as plain READ|WRITE, and a reader of a
 * socket reset with its last data waited for its timeout. EPOLLRDHUP
 * alone is EV_CLOSED too: a FIN that came with the last data. */
static void epoll_report(struct hub_backend *b, const struct epoll_event *evs,
                         int n)
{
    /* Each event's record is another connection's, likely out of the
     * cache: ask for them all at once, not one miss after another. */
    for (int i = 0; i < n; i++)
        __builtin_prefetch(evs[i].data.ptr);
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        short what = 0;
        if (e & (EPOLLERR | EPOLLHUP)) {
            what = EV_READ | EV_WRITE | EV_CLOSED;
        } else {
            if (e & EPOLLIN)
                what |= EV_READ;
            if (e & EPOLLOUT)
                what |= EV_WRITE;
            if (e & EPOLLRDHUP)
                what |= EV_CLOSED;
        }
        if (what)
            b->ready(evs[i].data.ptr, what);
    }
}

/* One epoll_wait on epfd: timeout_ms -1 waits for ever, 0 not at all. */
static int epoll_turn(struct hub_backend *b, int timeout_ms)
{
    struct epoll_event evs[EPOLL_BATCH];
    int n = epoll_wait(b->epfd, evs, EPOLL_BATCH, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    epoll_report(b, evs, n);
    return 0;
}

/* libevent's loop says epfd has events: take them without waiting. */
static void on_epfd(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    epoll_turn(arg, 0);
}
#endif

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
    b->select = strcmp(event_base_get_method(b->base), "select") == 0;
    b->epfd = -1;
#ifdef HAVE_OWN_EPOLL
    if (strcmp(event_base_get_method(b->base), "epoll") == 0) {
        /* Always added, level-triggered: libevent's loop, when it runs a
         * turn, sees our fds too. */
        if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            !(b->epfd_ev = event_new(b->base, b->epfd, EV_READ | EV_PERSIST, on_epfd, b)) ||
            event_add(b->epfd_ev, NULL) != 0)
            goto fail;
    }
#endif
    /* every edge reported (backend.h): only by our own epfd; libevent's
     * other edge-triggered method (kqueue) gets the one-shot events */
    b->edge_triggered = b->epfd >= 0;
    return b;
fail:
    if (cfg)
        event_config_free(cfg);
    if (b && b->epfd_ev)
        event_free(b->epfd_ev);
    if (b && b->timer_ev)
        event_free(b->timer_ev);
    if (b && b->base)
        event_base_free(b->base);
    if (b && b->epfd >= 0)
        close(b->epfd);
    free(b);
    errno = ENOMEM;
    return NULL;
}

static void le_close(struct hub_backend *b)
{
    if (b->epfd_ev)
        event_free(b->epfd_ev);
    event_free(b->timer_ev);
    event_base_free(b->base);
    if (b->epfd >= 0)
        close(b->epfd);
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
    f->b->ready(f->cookie, what & (EV_READ | EV_WRITE | EV_CLOSED));
}

static void le_fd_close(struct hub_backend *b, struct hub_backend_fd *f)
{
#ifdef HAVE_OWN_EPOLL
    if (b->epfd >= 0) {
        /* fails harmlessly (EBADF, ENOENT) for an fd closed already: the
         * kernel took it out of epfd then */
        epoll_ctl(b->epfd, EPOLL_CTL_DEL, f->fd, NULL);
        b->watched--;
    }
#else
    (void)b;
#endif
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
    f->fd = fd;
    if (b->epfd >= 0) {
#ifdef HAVE_OWN_EPOLL
        /* the hub's record itself, not f: one pointer fewer to follow
         * for each event */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = cookie};
        if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(f);
            errno = ENOMEM; /* as libevent's event_add said it */
            return NULL;
        }
        b->watched++;
#endif
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

/* A turn on epfd alone when libevent watches nothing but epfd itself (its
 * one event, b->epfd_ev); 2 when it watches more (libevent's turn then). */
static int own_epoll_poll(struct hub_backend *b, int64_t timeout_ns)
{
#ifdef HAVE_OWN_EPOLL
    int ms;
    if (event_base_get_num_events(b->base, EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE |
                                               EVENT_BASE_COUNT_VIRTUAL) != 1)
        return 2;
    if (timeout_ns < 0 && b->watched == 0)
        return 1; /* nothing would ever end the wait */
    /* rounded up, as libevent does: never a turn that ends early */
    ms = timeout_ns < 0 ? -1
         : timeout_ns >= (int64_t)INT32_MAX * 1000000 ? INT32_MAX
                                                    : (int)((timeout_ns + 999999) / 1000000);
    return epoll_turn(b, ms);
#else
    (void)b, (void)timeout_ns;
    return 2;
#endif
}

static int le_poll(struct hub_backend *b, int64_t timeout_ns)
{
    int r;
    if (b->epfd >= 0 && (r = own_epoll_poll(b, timeout_ns)) != 2)
        return r;
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
