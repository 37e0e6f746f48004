/*
 * hub_impl.h - the hub's wait/wake protocol, for the core files that build
 * blocking primitives on it (sync.c: Event, Queue, BoundedSemaphore;
 * pool.c: Pool). Not for lessons: they use hub.h, sync.h, pool.h.
 *
 * A greenlet that can block has a `struct hub_waiter` with the hub (in its
 * task record; main's is the hub's). A primitive keeps a `hub_waitlist` of
 * the waiters blocked on it, and a blocking call is always this shape:
 *
 *     struct hub_waiter *me = hub_waiter_current();   (NULL: errno says why)
 *     hub_waitlist_add(&obj->waiters, me);
 *     reason = hub_block(me, deadline);     (0, or the errno to report)
 *
 * while the other side wakes waiters with hub_wake_first / hub_wake_all.
 * hub_block returns whatever the waker passed, or ETIMEDOUT when the
 * deadline passed, or ECANCELED when the greenlet was killed; a waiter
 * woken for any reason has already left the waitlist (and its timer), so
 * a primitive never unlinks anyone itself. A waiter woken with 0 runs at
 * the hub's next turn, in the order it was woken, before any other
 * greenlet can take what it was woken for only if nothing else runs in
 * between: primitives that hand something over (a semaphore's permit)
 * decide at wake time, those that only announce a change (a pool's free
 * slot) make the woken waiter check again.
 *
 * Every function here must be called on the thread whose hub it is.
 */
#ifndef CL_HUB_IMPL_H
#define CL_HUB_IMPL_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "hub.h"
#include "list.h"
#include "timer.h"

/* An invariant of the core that must hold in every build (not assert():
 * NDEBUG does not turn it off): on failure, print file:line and abort. */
