/*
 * hub.h - layer 3: gevent's hub, on libevent (through backend.h).
 *
 * Each thread has one hub: a greenlet that owns an event loop (libevent's
 * event_base) and switches to whichever greenlet an event wakes. A greenlet that blocks
 * (hub_sleep, hub_join, hub_wait_fd, a Queue or Event) switches to the hub;
 * the hub resumes it when its timer fires or its fd is ready. The thread's
 * main greenlet blocks the same way, so main() reads like gevent:
 *
 *   gevent.spawn(f, x)            hub_spawn(f, x)
 *   gevent.sleep(s)               hub_sleep(s)
 *   gevent.joinall([a, b])        hub_joinall(tasks, 2, HUB_FOREVER)
 *   g.join(timeout)               hub_join(g, timeout)
 *   g.kill(timeout=t)             hub_kill(g, t)
 *   gevent.getcurrent()           hub_current()
 *
 * Event, Queue and BoundedSemaphore are in sync.h, Pool in pool.h; the
 * wait/wake protocol they are built on is hub_impl.h (core files only).
 *
 * Order is deterministic: greenlets made ready in the same loop turn run in
 * the order they became ready, and timers with equal deadlines fire in the
 * order they were set.
 *
 * Errors: calls return 0, or -1 with errno set:
 *   ETIMEDOUT  the operation's timeout passed
 *   ECANCELED  the calling greenlet was killed (hub_kill): finish up, return
 *   EDEADLK    joining yourself, or nothing left that could ever wake you
 *   EPERM      a blocking call from inside the hub (an event callback),
 *              or a call about a task of another thread's hub
 *   EBUSY      hub_wait_fd: another greenlet already waits on that fd in
 *              that direction (gevent refuses this too)
 *   ENOMEM     no memory; hub_join: no stack for the task's greenlet (it
 *              never ran; EAGAIN too: the kernel's mapping limit)
 *   EBADF      hub_wait_fd: the fd is not open, or hub_fd_forget was
 *              called while waiting
 *   ERANGE     hub_wait_fd: an fd past FD_SETSIZE under the select backend
 *   EINVAL     a NaN timeout; hub_sleep: a NaN, negative or infinite time
 * hub_strerror() words them for a student.
 */
#ifndef CL_HUB_H
#define CL_HUB_H

#include <stdbool.h>
#include <stddef.h>

#include "greenlet.h"

struct event_base;

#define HUB_FOREVER (-1.0) /* a timeout that never passes */

typedef struct hub_task hub_task;   /* gevent.Greenlet */
typedef void *(*hub_fn)(void *arg); /* its function; returns its result */

typedef struct hub_spawn_opts {
    enum greenlet_stack_kind stack_kind; /* GUARDED (default) or SHARED */
    size_t stack_size;                   /* GUARDED only; 0 = default */
    const char *name;                    /* for traces and messages */
    bool detached;                       /* freed by the hub when it ends */
} hub_spawn_opts;

/* Start fn(arg) in a new greenlet at the hub's next turn. The task belongs
 * to the caller, who frees it with hub_task_free once it has ended (like
 * pthread_join), unless it was spawned detached (hub_detach / opts). NULL
 * with errno set on failure. */
hub_task *hub_spawn(hub_fn fn, void *arg);
/* hub_spawn names the task after its function, for traces and messages:
 * hub_spawn(func1, NULL) is "func1". (hub_spawn)(fn, arg) leaves it
 * unnamed ("greenlet-N"). */
#define hub_spawn(fn, arg) hub_spawn_named((fn), (arg), #fn)
hub_task *hub_spawn_named(hub_fn fn, void *arg, const char *name);
hub_task *hub_spawn_with(hub_fn fn, void *arg, const hub_spawn_opts *opts);
/* The same, started after `seconds` (0 or less: now; NaN: EINVAL). */
hub_task *hub_spawn_later(double seconds, hub_fn fn, void *arg);

/* A task belongs to the thread whose hub spawned it: calls about it from
 * another thread fail with EPERM (hub_detach does nothing). */

/* Let the hub free t when it ends (now, if it has). t must not be used. */
void hub_detach(hub_task *t);
/* Free an ended (or never started) task. EBUSY if it is still running. */
int hub_task_free(hub_task *t);

/* Block the calling greenlet for `seconds`; hub_sleep(0) lets every other
 * ready greenlet run once and comes back. EINVAL for a NaN, negative or
 * infinite time (a NaN would otherwise sleep forever). */
int hub_sleep(double seconds);

