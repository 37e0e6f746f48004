/* sync.c - Event, Queue and BoundedSemaphore on the hub's wait/wake
 * protocol (hub_impl.h): each keeps waitlists, blocks its callers with
 * hub_block and wakes them with hub_wake_first / hub_wake_all. */
#include "sync.h"
#include "hub_impl.h"
#include "trace.h"
#include "i18n.h"

#include <errno.h>
#include <stdlib.h>

/* Block the caller on wl until woken or `deadline`; 0 or an errno. */
static int wait_on(struct hub_waitlist *wl, uint64_t deadline,
                   const char *what)
{
    struct hub_waiter *me = hub_waiter_current();
    if (!me)
        return errno;
    if (cl_trace_on)
        cl_trace_why(N_("wait on %s"), _(what));
    hub_waitlist_add(wl, me);
    return hub_block(me, deadline);
}

/* ---- Event ---- */

struct hub_event {
    bool set;
    struct hub_waitlist waiters;
};

hub_event *hub_event_new(void)
{
    hub_event *e = calloc(1, sizeof *e);
    if (e)
        hub_waitlist_init(&e->waiters);
    return e;
}

void hub_event_free(hub_event *e)
{
    if (!e)
        return;
    hub_wake_all(&e->waiters, EBADF);
    free(e);
}

void hub_event_set(hub_event *e)
{
    e->set = true;
    hub_wake_all(&e->waiters, 0);
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
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    if (e->set)
        return 0;
    if (timeout == 0)
        return hub_fail(ETIMEDOUT);
    return hub_fail(wait_on(&e->waiters, deadline, N_("an event")));
}

/* ---- Queue ---- */

struct hub_queue {
    void **items;
    size_t cap, head, len;
    struct hub_waitlist getters, putters;
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
    hub_waitlist_init(&q->getters);
    hub_waitlist_init(&q->putters);
    return q;
}

void hub_queue_free(hub_queue *q)
{
    if (!q)
        return;
    hub_wake_all(&q->getters, EBADF);
    hub_wake_all(&q->putters, EBADF);
    free(q->items);
    free(q);
}

size_t hub_queue_size(const hub_queue *q)
{
    return q->len;
}

/* A getter or putter woken with 0 checks again: a greenlet that did not
 * wait may have taken the item or the room in between. */
int hub_queue_put(hub_queue *q, void *item, double timeout)
{
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    while (q->len == q->cap) {
        int r = timeout == 0 ? ETIMEDOUT
                             : wait_on(&q->putters, deadline, N_("a queue"));
        if (r)
            return hub_fail(r);
    }
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    hub_wake_first(&q->getters, 0);
    return 0;
}

int hub_queue_get(hub_queue *q, void **item, double timeout)
{
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    while (q->len == 0) {
        int r = timeout == 0 ? ETIMEDOUT
                             : wait_on(&q->getters, deadline, N_("a queue"));
        if (r)
            return hub_fail(r);
    }
    CL_ASSERT(q->len > 0 && q->len <= q->cap);
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    hub_wake_first(&q->putters, 0);
    return 0;
}

/* ---- BoundedSemaphore ---- */

struct hub_sem {
    unsigned value, initial;
    struct hub_waitlist waiters;
};

hub_sem *hub_sem_new(unsigned value)
{
    hub_sem *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->value = s->initial = value;
    hub_waitlist_init(&s->waiters);
    return s;
}

void hub_sem_free(hub_sem *s)
{
    if (!s)
        return;
    hub_wake_all(&s->waiters, EBADF);
    free(s);
}

int hub_sem_try_acquire(hub_sem *s)
{
    if (s->value == 0)
        return hub_fail(EAGAIN);
    s->value--;
    return 0;
}

int hub_sem_acquire(hub_sem *s, double timeout)
{
    uint64_t deadline;
    if (hub_deadline(timeout, &deadline) != 0)
        return hub_fail(EINVAL);
    if (s->value > 0) {
        /* a release hands its permit to a waiter if there is one */
        CL_ASSERT(hub_waitlist_empty(&s->waiters));
        s->value--;
        return 0;
    }
    if (timeout == 0)
        return hub_fail(ETIMEDOUT);
    /* Woken with 0: hub_sem_release handed us its permit. */
    return hub_fail(wait_on(&s->waiters, deadline, N_("a semaphore")));
}

int hub_sem_release(hub_sem *s)
{
    if (hub_wake_first(&s->waiters, 0))
        return 0; /* the permit goes straight to the first waiter */
    if (s->value >= s->initial)
        return hub_fail(EOVERFLOW);
    s->value++;
    return 0;
}

unsigned hub_sem_value(const hub_sem *s)
{
    return s->value;
}
