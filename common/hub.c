/* hub.c - gevent's hub: a greenlet that runs an event backend's loop and
 * resumes whichever greenlet an event wakes.
 *
 * The moving parts, each in one place:
 *   hub_waiter     what the hub knows of a greenlet that can block: the
 *                  reason it was woken, its timer, what it waits on
 *                  (hub_impl.h: the wait/wake protocol that sync.c and
 *                  pool.c build on).
 *   ready queue    FIFO of waiters to resume, in the order they were woken.
 *   timers         timer.c, ordered by (deadline, order set); the backend
 *                  is asked to wait no longer than the earliest deadline.
 *   fd records     one per fd waited on, with the backend's record of it
 *                  (backend.h; backend_libevent.c keeps a persistent
 *                  edge-triggered event under epoll, so a recv that meets
 *                  EAGAIN costs one epoll_wait and no epoll_ctl).
 * The hub switches to greenlets only from its own loop, never from inside
 * a backend callback: callbacks just move waiters to the ready queue.
 */
#include "hub_impl.h"
#include "backend.h"
#include "trace.h"
#include "clock.h"
#include "i18n.h"
#include "slab.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the hub keeps for an fd waited on, until hub_fd_forget. */
struct hub_fd {
    struct hub_backend_fd *watch; /* the backend's record */
    struct hub_waiter *reader, *writer;
    short drained;           /* HUB_READ/HUB_WRITE: no edge since the
                              * caller said EAGAIN (hub_fd_drained) */
    bool hup;                /* the peer shut its side: reads never block */
};

struct hub {
    const struct hub_backend_ops *ops; /* backend.h */
    struct hub_backend *backend;
    greenlet *gr;            /* the hub's own greenlet */
    struct hub_waiter main_waiter;
    struct hub_waiter *ready_head, *ready_tail;
    struct hub_timers timers;
    struct hub_fd **fds;     /* indexed by fd */
    size_t nfds;
    int fd_limit;            /* the backend's: fds from here on cannot wait */
    bool every_edge;         /* the backend reports every edge (epoll) */
    bool yielded;            /* someone called hub_sleep(0) this turn */
    size_t blocked;          /* waiters blocked on anything but run_waiter */
    struct hub_waiter *run_waiter; /* the greenlet in hub_run */
    cl_slab tasks;           /* every task's record (slab.h): shutdown
                              * frees those still there, so no list links
                              * them and freeing one touches no other */
    cl_slab task_exts;       /* their hub_task_ext, for those that have one */
    bool said_start_failure; /* could_not_start has written to stderr */
    void (*on_shutdown[HUB_SHUTDOWN_HOOKS])(void); /* hub_on_shutdown */
};

static __thread struct hub *tls_hub;
static __thread const char *tls_backend;

void cl_assert_failed(const char *cond, const char *file, int line)
{
    fprintf(stderr, _("%s:%d: corolab internal error: %s is false\n"), file,
            line, cond);
    abort();
}

hub_task *hub_task_of(struct hub_waiter *w)
{
    return w && w->is_task ? cl_container_of(w, hub_task, w) : NULL;
}

/* The greenlet a waiter belongs to: its task's, or the main greenlet. */
static greenlet *waiter_greenlet(struct hub_waiter *w)
{
    return w->is_task ? &hub_task_of(w)->g : greenlet_main();
}

static void waiter_init(struct hub_waiter *w)
{
    hub_timer_init(&w->timer);
}

/* ---- time ---- */

static int timer_set(struct hub *h, struct hub_waiter *w, uint64_t deadline,
                     int expiry_reason)
{
    CL_ASSERT(expiry_reason >= 0 && expiry_reason <= UCHAR_MAX);
    w->expiry_reason = (unsigned char)expiry_reason;
    return hub_timers_add(&h->timers, &w->timer, deadline);
}

static struct hub_waiter *waiter_of_timer(struct hub_timer *t)
{
    return t ? cl_container_of(t, struct hub_waiter, timer) : NULL;
}

/* ---- ready queue, wait lists, wake ---- */

static void push_ready(struct hub *h, struct hub_waiter *w)
{
    if (w->ready)
        return;
    CL_ASSERT(w->wait_on == HUB_WAIT_NOTHING); /* next_ready's union */
    w->ready = true;
    w->next_ready = NULL;
    if (h->ready_tail)
        h->ready_tail->next_ready = w;
    else
        h->ready_head = w;
    h->ready_tail = w;
}

static struct hub_waiter *pop_ready(struct hub *h)
{
    struct hub_waiter *w = h->ready_head;
    if (w) {
        h->ready_head = w->next_ready;
        if (!h->ready_head)
            h->ready_tail = NULL;
        w->ready = false;
    }
    return w;
}