/* Wait for t (or all of ts) to end, at most `timeout` seconds. -1 with
 * hub_task_error(t) in errno for a task that could not start (joinall
 * still waits for the others first). */
int hub_join(hub_task *t, double timeout);
int hub_joinall(hub_task *const *ts, size_t n, double timeout);

/* Kill t: if it never started it never will; if it is blocked, its blocking
 * call returns -1/ECANCELED, and every later one too, until it returns.
 * Then wait for it to end, at most `timeout` seconds (0: do not wait). */
int hub_kill(hub_task *t, double timeout);

/* The running task, or NULL in the thread's main greenlet. */
hub_task *hub_current(void);
/* Has the calling greenlet been killed? (for loops that never block) */
bool hub_killed(void);

/* What a task is and did. */
bool hub_task_dead(const hub_task *t);
bool hub_task_started(const hub_task *t);
void *hub_task_result(const hub_task *t); /* fn's return value */
bool hub_task_killed(const hub_task *t);
/* Why t never ran (0: it did, or it will): ENOMEM or EAGAIN when no stack
 * could be had at its first switch (a guarded stack is taken at spawn,
 * which then fails instead). hub_join reports the same error. */
int hub_task_error(const hub_task *t);
greenlet *hub_task_greenlet(hub_task *t);
const char *hub_task_name(const hub_task *t, char *buf, size_t len);

/* Run the hub until no greenlet is ready, sleeping or waiting on I/O
 * (gevent.wait()). */
int hub_run(void);

/* Wait until fd is readable (HUB_READ) or writable (HUB_WRITE). Returns 0
 * when it may be; the caller retries its call (a wake-up can be spurious).
 * The fd must be non-blocking, and the call must come right after the
 * read/write/accept/connect that failed with EAGAIN, with no switch in
 * between: under epoll the fd is watched edge-triggered (so a wait costs
 * no epoll_ctl), and readiness that came and went before that call is not
 * remembered. Call hub_fd_forget before closing the fd. EBADF if fd is
 * not open; ERANGE for an fd >= FD_SETSIZE under the select backend,
 * whose fd_set has no bit for it. */
enum { HUB_READ = 0x02, HUB_WRITE = 0x04 }; /* libevent's EV_READ, EV_WRITE */
int hub_wait_fd(int fd, short what, double timeout);
/* Saving the system call that would say EAGAIN (issue 12). A caller that
 * has just had EAGAIN from fd in direction `what` (or, on a stream
 * socket, a short read or write: the buffer was emptied or filled) says
 * so with hub_fd_drained. Until the backend reports a new edge for that
 * direction, hub_fd_maybe_ready(fd, what) is false, and the caller can
 * hub_wait_fd at once instead of trying the call first:
 *
 *     if (!hub_fd_maybe_ready(fd, HUB_READ) &&
 *         hub_wait_fd(fd, HUB_READ, timeout) != 0)
 *         return -1;
 *     n = recv(fd, buf, len, 0);
 *     if (n < 0 && errno == EAGAIN) -> hub_fd_drained(fd, HUB_READ), wait
 *     if (n > 0 && n < len)         -> hub_fd_drained(fd, HUB_READ)
 *
 * Only a backend that reports every edge (epoll) can know this; under
 * poll and select hub_fd_drained does nothing and hub_fd_maybe_ready is
 * always true (try the call). Not for datagram sockets, where a short
 * read says nothing about what is left. A FIN that came with the last
 * data is remembered (epoll's EPOLLRDHUP: reads are never drained again),
 * and so is a reset or an error (EPOLLHUP, EPOLLERR). */
void hub_fd_drained(int fd, short what);
bool hub_fd_maybe_ready(int fd, short what);
/* Drop what the hub keeps for fd; greenlets waiting on it wake with EBADF. */
void hub_fd_forget(int fd);

/* The calling thread's hub: its event_base (for evhttp, evdns, ...). */
struct event_base *hub_event_base(void);
/* Choose libevent's backend ("epoll", "poll", "select") before the hub is
 * first used on this thread; NULL restores the default. -1/EINVAL if the
 * name is unknown here, EBUSY if the hub already exists. */
int hub_set_backend(const char *method);
/* The backend in use ("epoll"...). */
const char *hub_backend(void);
/* Free the calling thread's hub and all tasks it still holds. No greenlet
 * may be running but main. For clean valgrind runs and tests. */
void hub_shutdown(void);

const char *hub_strerror(int err);

/* Event and Queue used to be declared here; they live in sync.h now (with
 * BoundedSemaphore). Kept for code that included only hub.h. */
#include "sync.h"

#endif