#define CL_ASSERT(cond)                                                      \
    ((cond) ? (void)0 : cl_assert_failed(#cond, __FILE__, __LINE__))
_Noreturn void cl_assert_failed(const char *cond, const char *file, int line);

/* What a blocked waiter is waiting on, to be undone when it is woken by
 * something else (its timer, a kill). */
enum hub_wait_on {
    HUB_WAIT_NOTHING = 0, /* a sleep, a yield, hub_run */
    HUB_WAIT_LIST,        /* a hub_waitlist: wait_link */
    HUB_WAIT_FD,          /* one direction of an fd: fd, fd_dir */
};

/* The waiters blocked on one thing, in the order they came. */
struct hub_waitlist {
    struct cl_list waiters; /* of hub_waiter.wait_link */
};

struct hub_fd;

/* What the hub knows of a greenlet that can block. Never on the greenlet's
 * stack: SHARED-stack greenlets have their stacks copied away while they
 * wait. Packed with care: a million of these sit in memory in lesson 04. */
struct hub_waiter {
    struct hub_timer timer;  /* its deadline, if it has one */
    /* errno values (below 256 on Linux: checked where they are set) */
    unsigned char wake_reason;   /* what hub_wake said: 0 or an errno */
    unsigned char expiry_reason; /* what its timer means: 0 (a sleep; a
                                  * spawn_later's start) or ETIMEDOUT */
    unsigned char start_error;   /* tasks: why it never ran (ENOMEM: no
                                  * stack) */
    unsigned char wait_on;   /* enum hub_wait_on */
    unsigned char fd_dir;    /* HUB_READ or HUB_WRITE */
    /* one byte of bits: the record stays 56 bytes */
    bool ready : 1;          /* on the ready queue */
    bool blocked : 1;        /* switched to the hub, waiting for hub_wake */
    bool killed : 1;
    bool is_task : 1;        /* embedded in a hub_task (not main's) */
    bool finished : 1;       /* tasks: ended, or killed before starting */
    bool detached : 1;       /* tasks: the hub frees it when it ends */
    /* A waiter on the ready queue waits on nothing: one place for both;
     * and a task that has not started yet has waited on nothing. */
    union {
        struct cl_list wait_link; /* HUB_WAIT_LIST */
        struct hub_fd *fd;        /* HUB_WAIT_FD */
        struct {
            struct hub_waiter *next_ready; /* ready: the ready queue (a
                                            * FIFO) */
            hub_fn start_fn;      /* tasks, until they start: what they run */
        };
    };
};

/* Told when a task ends (or is freed unended, at hub_shutdown): how a
 * group of tasks (a pool) learns that one has left. Called once, from the
 * hub or from whoever killed the task; it must not block. */
struct hub_task_hook {
    void (*ended)(struct hub_task_hook *hook, hub_task *t);
};

/* What only some tasks need, made when first needed (a join, a pool) and
 * freed when the task ends: a million tasks that only sleep carry one
 * NULL pointer instead of these 24 bytes. */
struct hub_task_ext {
    struct hub_waitlist joiners;
    struct hub_task_hook *on_end;
};

struct hub_task {
    greenlet g;              /* g.arg is fn's argument, g.result its value */
    struct hub_waiter w;      /* w.start_fn: what it runs */
    struct hub_task_ext *ext; /* NULL until joined or given a hook */
};

/* Tell hook when unfinished task t ends (NULL: tell nobody). 0, or -1
 * with errno ENOMEM. */
int hub_task_set_hook(hub_task *t, struct hub_task_hook *hook);

/* The calling greenlet's waiter if it may block now; else NULL with errno
 * EPERM (the hub itself, or a greenlet the hub did not spawn), ECANCELED
 * (it was killed) or ENOMEM (no hub). */
struct hub_waiter *hub_waiter_current(void);

/* The deadline for a timeout in seconds, for hub_block, in *deadline:
 * HUB_NO_DEADLINE for a negative timeout (HUB_FOREVER) or +infinity.
 * Returns 0, or EINVAL for NaN (which would otherwise wait forever). */
#define HUB_NO_DEADLINE 0
static inline uint64_t hub_deadline_after(double seconds)
{
    if (seconds > 1e9)
        seconds = 1e9;
    return cl_now_ns() + (uint64_t)(seconds * 1e9);
}
/* Inline for the reason cl_now_ns is (clock.h). */
static inline int hub_deadline(double timeout, uint64_t *deadline)
{
    if (isnan(timeout))
        return EINVAL;
    *deadline = timeout < 0 || isinf(timeout) ? HUB_NO_DEADLINE
                                              : hub_deadline_after(timeout);
    return 0;
}

/* hub_wait_fd (hub.h) until a deadline of cl_now_ns()'s clock (from
 * hub_deadline, or HUB_NO_DEADLINE; HUB_DEADLINE_NOW: the timeout 0, which
 * reports ETIMEDOUT after the other checks). */
#define HUB_DEADLINE_NOW 1
int hub_wait_fd_until(int fd, short what, uint64_t deadline);

void hub_waitlist_init(struct hub_waitlist *wl);
bool hub_waitlist_empty(const struct hub_waitlist *wl);
/* Put a waiter that is about to hub_block at the end of wl. */
void hub_waitlist_add(struct hub_waitlist *wl, struct hub_waiter *w);

/* Switch to the hub until woken; returns the reason (0 or an errno). A
 * deadline (not HUB_NO_DEADLINE) wakes it with ETIMEDOUT. */
int hub_block(struct hub_waiter *me, uint64_t deadline);

/* Make a blocked waiter ready with `reason` (0, or the errno its blocking
 * call reports), undoing whatever it waited on. No-op if it is not
 * blocked (already woken this turn). */
void hub_wake(struct hub_waiter *w, int reason);
/* Wake the first waiter of wl; false if there was none. */
bool hub_wake_first(struct hub_waitlist *wl, int reason);
void hub_wake_all(struct hub_waitlist *wl, int reason);

/* 0 for reason 0; otherwise errno = reason and -1. */
int hub_fail(int reason);

/* The task a waiter belongs to, or NULL (main's). */
hub_task *hub_task_of(struct hub_waiter *w);

/* Does t belong to the calling thread's hub? (EPERM otherwise) */
bool hub_task_is_ours(const hub_task *t);

/* Run fn first thing in this thread's hub_shutdown(), while the hub can
 * still block (a service on the hub's event_base, such as the resolver,
 * frees itself there). At most HUB_SHUTDOWN_HOOKS, each once; -1/ENOMEM
 * past that. */
#define HUB_SHUTDOWN_HOOKS 4
int hub_on_shutdown(void (*fn)(void));

#endif