void hub_waitlist_init(struct hub_waitlist *wl)
{
    cl_list_init(&wl->waiters);
}

bool hub_waitlist_empty(const struct hub_waitlist *wl)
{
    return cl_list_empty(&wl->waiters);
}

void hub_waitlist_add(struct hub_waitlist *wl, struct hub_waiter *w)
{
    CL_ASSERT(w->wait_on == HUB_WAIT_NOTHING && !w->blocked);
    w->wait_on = HUB_WAIT_LIST;
    cl_list_push_back(&wl->waiters, &w->wait_link);
}

static void fd_unwait(struct hub_waiter *w);

/* Stop waiting on a list or an fd, whichever it was. */
static void unwait(struct hub_waiter *w)
{
    if (w->wait_on == HUB_WAIT_LIST)
        cl_list_remove(&w->wait_link);
    else if (w->wait_on == HUB_WAIT_FD)
        fd_unwait(w);
    w->wait_on = HUB_WAIT_NOTHING;
}

static const char *wake_why(struct hub *h, struct hub_waiter *w, int reason)
{
    switch (reason) {
    case 0:
        break;
    case ETIMEDOUT:
        return N_("timeout");
    case ECANCELED:
        return N_("killed");
    case EBADF:
        return N_("closed");
    default:
        return hub_strerror(reason);
    }
    if (w->wait_on == HUB_WAIT_FD)
        return w->fd_dir == HUB_READ ? N_("readable") : N_("writable");
    if (w->wait_on == HUB_WAIT_LIST)
        return N_("done");
    if (w == h->run_waiter)
        return N_("nothing left to run");
    if (waiter_greenlet(w) == greenlet_current())
        return N_("its turn again");
    return N_("timer");
}

/* Ask for the top of a woken greenlet's stack (the frames its switch
 * pops and returns through) while it waits its turn. Between two turns of
 * one connection of a server with a thousand, every other one has run and
 * the kernel has been through its sockets: those lines are out of the
 * cache, and switching in stalled on them, ~4.5% of 06's time at 1,000
 * connections (perf: the switch's `jmp *%rcx`), against ~1.6% once they
 * were asked for at wake-up. A prefetch never faults, so a stale pointer costs
 * nothing. */
static inline void prefetch_frames(const greenlet *g)
{
    const char *sp = cl_ctx_sp(&g->ctx);
    __builtin_prefetch(sp);
    __builtin_prefetch(sp + 64);
    __builtin_prefetch(sp + 128);
    __builtin_prefetch(sp + 192);
}

/* Make a blocked greenlet ready, undoing whatever else it waited on. */
static void wake(struct hub *h, struct hub_waiter *w, int reason)
{
    if (!w->blocked)
        return;
    if (cl_trace_on) /* before what it waited on is undone */
        cl_trace_wake(waiter_greenlet(w), "%s", _(wake_why(h, w, reason)));
    CL_ASSERT(reason >= 0 && reason <= UCHAR_MAX);
    w->blocked = false;
    w->wake_reason = (unsigned char)reason;
    if (w != h->run_waiter) {
        CL_ASSERT(h->blocked > 0);
        h->blocked--;
    }
    hub_timers_remove(&h->timers, &w->timer);
    unwait(w);
    push_ready(h, w);
    /* tasks only, not waiter_greenlet(w): main's context has no saved
     * stack pointer (NULL) until it first switches away */
    if (w->is_task)
        prefetch_frames(&hub_task_of(w)->g);
}

void hub_wake(struct hub_waiter *w, int reason)
{
    CL_ASSERT(tls_hub != NULL);
    wake(tls_hub, w, reason);
}

static bool wake_first(struct hub *h, struct hub_waitlist *wl, int reason)
{
    struct cl_list *l = cl_list_first(&wl->waiters);
    if (!l)
        return false;
    wake(h, cl_container_of(l, struct hub_waiter, wait_link), reason);
    return true;
}

bool hub_wake_first(struct hub_waitlist *wl, int reason)
{
    if (hub_waitlist_empty(wl))
        return false;
    CL_ASSERT(tls_hub != NULL);
    return wake_first(tls_hub, wl, reason);
}

void hub_wake_all(struct hub_waitlist *wl, int reason)
{
    if (hub_waitlist_empty(wl))
        return;
    CL_ASSERT(tls_hub != NULL);
    while (wake_first(tls_hub, wl, reason))
        ;
}

/* ---- the hub itself ---- */

static struct hub *hub_get(void);

