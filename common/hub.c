/* hub.c - gevent's hub: a greenlet that runs libevent's loop and resumes
 * whichever greenlet an event wakes.
 *
 * The moving parts, each in one place:
 *   struct sched   what the hub knows of a greenlet that can block: the
 *                  reason it was woken, its timer, what it waits on.
 *                  Never on the greenlet's stack: SHARED-stack greenlets
 *                  have their stacks copied away while they wait.
 *   ready queue    FIFO of scheds to resume, in the order they were woken.
 *   timers         ours, ordered by (deadline, sequence), so equal
 *                  deadlines fire in the order they were set; libevent
 *                  gets one timer, for the earliest deadline. A timer set
 *                  no earlier than the last one set (the usual case: many
 *                  equal sleeps or timeouts) goes on a sorted FIFO list in
 *                  O(1); only the others go on a binary heap.
 *   fd records     one per fd waited on: a persistent edge-triggered event
 *                  under epoll (a recv that meets EAGAIN costs one
 *                  epoll_wait and no epoll_ctl), one-shot events otherwise.
 * The hub switches to greenlets only from its own loop, never from inside
 * a libevent callback: callbacks just move scheds to the ready queue.
 */
#include "hub.h"
#include "trace.h"
#include "clock.h"

#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOT_IN_HEAP UINT32_MAX
#define IN_RUN (UINT32_MAX - 1) /* heap_idx of a timer on the sorted list */

struct hub;
struct waitlist;

enum wait_kind { WAIT_NONE, WAIT_LIST, WAIT_FD };

/* Packed with care: a million of these sit in memory in lesson 04. */
struct sched {
    struct sched *next_ready;
    /* timer */
    uint64_t deadline;       /* ns, CLOCK_MONOTONIC */
    uint64_t seq;
    struct sched *run_prev, *run_next;
    uint32_t heap_idx;       /* NOT_IN_HEAP, IN_RUN, or its heap slot */
    short reason;            /* what wake() said: 0 or an errno */
    short timer_reason;      /* what expiry means: 0 (sleep) or ETIMEDOUT */
    /* what it waits on, to be undone when something else wakes it */
    unsigned char wait_kind; /* enum wait_kind */
    unsigned char fd_dir;    /* HUB_READ or HUB_WRITE */
    bool queued;             /* on the ready queue */
    bool blocked;            /* switched to the hub, waiting for wake() */
    bool killed;
    bool is_task;            /* embedded in a hub_task (not main's) */
    bool finished;           /* tasks: ended, or killed before starting */
    bool detached;           /* tasks: the hub frees it when it ends */
    union {
        struct { /* WAIT_LIST */
            struct waitlist *wl;
            struct sched *wl_prev, *wl_next;
        };
        struct fdrec *fd; /* WAIT_FD */
    };
};

struct waitlist {
    struct sched *head, *tail;
};

struct hub_task {
    greenlet g;              /* its result is fn's return value */
    struct sched s;
    hub_fn fn;
    void *arg;
    struct waitlist joiners;
    hub_task *all_prev, *all_next; /* every task of the hub, for shutdown */
};

static hub_task *task_of(struct sched *s)
{
    return s && s->is_task ? (hub_task *)((char *)s - offsetof(hub_task, s))
                           : NULL;
}

/* The greenlet a sched belongs to: its task's, or the main greenlet. */
static greenlet *sched_greenlet(struct sched *s)
{
    return s->is_task ? &task_of(s)->g : greenlet_main();
}

struct fdrec {
    struct event *ev;        /* ET mode: READ|WRITE|PERSIST|ET */
    struct event *rev, *wev; /* level mode: one-shot per direction */
    struct sched *reader, *writer;
};

struct hub {
    struct event_base *base;
    struct event *timer_ev;
    greenlet *gr;            /* the hub's own greenlet */
    struct sched main_sched;
    struct sched *ready_head, *ready_tail;
    struct sched **heap;
    size_t heap_len, heap_cap;
    struct sched *run_head, *run_tail; /* timers set in deadline order */
    uint64_t timer_seq;
    struct fdrec **fds;
    size_t nfds;
    bool edge_triggered;
    bool yielded;            /* someone called hub_sleep(0) this turn */
    size_t blocked;          /* scheds waiting on anything but run_waiter */
    struct sched *run_waiter;/* the greenlet in hub_run */
    hub_task *all;
    hub_task *reap;          /* finished detached tasks to free */
};

