/*
 * backend.h - what the hub needs from an event backend: an operations
 * table. backend_libevent.c is today's one implementation (libevent, with
 * its epoll, poll and select methods); an io_uring or kqueue backend would
 * be another file filling in the same table, chosen in hub.c's hub_get.
 *
 * The hub owns timers (timer.c) and greenlets; a backend only watches file
 * descriptors and sleeps until one is ready or a timeout passes. It tells
 * the hub about readiness through the `ready` callback given to open,
 * with the cookie given to fd_open, never switching greenlets itself.
 */
#ifndef CL_BACKEND_H
#define CL_BACKEND_H

#include <stdint.h>

struct event_base;
struct hub_backend;    /* one backend instance (one per hub) */
struct hub_backend_fd; /* a backend's record of one watched fd */

/* Called from inside poll for each fd that became ready: `what` is
 * HUB_READ and/or HUB_WRITE, plus HUB_BACKEND_HUP when the peer has shut
 * its side (from then on a read never blocks again: a short read is no
 * sign of a drained socket); cookie is fd_open's. */
enum { HUB_BACKEND_HUP = 0x80 }; /* libevent's EV_CLOSED */
typedef void (*hub_backend_ready_fn)(void *cookie, short what);

struct hub_backend_ops {
    const char *name; /* "libevent" */

    /* A new instance using `method` (NULL: the backend's choice), or NULL
     * with errno set. */
    struct hub_backend *(*open)(const char *method, hub_backend_ready_fn ready);
    void (*close)(struct hub_backend *b);
    /* The method in use ("epoll", "poll", "select"...). */
    const char *(*method)(const struct hub_backend *b);
    /* Is `method` one this backend can open here? */
    int (*supports)(const char *method);
    /* fds at or above this cannot be watched (select: FD_SETSIZE). */
    int (*fd_limit)(const struct hub_backend *b);
    /* Does it report every readiness edge of an fd once fd_open'ed, armed
     * or not (epoll's persistent edge-triggered events)? Then the hub can
     * tell that a drained fd has had no new data (hub_fd_maybe_ready). */
    int (*reports_every_edge)(const struct hub_backend *b);

    /* Start watching fd (NULL with errno set: EBADF for a closed fd). An
     * edge-triggered backend may report readiness from now on whether or
     * not anyone waits; the hub drops what nobody waits for. */
    struct hub_backend_fd *(*fd_open)(struct hub_backend *b, int fd,
                                      void *cookie);
    void (*fd_close)(struct hub_backend *b, struct hub_backend_fd *f);
    /* A greenlet starts / stops waiting on f in direction `dir` (HUB_READ
     * or HUB_WRITE). 0, or an errno. */
    int (*fd_arm)(struct hub_backend *b, struct hub_backend_fd *f, short dir);
    void (*fd_disarm)(struct hub_backend *b, struct hub_backend_fd *f,
                      short dir);

    /* One turn: wait at most timeout_ns (-1: no limit; 0: do not block)
     * for readiness, calling `ready` for each ready fd. Returns 0, or 1
     * when nothing at all is watched and timeout_ns is -1 (the wait would
     * never end: the hub reports a deadlock instead of hanging). */
    int (*poll)(struct hub_backend *b, int64_t timeout_ns);

    /* libevent's event_base, for evhttp and evdns; NULL for a backend
     * that has none. */
    struct event_base *(*event_base)(struct hub_backend *b);
};

extern const struct hub_backend_ops hub_backend_libevent;

#endif