static void *task_main(void *arg, void *value);

/* The waiter of a greenlet of this thread: its task's (a task's greenlet
 * runs task_main: no pointer in the greenlet says so), the main greenlet's
 * (the hub's main_waiter), or NULL (the hub's own greenlet, one the hub
 * did not spawn, or no hub). */
static struct hub_waiter *waiter_of(greenlet *g)
{
    if (g->run == task_main)
        return &cl_container_of(g, hub_task, g)->w;
    if (tls_hub && g == greenlet_main())
        return &tls_hub->main_waiter;
    return NULL;
}

static struct hub_waiter *current_waiter(struct hub *h)
{
    (void)h;
    return waiter_of(greenlet_current());
}

/* The first half of blocking: the deadline's timer, the counts. 0, or
 * ENOMEM when there was no room for the timer (nothing is left waiting). */
static inline __attribute__((always_inline)) int
block_prepare(struct hub *h, struct hub_waiter *me, uint64_t deadline,
              int expiry)
{
    CL_ASSERT(me == current_waiter(h) && !me->blocked && !me->ready);
    if (deadline != HUB_NO_DEADLINE &&
        timer_set(h, me, deadline, expiry) != 0) {
        unwait(me);
        return ENOMEM;
    }
    me->blocked = true;
    if (me != h->run_waiter)
        h->blocked++;
    return 0;
}

static bool on_shared_stack(void)
{
    return greenlet_current()->stack_kind == GREENLET_STACK_SHARED;
}

/* Switch to the hub until wake(); returns wake's reason. The deadline
 * (HUB_NO_DEADLINE: none) wakes us with `expiry` (0 for a sleep,
 * ETIMEDOUT for a wait). Inlined, with block_prepare: the switch clobbers
 * every callee-saved register, so a frame of its own would save all six
 * again under its caller's, and each frame between a blocking call and
 * the switch is one more line of a parked greenlet's stack that its
 * resume loads cold (common/README.md, "Echo at a thousand connections"). */
static inline __attribute__((always_inline)) int block(struct hub *h, struct hub_waiter *me, uint64_t deadline,
                 int expiry)
{
    int err = block_prepare(h, me, deadline, expiry);
    if (err)
        return err;
    greenlet_switch(h->gr, NULL);
    CL_ASSERT(!me->blocked && me->wait_on == HUB_WAIT_NOTHING);
    return me->wake_reason;
}

int hub_block(struct hub_waiter *me, uint64_t deadline)
{
    CL_ASSERT(tls_hub != NULL);
    return block(tls_hub, me, deadline, ETIMEDOUT);
}

/* Common entry of every blocking call: who is calling, may it block?
 * Inlined: hub_wait_fd_until's h then lives in a register, not in its
 * frame, which a parked greenlet keeps. */