static __thread struct hub *tls_hub;
static __thread const char *tls_backend;

/* ---- time ---- */

static uint64_t deadline_after(double seconds)
{
    if (seconds > 1e9)
        seconds = 1e9;
    return cl_now_ns() + (uint64_t)(seconds * 1e9);
}

/* ---- the timer heap ---- */

static bool earlier(const struct sched *a, const struct sched *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(struct hub *h, size_t i, struct sched *s)
{
    h->heap[i] = s;
    s->heap_idx = (uint32_t)i;
}

static void heap_up(struct hub *h, size_t i)
{
    struct sched *s = h->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(s, h->heap[p]))
            break;
        heap_set(h, i, h->heap[p]);
        i = p;
    }
    heap_set(h, i, s);
}

static void heap_down(struct hub *h, size_t i)
{
    struct sched *s = h->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->heap_len)
            break;
        if (c + 1 < h->heap_len && earlier(h->heap[c + 1], h->heap[c]))
            c++;
        if (!earlier(h->heap[c], s))
            break;
        heap_set(h, i, h->heap[c]);
        i = c;
    }
    heap_set(h, i, s);
}

static int timer_add(struct hub *h, struct sched *s, uint64_t deadline,
                     int reason)
{
    s->deadline = deadline;
    s->seq = h->timer_seq++;
    s->timer_reason = reason;
    if (!h->run_tail || deadline >= h->run_tail->deadline) {
        s->heap_idx = IN_RUN;
        s->run_next = NULL;
        s->run_prev = h->run_tail;
        if (h->run_tail)
            h->run_tail->run_next = s;
        else
            h->run_head = s;
        h->run_tail = s;
        return 0;
    }
    if (h->heap_len == h->heap_cap) {
        size_t cap = h->heap_cap ? h->heap_cap * 2 : 64;
        struct sched **v = realloc(h->heap, cap * sizeof *v);
        if (!v)
            return -1;
        h->heap = v;
        h->heap_cap = cap;
    }
    heap_set(h, h->heap_len++, s);
    heap_up(h, s->heap_idx);
    return 0;
}

static void timer_remove(struct hub *h, struct sched *s)
{
    size_t i = s->heap_idx;
    struct sched *last;
    if (i == NOT_IN_HEAP)
        return;
    s->heap_idx = NOT_IN_HEAP;
    if (i == IN_RUN) {
        if (s->run_prev)
            s->run_prev->run_next = s->run_next;
        else
            h->run_head = s->run_next;
        if (s->run_next)
            s->run_next->run_prev = s->run_prev;
        else
            h->run_tail = s->run_prev;
        return;
    }
    last = h->heap[--h->heap_len];
    if (last == s)
        return;
    heap_set(h, i, last);
    if (i > 0 && earlier(last, h->heap[(i - 1) / 2]))
        heap_up(h, i);
    else
        heap_down(h, i);
}

/* The timer that expires first, or NULL. */
static struct sched *timer_first(struct hub *h)
{
    struct sched *a = h->heap_len ? h->heap[0] : NULL, *b = h->run_head;
    if (!a)
        return b;
    if (!b)
        return a;
    return earlier(a, b) ? a : b;
}

/* ---- ready queue, wait lists, wake ---- */

static void push_ready(struct hub *h, struct sched *s)
{
    if (s->queued)
        return;
    s->queued = true;
    s->next_ready = NULL;
    if (h->ready_tail)
        h->ready_tail->next_ready = s;
    else
        h->ready_head = s;
    h->ready_tail = s;
}

static struct sched *pop_ready(struct hub *h)
{
    struct sched *s = h->ready_head;
    if (s) {
        h->ready_head = s->next_ready;
        if (!h->ready_head)
            h->ready_tail = NULL;
        s->queued = false;
    }
    return s;
}

