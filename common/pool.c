/* pool.c - gevent's Pool on the hub's wait/wake protocol (hub_impl.h).
 *
 * Each task of the pool has a small member record: its end hook (called
 * by the hub when the task ends, whoever ended it) and its link on the
 * pool's list, which hub_pool_killall walks. A task that ends frees a
 * slot: the first greenlet waiting for room is woken and checks again
 * (a greenlet that did not wait may have taken the slot), and one that
 * wakes and does not take the slot passes the wake-up on. */
#include "pool.h"
#include "hub_impl.h"
#include "trace.h"
#include "i18n.h"

#include <errno.h>
#include <stdlib.h>

struct member {
    struct hub_task_hook hook;
    struct cl_list link;     /* on hub_pool.members */
    hub_task *task;
    hub_pool *pool;
};

struct hub_pool {
    size_t size;             /* 0: no limit */
    size_t count;
    struct cl_list members;  /* of member.link */
    struct hub_waitlist room;   /* waiting for the pool not to be full */
    struct hub_waitlist empty;  /* waiting for the pool to be empty */
};

hub_pool *hub_pool_new(size_t size)
{
    hub_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->size = size;
    cl_list_init(&p->members);
    hub_waitlist_init(&p->room);
    hub_waitlist_init(&p->empty);
    return p;
}

static void member_free(struct member *m)
{
    CL_ASSERT(m->pool->count > 0 && cl_list_linked(&m->link));
    cl_list_remove(&m->link);
    m->pool->count--;
    free(m);
}

void hub_pool_free(hub_pool *p)
{
    struct cl_list *l, *tmp;
    if (!p)
        return;
    cl_list_for_each_safe(l, tmp, &p->members) {
        struct member *m = cl_container_of(l, struct member, link);
        hub_task_set_hook(m->task, NULL); /* it goes on, outside any pool */
        member_free(m);
    }
    hub_wake_all(&p->room, EBADF);
    hub_wake_all(&p->empty, EBADF);
    free(p);
}

bool hub_pool_full(const hub_pool *p)
{
    return p->size != 0 && p->count >= p->size;
}

size_t hub_pool_count(const hub_pool *p)
{
    return p->count;
}

/* A task of the pool ended: free its slot. */
static void member_ended(struct hub_task_hook *hook, hub_task *t)
{
    struct member *m = cl_container_of(hook, struct member, hook);
    hub_pool *p = m->pool;
    (void)t;
    member_free(m);
    hub_wake_first(&p->room, 0);
    if (p->count == 0)
        hub_wake_all(&p->empty, 0);
}

/* Wait for room; 0 or an errno. */
static int wait_room(hub_pool *p, double timeout)
{
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return EINVAL;
    while (hub_pool_full(p)) {
        struct hub_waiter *me;
        int r;
        if (timeout == 0)
            return ETIMEDOUT;
        if (!(me = hub_waiter_current()))
            return errno;
        if (cl_trace_on)
            cl_trace_why(N_("wait for room in a pool"));
        hub_waitlist_add(&p->room, me);
        r = hub_block(me, deadline);
        if (r) {
            /* It may have been woken for a slot just before: pass it on. */
            if (!hub_pool_full(p))
                hub_wake_first(&p->room, 0);
            return r;
        }
    }
    return 0;
}

int hub_pool_wait_available(hub_pool *p, double timeout)
{
    int r = wait_room(p, timeout);
    /* It only looked: the next waiter may take the slot. */
    if (r == 0 && !hub_pool_full(p))
        hub_wake_first(&p->room, 0);
    return hub_fail(r);
}

hub_task *hub_pool_spawn(hub_pool *p, hub_fn fn, void *arg,
                         const hub_spawn_opts *opts)
{
    hub_spawn_opts o = {0};
    struct member *m;
    hub_task *t;
    int r = wait_room(p, HUB_FOREVER);
    if (r) {
        errno = r;
        return NULL;
    }
    if (opts)
        o = *opts;
    o.detached = true;
    m = calloc(1, sizeof *m);
    t = m ? hub_spawn_with(fn, arg, &o) : NULL;
    if (t && hub_task_set_hook(t, &m->hook) != 0) {
        hub_task_free(t); /* not started: the hub drops it */
        t = NULL;
    }
    if (!t) {
        free(m);
        if (!hub_pool_full(p))
            hub_wake_first(&p->room, 0);
        errno = ENOMEM;
        return NULL;
    }
    m->hook.ended = member_ended;
    m->task = t;
    m->pool = p;
    cl_list_push_back(&p->members, &m->link);
    p->count++;
    return t;
}

int hub_pool_join(hub_pool *p, double timeout)
{
    struct hub_waiter *me;
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    if (p->count == 0)
        return 0;
    if (timeout == 0)
        return hub_fail(ETIMEDOUT);
    if (!(me = hub_waiter_current()))
        return -1;
    if (cl_trace_on)
        cl_trace_why(N_("join a pool of %zu"), p->count);
    hub_waitlist_add(&p->empty, me);
    return hub_fail(hub_block(me, deadline));
}

int hub_pool_killall(hub_pool *p, double timeout)
{
    struct cl_list *l, *tmp;
    hub_task *me = hub_current();
    bool self = false;
    /* A kill may end a task that never started at once, which takes its
     * member off the list: walk it with a saved next. That never removes
     * another member than the killed one. */
    cl_list_for_each_safe(l, tmp, &p->members) {
        hub_task *t = cl_container_of(l, struct member, link)->task;
        if (t == me)
            self = true; /* killed last: it must still walk the list */
        else
            hub_kill(t, 0);
    }
    if (self) {
        hub_kill(me, 0);
        return 0; /* a greenlet cannot wait for itself to end */
    }
    return hub_pool_join(p, timeout);
}