static inline __attribute__((always_inline)) struct hub_waiter *
blocking_caller(struct hub **hp)
{
    struct hub *h = hub_get();
    struct hub_waiter *me;
    *hp = h;
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    me = current_waiter(h);
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

struct hub_waiter *hub_waiter_current(void)
{
    struct hub *h;
    return blocking_caller(&h);
}

int hub_fail(int reason)
{
    if (reason == 0)
        return 0;
    errno = reason;
    return -1;
}

bool hub_task_is_ours(const hub_task *t)
{
    return t->g.thread == greenlet_tls_ && tls_hub != NULL;
}

/* t's ext, made on first need; NULL with errno ENOMEM. */
static struct hub_task_ext *task_ext(struct hub *h, hub_task *t)
{
    if (!t->ext && (t->ext = cl_slab_alloc(&h->task_exts)) != NULL) {
        hub_waitlist_init(&t->ext->joiners);
        t->ext->on_end = NULL;
    }
    return t->ext;
}

int hub_task_set_hook(hub_task *t, struct hub_task_hook *hook)
{
    CL_ASSERT(hub_task_is_ours(t) && !t->w.finished);
    if (!hook && !t->ext)
        return 0;
    if (!task_ext(tls_hub, t))
        return -1;
    t->ext->on_end = hook;
    return 0;
}

/* Drop t's ext, telling its hook (if any) that t has left. */
static void task_ext_end(struct hub *h, hub_task *t)
{
    struct hub_task_ext *x = t->ext;
    if (!x)
        return;
    t->ext = NULL;
    if (x->on_end)
        x->on_end->ended(x->on_end, t);
    cl_slab_free(&h->task_exts, x);
}

static void free_task(struct hub *h, hub_task *t)
{
    task_ext_end(h, t); /* freed unended (hub_shutdown): its group must
                         * forget it */
    greenlet_free(&t->g);
    cl_slab_free(&h->tasks, t);
}

/* A task's greenlet ended (or was killed before it started). */
static void task_finished(struct hub *h, hub_task *t)
{
    if (t->w.finished)
        return;
    t->w.finished = true;
    hub_timers_remove(&h->timers, &t->w.timer);
    if (t->ext)
        while (wake_first(h, &t->ext->joiners, 0))
            ;
    task_ext_end(h, t);
}

static void *task_main(void *arg, void *value)
{
    hub_task *t = cl_container_of(greenlet_current(), hub_task, g);
    (void)value;
    if (!t->w.killed)
        return t->w.start_fn(arg);
    return NULL;
}

/* Free finished detached tasks: only from the hub, never on their stack. */
static void reap(struct hub *h, hub_task *t)
{
    if (t->w.finished && t->w.detached && !t->w.ready)
        free_task(h, t);
}

/* A task whose greenlet could not start (no stack: ENOMEM, or EAGAIN
 * when the kernel's mapping limit is reached; guarded stacks are taken at
 * spawn, but the thread's shared stack at the first switch) ends at once
 * with the reason kept: hub_join reports it, hub_task_error tells it.
 * Nobody joins a detached task, so the first such failure is also said on
 * stderr. */
static void could_not_start(struct hub *h, hub_task *t, int err)
{
    t->w.start_error = (unsigned char)(err > 0 && err <= UCHAR_MAX ? err : ENOMEM);
    t->g.result = NULL; /* not its arg: run never returned */
    t->g.state = GREENLET_DEAD;
    if (cl_trace_on)
        cl_tracef(N_("%s could not start: %s"), t->g.name ? t->g.name : _("a greenlet"),
                  hub_strerror(t->w.start_error));
    if (t->w.detached && !h->said_start_failure) {
        char n[32];
        h->said_start_failure = true;
        fprintf(stderr, _("corolab: greenlet %s could not start: %s "
                          "(further failures not shown)\n"),
                greenlet_name(&t->g, n, sizeof n),
                hub_strerror(t->w.start_error));
    }
}

static void resume_ready(struct hub *h)
{
    struct hub_waiter *s;
    while ((s = pop_ready(h)) != NULL) {
        hub_task *t = hub_task_of(s);
        if (t && t->w.finished) { /* killed before it ran */
            reap(h, t);
            continue;
        }
        /* Its blocking call's return value, errno set: a SHARED greenlet
         * that parked in sleep_until returns it straight from its switch
         * (greenlet_switch_int_); others take wake_reason, and a task's
         * first switch (reason 0) ignores it. */
        void *result = (void *)(intptr_t)hub_fail(s->wake_reason);
        if (greenlet_switch(waiter_greenlet(s), result) == GREENLET_ERROR &&
            t) /* only a task's first switch can fail: no stack for it */
            could_not_start(h, t, errno);
        if (t && greenlet_dead(&t->g)) {
            task_finished(h, t);
            reap(h, t);
        }
        if (h->yielded) /* it is queued again: poll first (hub_main) */
            break;
    }
}

/* Has the first timer expired? */
static bool timers_expired(struct hub *h)
{
    struct hub_timer *first = hub_timers_first(&h->timers);
    return first && first->deadline <= cl_now_ns();
}

static void fire_timers(struct hub *h)
{
    uint64_t now;
    struct hub_waiter *s;
    if (!(s = waiter_of_timer(hub_timers_first(&h->timers))))
        return;
    now = cl_now_ns();
    for (; s && s->timer.deadline <= now;
         s = waiter_of_timer(hub_timers_first(&h->timers))) {
        hub_timers_remove(&h->timers, &s->timer);
        if (s->blocked)
            wake(h, s, s->expiry_reason);
        else
            push_ready(h, s); /* a spawn_later task: start it */
    }
}

/* Nothing can ever happen again: whoever waits, waits forever. Tell the
 * main greenlet instead of hanging (gevent's LoopExit). */
static void deadlock(struct hub *h)
{
    if (h->run_waiter)
        wake(h, h->run_waiter, 0);
    else if (h->main_waiter.blocked)
        wake(h, &h->main_waiter, EDEADLK);
    else
        greenlet_switch(greenlet_main(), NULL);
}

/* The hub's loop: run every ready greenlet, fire expired timers, then let
 * the backend sleep until the next deadline or an fd is ready. */
static void *hub_main(void *arg, void *value)
{
    struct hub *h = arg;
    (void)value;
    for (;;) {
        struct hub_timer *first;
        int64_t timeout_ns = -1;
        resume_ready(h);
        if (timers_expired(h)) {
            /* Ready I/O wins over a timeout that expired while greenlets
             * ran: look at the fds first (without blocking), so that a
             * recv whose data is waiting gets the data, not ETIMEDOUT. */
            h->ops->poll(h->backend, 0);
            fire_timers(h);
        } else if (h->yielded && h->ready_head) {
            /* sleep(0) lets the others run: those whose socket became
             * ready too (as in gevent), or a greenlet that yields in a
             * loop would starve every one waiting on I/O. A poll that
             * does not block, only after a yield: no system call is
             * added to a turn that merely has greenlets to run. */
            h->ops->poll(h->backend, 0);
        }
        h->yielded = false;
        if (h->ready_head)
            continue;
        first = hub_timers_first(&h->timers);
        if (h->run_waiter && h->blocked == 0 && !first) {
            wake(h, h->run_waiter, 0); /* hub_run: nothing left to do */
            continue;
        }
        if (first) {
            uint64_t now = cl_now_ns();
            timeout_ns = first->deadline > now
                             ? (int64_t)(first->deadline - now) : 0;
        }
        if (h->ops->poll(h->backend, timeout_ns) != 0)
            deadlock(h);
        fire_timers(h); /* after the fds this turn reported ready */
    }
    return NULL;
}

static void fd_ready(void *cookie, short what);

static struct hub *hub_get(void)
{
    struct hub *h = tls_hub;
    /* The hub never touches the rounding mode: switches away from it need
     * not store its FPU control words (see switch.h). */
    static const greenlet_opts hub_opts = {.name = "hub", .fpu_fixed = true};

    if (h)
        return h;
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ops = &hub_backend_libevent;
    h->backend = h->ops->open(tls_backend, fd_ready);
    h->gr = greenlet_new_opts(hub_main, h, greenlet_main(), &hub_opts);
    if (!h->backend || !h->gr) {
        if (h->gr)
            greenlet_free(h->gr);
        if (h->backend)
            h->ops->close(h->backend);
        free(h);
        return NULL;
    }
    h->fd_limit = h->ops->fd_limit(h->backend);
    h->every_edge = h->ops->reports_every_edge(h->backend) != 0;
    waiter_init(&h->main_waiter);
    hub_timers_init(&h->timers);
    cl_slab_init(&h->tasks, sizeof(hub_task));
    cl_slab_init(&h->task_exts, sizeof(struct hub_task_ext));
    tls_hub = h;
    return h;
}

/* ---- tasks ---- */

static hub_task *task_new(hub_fn fn, void *arg, const hub_spawn_opts *opts)
{
    struct hub *h = hub_get();
    greenlet_opts go = {0};
    hub_task *t;

    if (!h)
        return NULL;
    t = cl_slab_alloc(&h->tasks);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    if (opts) {
        go.stack_kind = opts->stack_kind;
        go.stack_size = opts->stack_size;
        go.name = opts->name;
        t->w.detached = opts->detached;
    }
    if (greenlet_init(&t->g, task_main, arg, h->gr, &go) != 0) {
        /* No stack (or no copy of its name): say so now, at spawn, rather
         * than leave a task that can never start. */
        int err = errno ? errno : ENOMEM;
        greenlet_free(&t->g);
        cl_slab_free(&h->tasks, t);
        errno = err;
        return NULL;
    }
    if (cl_trace_on) {
        char n[32];
        cl_tracef(N_("spawn %s"), greenlet_name(&t->g, n, sizeof n));
    }
    t->w.is_task = true;
    waiter_init(&t->w);
    t->w.start_fn = fn;
    return t;
}

hub_task *hub_spawn_with(hub_fn fn, void *arg, const hub_spawn_opts *opts)
{
    hub_task *t = task_new(fn, arg, opts);
    if (t)
        push_ready(tls_hub, &t->w);
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
    hub_task *t;
    if (isnan(seconds)) {
        errno = EINVAL;
        return NULL;
    }
    if (!(t = task_new(fn, arg, NULL)))
        return NULL;
    /* Its timer makes it ready; if there is no room for one, start now. */
    if (seconds <= 0 ||
        timer_set(tls_hub, &t->w, hub_deadline_after(seconds), 0) != 0)
        push_ready(tls_hub, &t->w);
    return t;
}

void hub_detach(hub_task *t)
{
    if (!hub_task_is_ours(t))
        return; /* another thread's: not ours to free */
    t->w.detached = true;
    reap(tls_hub, t); /* a finished task is never the one running */
}

int hub_task_free(hub_task *t)
{
    if (!t)
        return 0;
    if (!hub_task_is_ours(t))
        return hub_fail(EPERM);
    if (greenlet_started(&t->g) && !t->w.finished) {
        errno = EBUSY;
        return -1;
    }
    if (t->w.ready) { /* never started: let the hub drop it */
        t->w.killed = true;
        t->w.detached = true;
        task_finished(tls_hub, t);
        return 0;
    }
    hub_timers_remove(&tls_hub->timers, &t->w.timer);
    free_task(tls_hub, t);
    return 0;
}

bool hub_task_dead(const hub_task *t)
{
    return t->w.finished;
}
bool hub_task_started(const hub_task *t)
{
    return greenlet_started(&t->g);
}
void *hub_task_result(const hub_task *t)
{
    return greenlet_result(&t->g);
}
int hub_task_error(const hub_task *t)
{
    return t->w.start_error;
}

bool hub_task_killed(const hub_task *t)
{
    return t->w.killed;
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
    return hub_task_of(waiter_of(greenlet_current()));
}

bool hub_killed(void)
{
    struct hub_waiter *s = waiter_of(greenlet_current());
    return s && s->killed;
}

/* ---- blocking calls ---- */

/* sleep(0): go to the back of the ready queue, so that everyone ready
 * runs first. */
static __attribute__((noinline)) int yield_now(void)
{
    struct hub *h;
    struct hub_waiter *me = blocking_caller(&h);
    if (!me)
        return -1;
    me->blocked = true;
    h->blocked++;
    h->yielded = true;
    wake(h, me, 0);
    greenlet_switch(h->gr, NULL);
    return hub_fail(me->wake_reason);
}

/* Kept apart from hub_sleep, and ending in a tail call to the switch, so
 * that a million sleeping SHARED-stack greenlets save no frame of it nor
 * of hub_sleep: what they keep is their own frames and the switch's
 * registers (common/README.md, "A million sleeping greenlets"). The hub
 * resumes it with its return value, errno set (resume_ready); it keeps
 * nothing live across the switch. */
static __attribute__((noinline)) int sleep_until(uint64_t deadline)
{
    struct hub *h;
    struct hub_waiter *me = blocking_caller(&h);
    int err;
    if (!me)
        return -1;
    if (!on_shared_stack())
        return hub_fail(block(h, me, deadline, 0));
    if ((err = block_prepare(h, me, deadline, 0)) != 0)
        return hub_fail(err);
    return greenlet_switch_int_(h->gr, NULL);
}

int hub_sleep(double seconds)
{
    /* NaN would sleep forever, a negative or infinite time is a mistake
     * (Python's time.sleep refuses them too). */
    if (!(seconds >= 0 && seconds <= 1e300))
        return hub_fail(EINVAL);
    if (cl_trace_on && seconds > 0)
        cl_trace_why(N_("sleep %.3f s, until %.6f"), seconds,
                     cl_trace_clock() + seconds);
    else if (cl_trace_on)
        cl_trace_why(N_("sleep 0: let the others run"));
    if (seconds == 0)
        return yield_now();
    return sleep_until(hub_deadline_after(seconds));
}

int hub_join(hub_task *t, double timeout)
{
    struct hub *h;
    struct hub_waiter *me;
    uint64_t deadline;
    int err;
    if (!hub_task_is_ours(t))
        return hub_fail(EPERM);
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    if (t->w.finished)
        return hub_fail(t->w.start_error);
    me = blocking_caller(&h);
    if (!me)
        return -1;
    if (me == &t->w)
        return hub_fail(EDEADLK);
    if (timeout == 0)
        return hub_fail(ETIMEDOUT);
    if (cl_trace_on) {
        char n[32];
        cl_trace_why(N_("join %s"), hub_task_name(t, n, sizeof n));
    }
    if (!task_ext(h, t))
        return -1;
    hub_waitlist_add(&t->ext->joiners, me);
    err = block(h, me, deadline, ETIMEDOUT);
    return hub_fail(err ? err : t->w.start_error);
}

/* Joins them all even when one could not start (its error is returned at
 * the end), so that every task has ended and can be freed. */
int hub_joinall(hub_task *const *ts, size_t n, double timeout)
{
    uint64_t deadline;
    int start_error = 0;
    size_t i;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    for (i = 0; i < n; i++) {
        double left = HUB_FOREVER;
        if (ts[i]->w.finished && !ts[i]->w.start_error)
            continue;
        if (deadline != HUB_NO_DEADLINE) {
            uint64_t now = cl_now_ns();
            left = deadline > now ? (double)(deadline - now) / 1e9 : 0;
        }
        if (hub_join(ts[i], left) != 0) {
            if (errno != ts[i]->w.start_error || !ts[i]->w.finished)
                return -1;
            if (!start_error)
                start_error = errno;
        }
    }
    return hub_fail(start_error);
}

int hub_kill(hub_task *t, double timeout)
{
    struct hub *h = tls_hub;
    if (!hub_task_is_ours(t))
        return hub_fail(EPERM);
    if (isnan(timeout))
        return hub_fail(EINVAL);
    if (t->w.finished)
        return 0;
    t->w.killed = true;
    if (!greenlet_started(&t->g)) {
        task_finished(h, t); /* it never runs; the queue entry is skipped */
        reap(h, t);
        return 0;
    }
    wake(h, &t->w, ECANCELED);
    if (timeout == 0 || current_waiter(h) == &t->w)
        return 0;
    return hub_join(t, timeout);
}

int hub_run(void)
{
    struct hub *h;
    struct hub_waiter *me = blocking_caller(&h);
    if (!me)
        return -1;
    if (h->run_waiter) {
        errno = EBUSY;
        return -1;
    }
    h->run_waiter = me;
    if (cl_trace_on)
        cl_trace_why(N_("run until nothing is left to do"));
    block(h, me, 0, 0);
    h->run_waiter = NULL;
    return hub_fail(me->wake_reason);
}

/* ---- waiting on file descriptors ---- */

/* The backend's report: fd (cookie: its record) is ready. */
static void fd_ready(void *cookie, short what)
{
    struct hub_fd *r = cookie;
    struct hub *h = tls_hub;
    if (what & HUB_BACKEND_HUP) { /* EOF is readable, now and forever */
        r->hup = true;
        what = (short)((what & ~HUB_BACKEND_HUP) | HUB_READ);
    }
    r->drained &= (short)~what; /* new data (or room) since EAGAIN */
    /* An edge nobody waits for wakes nobody: whoever waits next has just
     * had EAGAIN, which is newer news (see hub_wait_fd in hub.h). */
    if ((what & HUB_READ) && r->reader)
        wake(h, r->reader, 0);
    if ((what & HUB_WRITE) && r->writer)
        wake(h, r->writer, 0);
}

/* fd's record, made on first use (fd_record below); NULL with errno
 * (EBADF, ENOMEM). */
static struct hub_fd *fd_record_new(struct hub *h, int fd)
{
    struct hub_fd *r;
    if ((size_t)fd >= h->nfds) {
        size_t n = h->nfds ? h->nfds : 64;
        struct hub_fd **v;
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
    r->watch = h->ops->fd_open(h->backend, fd, r);
    if (!r->watch) {
        free(r);
        return NULL;
    }
    h->fds[fd] = r;
    return r;
}

/* fd's record, made on first use; NULL with errno. Inline, the record
 * that exists: every wait and every drained socket asks. */
static inline struct hub_fd *fd_record(struct hub *h, int fd)
{
    if ((size_t)fd < h->nfds && h->fds[fd])
        return h->fds[fd];
    return fd_record_new(h, fd);
}

static void fd_unwait(struct hub_waiter *w)
{
    struct hub_fd *r = w->fd;
    struct hub *h = tls_hub;
    if (w->fd_dir == HUB_READ)
        r->reader = NULL;
    else
        r->writer = NULL;
    if (!h->every_edge)
        h->ops->fd_disarm(h->backend, r->watch, w->fd_dir);
    w->fd = NULL;
}

/* hub_wait_fd with the deadline already in the clock's nanoseconds: a
 * caller that waits more than once in one call (cosock's recv_exact,
 * sendall) or has just read the clock reads it once, not once more here. */
int hub_wait_fd_until(int fd, short what, uint64_t deadline)
{
    struct hub *h;
    struct hub_waiter *me = blocking_caller(&h);
    struct hub_fd *r;
    struct hub_waiter **slot;
    int err;

    if (!me)
        return -1;
    if (fd < 0 || (what != HUB_READ && what != HUB_WRITE))
        return hub_fail(EINVAL);
    if (fd >= h->fd_limit) /* select's fd_set has no bit for it */
        return hub_fail(ERANGE);
    r = fd_record(h, fd);
    if (!r)
        return -1;
    slot = what == HUB_READ ? &r->reader : &r->writer;
    if (*slot)
        return hub_fail(EBUSY);
    if (deadline == HUB_DEADLINE_NOW)
        return hub_fail(ETIMEDOUT);
    /* under epoll the fd is watched all along (backend_libevent.c) */
    if (!h->every_edge && (err = h->ops->fd_arm(h->backend, r->watch, what)) != 0)
        return hub_fail(err);
    if (cl_trace_on)
        cl_trace_why(what == HUB_READ ? N_("wait fd %d for reading") : N_("wait fd %d for writing"), fd);
    *slot = me;
    me->wait_on = HUB_WAIT_FD;
    me->fd = r;
    me->fd_dir = (unsigned char)what;
    return hub_fail(block(h, me, deadline, ETIMEDOUT));
}

int hub_wait_fd(int fd, short what, double timeout)
{
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    return hub_wait_fd_until(fd, what, timeout == 0 ? HUB_DEADLINE_NOW : deadline);
}

void hub_fd_drained(int fd, short what)
{
    struct hub *h = tls_hub;
    struct hub_fd *r;
    if (!h || !h->every_edge || fd < 0 || fd >= h->fd_limit ||
        (what & ~(HUB_READ | HUB_WRITE)))
        return; /* no edges to tell us when it is ready again */
    if (!(r = fd_record(h, fd)))
        return;
    if (r->hup) /* a short read before EOF: the next read returns 0 */
        what &= (short)~HUB_READ;
    r->drained |= what;
}

bool hub_fd_maybe_ready(int fd, short what)
{
    struct hub *h = tls_hub;
    struct hub_fd *r;
    if (!h || fd < 0 || (size_t)fd >= h->nfds || !(r = h->fds[fd]))
        return true;
    return (r->drained & what) != what;
}

void hub_fd_forget(int fd)
{
    struct hub *h = tls_hub;
    struct hub_fd *r;
    if (!h || fd < 0 || (size_t)fd >= h->nfds || !(r = h->fds[fd]))
        return;
    if (r->reader)
        wake(h, r->reader, EBADF);
    if (r->writer)
        wake(h, r->writer, EBADF);
    h->ops->fd_close(h->backend, r->watch);
    free(r);
    h->fds[fd] = NULL;
}

/* ---- the base, backends, shutdown ---- */

struct event_base *hub_event_base(void)
{
    struct hub *h = hub_get();
    return h ? h->ops->event_base(h->backend) : NULL;
}

int hub_set_backend(const char *method)
{
    if (tls_hub)
        return hub_fail(EBUSY);
    if (method && !hub_backend_libevent.supports(method))
        return hub_fail(EINVAL);
    tls_backend = method;
    return 0;
}

const char *hub_backend(void)
{
    struct hub *h = hub_get();
    return h ? h->ops->method(h->backend) : "none";
}

int hub_on_shutdown(void (*fn)(void))
{
    struct hub *h = hub_get();
    if (!h)
        return -1;
    for (int i = 0; i < HUB_SHUTDOWN_HOOKS; i++)
        if (!h->on_shutdown[i] || h->on_shutdown[i] == fn) {
            h->on_shutdown[i] = fn;
            return 0;
        }
    errno = ENOMEM;
    return -1;
}

static void free_left_task(void *t, void *h)
{
    free_task(h, t);
}

void hub_shutdown(void)
{
    struct hub *h = tls_hub;
    size_t i;
    if (!h || greenlet_current() != greenlet_main())
        return;
    for (i = 0; i < HUB_SHUTDOWN_HOOKS && h->on_shutdown[i]; i++)
        h->on_shutdown[i]();
    /* fds first: forgetting one wakes its waiters, who must still exist */
    for (i = 0; i < h->nfds; i++)
        if (h->fds[i])
            hub_fd_forget((int)i);
    cl_slab_foreach(&h->tasks, free_left_task, h);
    cl_slab_fini(&h->tasks);
    cl_slab_fini(&h->task_exts);
    free(h->fds);
    h->fds = NULL; /* libevent may close fds of its own below */
    h->nfds = 0;
    hub_timers_fini(&h->timers);
    greenlet_free(h->gr);
    h->ops->close(h->backend);
    free(h);
    tls_hub = NULL;
}

const char *hub_strerror(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return _("timed out");
    case ECANCELED:
        return _("greenlet was killed");
    case EDEADLK:
        return _("would wait forever (joining itself, or nothing left to wake it)");
    case EPERM:
        return _("blocking call from the hub itself or from a greenlet it did not spawn");
    case EBUSY:
        return _("another greenlet already waits on this fd in this direction");
    case ENOMEM:
        return _("out of memory, or no stack for a new greenlet (see "
                 "ulimit -v and vm.max_map_count)");
    case ERANGE:
        return _("descriptor past select's FD_SETSIZE (the poll and epoll "
                 "backends have no such limit)");
    default:
        return strerror(err);
    }
}