static void wl_append(struct waitlist *wl, struct sched *s)
{
    s->wait_kind = WAIT_LIST;
    s->wl = wl;
    s->wl_next = NULL;
    s->wl_prev = wl->tail;
    if (wl->tail)
        wl->tail->wl_next = s;
    else
        wl->head = s;
    wl->tail = s;
}

static void wl_unlink(struct sched *s)
{
    struct waitlist *wl = s->wl;
    if (s->wl_prev)
        s->wl_prev->wl_next = s->wl_next;
    else
        wl->head = s->wl_next;
    if (s->wl_next)
        s->wl_next->wl_prev = s->wl_prev;
    else
        wl->tail = s->wl_prev;
    s->wl = NULL;
    s->wl_prev = s->wl_next = NULL;
}

static void fd_unwait(struct sched *s);

/* Stop waiting on a list or an fd, whichever it was. */
static void unwait(struct sched *s)
{
    if (s->wait_kind == WAIT_LIST)
        wl_unlink(s);
    else if (s->wait_kind == WAIT_FD)
        fd_unwait(s);
    s->wait_kind = WAIT_NONE;
}

/* Make a blocked greenlet ready, undoing whatever else it waited on. */
static void wake(struct hub *h, struct sched *s, int reason)
{
    if (!s->blocked)
        return;
    if (cl_trace_on) /* before what it waited on is undone */
        cl_trace_wake(sched_greenlet(s), "%s",
                      reason == ETIMEDOUT   ? "timeout"
                      : reason == ECANCELED ? "killed"
                      : reason == EBADF     ? "closed"
                      : reason              ? hub_strerror(reason)
                      : s->wait_kind == WAIT_FD
                          ? (s->fd_dir == HUB_READ ? "readable" : "writable")
                      : s->wait_kind == WAIT_LIST ? "done"
                      : s == h->run_waiter        ? "nothing left to run"
                      : sched_greenlet(s) == greenlet_current() ? "its turn again"
                                                    : "timer");
    s->blocked = false;
    s->reason = reason;
    if (s != h->run_waiter)
        h->blocked--;
    if (s->heap_idx != NOT_IN_HEAP)
        timer_remove(h, s);
    unwait(s);
    push_ready(h, s);
}

static void wake_all(struct hub *h, struct waitlist *wl, int reason)
{
    while (wl->head)
        wake(h, wl->head, reason);
}

/* ---- the hub itself ---- */

static struct hub *hub_get(void);

static struct sched *current_sched(struct hub *h)
{
    greenlet *g = greenlet_current();
    if (g == h->gr)
        return NULL;
    return g->data;
}

/* Switch to the hub until wake(); returns wake's reason. The deadline (0:
 * none) wakes us with `expiry` (0 for a sleep, ETIMEDOUT for a wait). */
static int block(struct hub *h, struct sched *me, uint64_t deadline, int expiry)
{
    if (deadline && timer_add(h, me, deadline, expiry) != 0) {
        unwait(me);
        return ENOMEM;
    }
    me->blocked = true;
    if (me != h->run_waiter)
        h->blocked++;
    greenlet_switch(h->gr, NULL);
    return me->reason;
}

/* Common entry of every blocking call: who is calling, may it block? */
static struct sched *blocking_caller(struct hub **hp)
{
    struct hub *h = hub_get();
    struct sched *me;
    *hp = h;
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    me = current_sched(h);
    if (!me) {
        /* The hub's own greenlet (an event callback) or a greenlet the hub
         * did not spawn: there is nobody to switch back to it. */
        errno = EPERM;
        return NULL;
    }
    if (me->killed) {
        errno = ECANCELED;
        return NULL;
    }
    return me;
}

static int result(int reason)
{
    if (reason == 0)
        return 0;
    errno = reason;
    return -1;
}

static void free_task(struct hub *h, hub_task *t)
{
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else
        h->all = t->all_next;
    if (t->all_next)
        t->all_next->all_prev = t->all_prev;
    greenlet_free(&t->g);
    free(t);
}

/* A task's greenlet ended (or was killed before it started). */
static void task_finished(struct hub *h, hub_task *t)
{
    if (t->s.finished)
        return;
    t->s.finished = true;
    timer_remove(h, &t->s);
    wake_all(h, &t->joiners, 0);
}

