/*
 * sync.h - gevent's synchronisation primitives, built on the hub's
 * wait/wake protocol (hub_impl.h):
 *
 *   gevent.event.Event()            hub_event_new()
 *   gevent.queue.Queue(maxsize)     hub_queue_new(capacity)
 *   gevent.lock.BoundedSemaphore(n) hub_sem_new(n)
 *
 * Waiters are served in the order they came. Blocking calls take a timeout
 * in seconds (HUB_FOREVER: none; 0: do not wait) and return 0, or -1 with
 * errno: ETIMEDOUT, ECANCELED (the caller was killed), EBADF (the object
 * was freed while it waited), EPERM (called from the hub itself), EINVAL
 * (a NaN timeout). See hub.h.
 */
#ifndef CL_SYNC_H
#define CL_SYNC_H

#include <stdbool.h>
#include <stddef.h>

/* gevent.event.Event: a flag greenlets wait for. */
typedef struct hub_event hub_event;
hub_event *hub_event_new(void);
void hub_event_free(hub_event *e);  /* its waiters wake with EBADF */
void hub_event_set(hub_event *e);   /* wakes every waiter, in wait order */
void hub_event_clear(hub_event *e);
bool hub_event_is_set(const hub_event *e);
int hub_event_wait(hub_event *e, double timeout);

/* gevent.queue.Queue(maxsize): a bounded FIFO of pointers. */
typedef struct hub_queue hub_queue;
hub_queue *hub_queue_new(size_t capacity); /* capacity >= 1, else EINVAL */
void hub_queue_free(hub_queue *q);  /* its waiters wake with EBADF */
int hub_queue_put(hub_queue *q, void *item, double timeout); /* blocks when full */
int hub_queue_get(hub_queue *q, void **item, double timeout); /* blocks when empty */
size_t hub_queue_size(const hub_queue *q);

/* gevent.lock.BoundedSemaphore(value): `value` permits; acquire takes one
 * (waiting while there is none), release gives one back. A release with
 * waiters hands its permit straight to the first of them, so a greenlet
 * that did not wait cannot take it first. */
typedef struct hub_sem hub_sem;
hub_sem *hub_sem_new(unsigned value);
void hub_sem_free(hub_sem *s);      /* its waiters wake with EBADF */
/* 0, or -1 with errno ETIMEDOUT, ECANCELED, EDEADLK (main waiting with
 * nothing left that could release), EPERM, EINVAL. */
int hub_sem_acquire(hub_sem *s, double timeout);
int hub_sem_try_acquire(hub_sem *s); /* 0, or -1/EAGAIN: no permit free */
/* 0, or -1/EOVERFLOW: more releases than acquires (Python's ValueError:
 * "Semaphore released too many times"). */
int hub_sem_release(hub_sem *s);
unsigned hub_sem_value(const hub_sem *s); /* permits free now */

#endif