static void *task_main(void *arg, void *value)
{
    hub_task *t = arg;
    (void)value;
    if (!t->s.killed)
        return t->fn(t->arg);
    return NULL;
}

/* Free finished detached tasks: only from the hub, never on their stack. */
static void reap(struct hub *h, hub_task *t)
{
    if (t->s.finished && t->s.detached && !t->s.queued)
        free_task(h, t);
}

static void run_ready(struct hub *h)
{
    struct sched *s;
    while ((s = pop_ready(h)) != NULL) {
        hub_task *t = task_of(s);
        if (t && t->s.finished) { /* killed before it ran */
            reap(h, t);
            continue;
        }
        if (greenlet_switch(sched_greenlet(s), NULL) == GREENLET_ERROR) {
            /* No stack for a new greenlet: it ends, killed, result NULL. */
            if (t) {
                s->killed = true;
                t->g.state = GREENLET_DEAD;
            }
        }
        if (t && greenlet_dead(&t->g)) {
            task_finished(h, t);
            reap(h, t);
        }
        if (h->yielded) /* it is queued again: poll first (hub_main) */
            break;
    }
}

static void fire_timers(struct hub *h)
{
    uint64_t now;
    struct sched *s;
    if (!(s = timer_first(h)))
        return;
    now = cl_now_ns();
    for (; s && s->deadline <= now; s = timer_first(h)) {
        timer_remove(h, s);
        if (s->blocked)
            wake(h, s, s->timer_reason);
        else
            push_ready(h, s); /* a spawn_later task: start it */
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg; /* fire_timers runs after the loop */
}

static void *hub_main(void *arg, void *value)
{
    struct hub *h = arg;
    (void)value;
    for (;;) {
        struct sched *first;
        int r;
        run_ready(h);
        fire_timers(h);
        if (h->ready_head) {
            /* sleep(0) lets the others run: those whose socket became
             * ready too (as in gevent), or a greenlet that yields in a
             * loop would starve every one waiting on I/O. A poll that
             * does not block, only after a yield: no system call is
             * added to a turn that merely has greenlets to run. */
            if (h->yielded) {
                h->yielded = false;
                event_base_loop(h->base, EVLOOP_NONBLOCK);
            }
            continue;
        }
        first = timer_first(h);
        if (h->run_waiter && h->blocked == 0 && !first) {
            wake(h, h->run_waiter, 0); /* hub_run: nothing left to do */
            continue;
        }
        if (first) {
            uint64_t now = cl_now_ns(), d = first->deadline;
            uint64_t ns = d > now ? d - now : 0;
            struct timeval tv = {(time_t)(ns / 1000000000u),
                                 (suseconds_t)((ns % 1000000000u + 999) / 1000)};
            evtimer_add(h->timer_ev, &tv);
        }
        r = event_base_loop(h->base, EVLOOP_ONCE);
        if (r != 0) {
            /* Nothing can ever happen again: whoever waits, waits forever.
             * Tell the main greenlet instead of hanging (gevent's LoopExit). */
            if (h->run_waiter)
                wake(h, h->run_waiter, 0);
            else if (h->main_sched.blocked)
                wake(h, &h->main_sched, EDEADLK);
            else
                greenlet_switch(greenlet_main(), NULL);
        }
        fire_timers(h);
    }
    return NULL;
}

/* hub_set_backend() has checked that `method` is one of these. */
static void avoid_others(struct event_config *cfg, const char *method)
{
    for (const char **m = event_get_supported_methods(); m && *m; m++)
        if (strcmp(*m, method) != 0)
            event_config_avoid_method(cfg, *m);
}

static struct hub *hub_get(void)
{
    struct hub *h = tls_hub;
    struct event_config *cfg;
    /* The hub never touches the rounding mode: switches away from it need
     * not store its FPU control words (see switch.h). */
    static const greenlet_opts hub_opts = {.name = "hub", .fpu_fixed = true};

    if (h)
        return h;
    h = calloc(1, sizeof *h);
    cfg = event_config_new();
    if (!h || !cfg)
        goto fail;
    if (tls_backend)
        avoid_others(cfg, tls_backend);
    h->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    cfg = NULL;
    if (!h->base)
        goto fail;
    h->timer_ev = evtimer_new(h->base, on_timer, h);
    h->gr = greenlet_new_opts(hub_main, h, greenlet_main(), &hub_opts);
    if (!h->timer_ev || !h->gr)
        goto fail;
    h->edge_triggered = (event_base_get_features(h->base) & EV_FEATURE_ET) != 0;
    h->main_sched.heap_idx = NOT_IN_HEAP;
    greenlet_main()->data = &h->main_sched;
    tls_hub = h;
    return h;
fail:
    if (cfg)
        event_config_free(cfg);
    if (h) {
        if (h->gr)
            greenlet_free(h->gr);
        if (h->timer_ev)
            event_free(h->timer_ev);
        if (h->base)
            event_base_free(h->base);
        free(h);
    }
    return NULL;
}

/* ---- tasks ---- */

static hub_task *task_new(hub_fn fn, void *arg, const hub_spawn_opts *opts)
{
    struct hub *h = hub_get();
    greenlet_opts go = {0};
    hub_task *t;

    if (!h)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (opts) {
        go.stack_kind = opts->stack_kind;
        go.stack_size = opts->stack_size;
        go.name = opts->name;
        t->s.detached = opts->detached;
    }
    greenlet_init(&t->g, task_main, t, h->gr, &go);
    if (cl_trace_on) {
        char n[32];
        cl_tracef("spawn %s", greenlet_name(&t->g, n, sizeof n));
    }
    t->g.data = &t->s;
    t->s.is_task = true;
    t->s.heap_idx = NOT_IN_HEAP;
    t->fn = fn;
    t->arg = arg;
    t->all_next = h->all;
    if (h->all)
        h->all->all_prev = t;
    h->all = t;
    return t;
}

hub_task *hub_spawn_with(hub_fn fn, void *arg, const hub_spawn_opts *opts)
{
    hub_task *t = task_new(fn, arg, opts);
    if (t)
        push_ready(tls_hub, &t->s);
    return t;
}

hub_task *(hub_spawn)(hub_fn fn, void *arg)
{
    return hub_spawn_with(fn, arg, NULL);
}

hub_task *hub_spawn_named(hub_fn fn, void *arg, const char *name)
{
    hub_spawn_opts opts = {.name = name};
    return hub_spawn_with(fn, arg, &opts);
}

hub_task *hub_spawn_later(double seconds, hub_fn fn, void *arg)
{
    hub_task *t = task_new(fn, arg, NULL);
    if (!t)
        return NULL;
    /* Its timer makes it ready; if there is no room for one, start now. */
    if (seconds <= 0 ||
        timer_add(tls_hub, &t->s, deadline_after(seconds), 0) != 0)
        push_ready(tls_hub, &t->s);
    return t;
}

void hub_detach(hub_task *t)
{
    t->s.detached = true;
    reap(tls_hub, t); /* a finished task is never the one running */
}

int hub_task_free(hub_task *t)
{
    if (!t)
        return 0;
    if (greenlet_started(&t->g) && !t->s.finished) {
        errno = EBUSY;
        return -1;
    }
    if (t->s.queued) { /* never started: let the hub drop it */
        t->s.killed = true;
        t->s.finished = true;
        t->s.detached = true;
        return 0;
    }
    timer_remove(tls_hub, &t->s);
    free_task(tls_hub, t);
    return 0;
}

bool hub_task_dead(const hub_task *t)
{
    return t->s.finished;
}
bool hub_task_started(const hub_task *t)
{
    return greenlet_started(&t->g);
}
void *hub_task_result(const hub_task *t)
{
    return t->g.result;
}
bool hub_task_killed(const hub_task *t)
{
    return t->s.killed;
}
greenlet *hub_task_greenlet(hub_task *t)
{
    return &t->g;
}
const char *hub_task_name(const hub_task *t, char *buf, size_t len)
{
    return greenlet_name(&t->g, buf, len);
}

hub_task *hub_current(void)
{
    struct sched *s = greenlet_current()->data;
    return task_of(s);
}

bool hub_killed(void)
{
    struct sched *s = greenlet_current()->data;
    return s && s->killed;
}

/* ---- blocking calls ---- */

/* sleep(0): go to the back of the ready queue, so that everyone ready
 * runs first. */
static __attribute__((noinline)) int yield_now(void)
{
    struct hub *h;
    struct sched *me = blocking_caller(&h);
    if (!me)
        return -1;
    me->blocked = true;
    h->blocked++;
    h->yielded = true;
    wake(h, me, 0);
    greenlet_switch(h->gr, NULL);
    return result(me->reason);
}

/* Kept apart from hub_sleep so that a million sleeping SHARED-stack
 * greenlets each save a few bytes less of stack. */
static __attribute__((noinline)) int sleep_until(uint64_t deadline)
{
    struct hub *h;
    struct sched *me = blocking_caller(&h);
    if (!me)
        return -1;
    return result(block(h, me, deadline, 0));
}

int hub_sleep(double seconds)
{
    if (cl_trace_on && seconds > 0)
        cl_trace_why("sleep %.3f s, until %.6f", seconds,
                     cl_trace_clock() + seconds);
    else if (cl_trace_on)
        cl_trace_why("sleep 0: let the others run");
    if (seconds <= 0)
        return yield_now();
    return sleep_until(deadline_after(seconds));
}

static uint64_t timeout_deadline(double timeout)
{
    return timeout < 0 ? 0 : deadline_after(timeout);
}

int hub_join(hub_task *t, double timeout)
{
    struct hub *h;
    struct sched *me;
    if (t->s.finished)
        return 0;
    me = blocking_caller(&h);
    if (!me)
        return -1;
    if (me == &t->s)
        return result(EDEADLK);
    if (timeout == 0)
        return result(ETIMEDOUT);
    if (cl_trace_on) {
        char n[32];
        cl_trace_why("join %s", hub_task_name(t, n, sizeof n));
    }
    wl_append(&t->joiners, me);
    return result(block(h, me, timeout_deadline(timeout), ETIMEDOUT));
}

int hub_joinall(hub_task *const *ts, size_t n, double timeout)
{
    uint64_t deadline = timeout_deadline(timeout);
    size_t i;
    for (i = 0; i < n; i++) {
        double left = HUB_FOREVER;
        if (ts[i]->s.finished)
            continue;
        if (deadline) {
            uint64_t now = cl_now_ns();
            left = deadline > now ? (double)(deadline - now) / 1e9 : 0;
        }
        if (hub_join(ts[i], left) != 0)
            return -1;
    }
    return 0;
}

int hub_kill(hub_task *t, double timeout)
{
    struct hub *h = tls_hub;
    if (t->s.finished)
        return 0;
    t->s.killed = true;
    if (!greenlet_started(&t->g)) {
        task_finished(h, t); /* it never runs; the queue entry is skipped */
        reap(h, t);
        return 0;
    }
    wake(h, &t->s, ECANCELED);
    if (timeout == 0 || current_sched(h) == &t->s)
        return 0;
    return hub_join(t, timeout);
}

int hub_run(void)
{
    struct hub *h;
    struct sched *me = blocking_caller(&h);
    if (!me)
        return -1;
    if (h->run_waiter) {
        errno = EBUSY;
        return -1;
    }
    h->run_waiter = me;
    if (cl_trace_on)
        cl_trace_why("run until nothing is left to do");
    block(h, me, 0, 0);
    h->run_waiter = NULL;
    return result(me->reason);
}

/* ---- waiting on file descriptors ---- */

static void fd_ready(evutil_socket_t fd, short what, void *arg)
{
    struct fdrec *r = arg;
    struct hub *h = tls_hub;
    (void)fd;
    /* An edge nobody waits for is dropped: whoever waits next has just
     * had EAGAIN, which is newer news (see hub_wait_fd in hub.h). */
    if ((what & EV_READ) && r->reader)
        wake(h, r->reader, 0);
    if ((what & EV_WRITE) && r->writer)
        wake(h, r->writer, 0);
}

static void fdrec_free(struct fdrec *r)
{
    if (r->ev)
        event_free(r->ev);
    if (r->rev)
        event_free(r->rev);
    if (r->wev)
        event_free(r->wev);
    free(r);
}

static struct fdrec *fd_record(struct hub *h, int fd)
{
    struct fdrec *r;
    if ((size_t)fd >= h->nfds) {
        size_t n = h->nfds ? h->nfds : 64;
        struct fdrec **v;
        while (n <= (size_t)fd)
            n *= 2;
        v = realloc(h->fds, n * sizeof *v);
        if (!v)
            return NULL;
        memset(v + h->nfds, 0, (n - h->nfds) * sizeof *v);
        h->fds = v;
        h->nfds = n;
    }
    r = h->fds[fd];
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (h->edge_triggered) {
        r->ev = event_new(h->base, fd, EV_READ | EV_WRITE | EV_PERSIST | EV_ET,
                          fd_ready, r);
        if (!r->ev || event_add(r->ev, NULL) != 0) {
            fdrec_free(r);
            return NULL;
        }
    } else {
        r->rev = event_new(h->base, fd, EV_READ, fd_ready, r);
        r->wev = event_new(h->base, fd, EV_WRITE, fd_ready, r);
        if (!r->rev || !r->wev) {
            fdrec_free(r);
            return NULL;
        }
    }
    h->fds[fd] = r;
    return r;
}

static void fd_unwait(struct sched *s)
{
    struct fdrec *r = s->fd;
    if (s->fd_dir == HUB_READ) {
        r->reader = NULL;
        if (r->rev)
            event_del(r->rev);
    } else {
        r->writer = NULL;
        if (r->wev)
            event_del(r->wev);
    }
    s->fd = NULL;
}

int hub_wait_fd(int fd, short what, double timeout)
{
    struct hub *h;
    struct sched *me = blocking_caller(&h);
    struct fdrec *r;
    struct sched **slot;

    if (!me)
        return -1;
    if (fd < 0 || (what != HUB_READ && what != HUB_WRITE))
        return result(EINVAL);
    r = fd_record(h, fd);
    if (!r)
        return result(ENOMEM);
    slot = what == HUB_READ ? &r->reader : &r->writer;
    if (*slot)
        return result(EBUSY);
    if (timeout == 0)
        return result(ETIMEDOUT);
    if (!h->edge_triggered &&
        event_add(what == HUB_READ ? r->rev : r->wev, NULL) != 0)
        return result(ENOMEM);
    if (cl_trace_on)
        cl_trace_why("wait fd %d for %s", fd, what == HUB_READ ? "reading" : "writing");
    *slot = me;
    me->wait_kind = WAIT_FD;
    me->fd = r;
    me->fd_dir = what;
    return result(block(h, me, timeout_deadline(timeout), ETIMEDOUT));
}

void hub_fd_forget(int fd)
{
    struct hub *h = tls_hub;
    struct fdrec *r;
    if (!h || fd < 0 || (size_t)fd >= h->nfds || !(r = h->fds[fd]))
        return;
    if (r->reader)
        wake(h, r->reader, EBADF);
    if (r->writer)
        wake(h, r->writer, EBADF);
    fdrec_free(r);
    h->fds[fd] = NULL;
}

/* ---- the base, backends, shutdown ---- */

struct event_base *hub_event_base(void)
{
    struct hub *h = hub_get();
    return h ? h->base : NULL;
}

int hub_set_backend(const char *method)
{
    const char **m;
    if (tls_hub) {
        errno = EBUSY;
        return -1;
    }
    if (method) {
        for (m = event_get_supported_methods(); m && *m; m++)
            if (strcmp(*m, method) == 0)
                break;
        if (!m || !*m) {
            errno = EINVAL;
            return -1;
        }
    }
    tls_backend = method;
    return 0;
}

const char *hub_backend(void)
{
    struct hub *h = hub_get();
    return h ? event_base_get_method(h->base) : "none";
}

void hub_shutdown(void)
{
    struct hub *h = tls_hub;
    size_t i;
    if (!h || greenlet_current() != greenlet_main())
        return;
    /* fds first: forgetting one wakes its waiters, who must still exist */
    for (i = 0; i < h->nfds; i++)
        if (h->fds[i])
            hub_fd_forget((int)i);
    while (h->all)
        free_task(h, h->all);
    free(h->fds);
    h->fds = NULL; /* libevent may close fds of its own below */
    h->nfds = 0;
    free(h->heap);
    greenlet_free(h->gr);
    event_free(h->timer_ev);
    event_base_free(h->base);
    greenlet_main()->data = NULL;
    free(h);
    tls_hub = NULL;
}

const char *hub_strerror(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return "timed out";
    case ECANCELED:
        return "greenlet was killed";
    case EDEADLK:
        return "would wait forever (joining itself, or nothing left to wake it)";
    case EPERM:
        return "blocking call from the hub itself or from a greenlet it did not spawn";
    case EBUSY:
        return "another greenlet already waits on this fd in this direction";
    default:
        return strerror(err);
    }
}

/* ---- Event ---- */

struct hub_event {
    bool set;
    struct waitlist waiters;
};

hub_event *hub_event_new(void)
{
    return calloc(1, sizeof(hub_event));
}

void hub_event_free(hub_event *e)
{
    if (e && tls_hub)
        wake_all(tls_hub, &e->waiters, EBADF);
    free(e);
}

void hub_event_set(hub_event *e)
{
    e->set = true;
    if (tls_hub)
        wake_all(tls_hub, &e->waiters, 0);
}

void hub_event_clear(hub_event *e)
{
    e->set = false;
}

bool hub_event_is_set(const hub_event *e)
{
    return e->set;
}

int hub_event_wait(hub_event *e, double timeout)
{
    struct hub *h;
    struct sched *me;
    if (e->set)
        return 0;
    me = blocking_caller(&h);
    if (!me)
        return -1;
    if (timeout == 0)
        return result(ETIMEDOUT);
    if (cl_trace_on)
        cl_trace_why("wait for an event");
    wl_append(&e->waiters, me);
    return result(block(h, me, timeout_deadline(timeout), ETIMEDOUT));
}

/* ---- Queue ---- */

struct hub_queue {
    void **items;
    size_t cap, head, len;
    struct waitlist getters, putters;
};

hub_queue *hub_queue_new(size_t capacity)
{
    hub_queue *q;
    if (capacity == 0) {
        errno = EINVAL;
        return NULL;
    }
    q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->items = calloc(capacity, sizeof *q->items);
    if (!q->items) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    return q;
}

void hub_queue_free(hub_queue *q)
{
    if (!q)
        return;
    if (tls_hub) {
        wake_all(tls_hub, &q->getters, EBADF);
        wake_all(tls_hub, &q->putters, EBADF);
    }
    free(q->items);
    free(q);
}

size_t hub_queue_size(const hub_queue *q)
{
    return q->len;
}

/* Wait on one of the queue's lists until woken; 0 or an errno. */
static int queue_wait(struct waitlist *wl, uint64_t deadline)
{
    struct hub *h;
    struct sched *me = blocking_caller(&h);
    if (!me)
        return errno;
    if (cl_trace_on)
        cl_trace_why("wait on a queue");
    wl_append(wl, me);
    return block(h, me, deadline, ETIMEDOUT);
}

int hub_queue_put(hub_queue *q, void *item, double timeout)
{
    uint64_t deadline = timeout_deadline(timeout);
    while (q->len == q->cap) {
        int r = timeout == 0 ? ETIMEDOUT : queue_wait(&q->putters, deadline);
        if (r)
            return result(r);
    }
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    if (q->getters.head && tls_hub)
        wake(tls_hub, q->getters.head, 0);
    return 0;
}

int hub_queue_get(hub_queue *q, void **item, double timeout)
{
    uint64_t deadline = timeout_deadline(timeout);
    while (q->len == 0) {
        int r = timeout == 0 ? ETIMEDOUT : queue_wait(&q->getters, deadline);
        if (r)
            return result(r);
    }
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    if (q->putters.head && tls_hub)
        wake(tls_hub, q->putters.head, 0);
    return 0;
}
