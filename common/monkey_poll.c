/* monkey_poll.c - poll() that waits on the hub, and the checked entry
 * points _FORTIFY_SOURCE callers use (see monkey_impl.h). */
#include "monkey_impl.h"
#include "clock.h"
#include "hub.h"

#include <event2/event.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- poll ---- */

static void poll_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    hub_event_set(arg);
}

/* Wait on the hub until one of fds may be ready or `left` seconds pass:
 * one libevent event per fd and direction, all setting one hub_event.
 * Edge-triggered like the hub's own events, since libevent will not mix
 * the two kinds on one fd. */
static int poll_wait(struct pollfd *fds, nfds_t n, double left)
{
    struct event_base *base = hub_event_base();
    hub_event *ready = hub_event_new();
    struct event **evs = calloc(n ? 2 * n : 1, sizeof *evs);
    short et = base && (event_base_get_features(base) & EV_FEATURE_ET) ? EV_ET : 0;
    size_t k = 0;
    int r = 0;

    if (!base || !ready || !evs) {
        r = hub_sleep(0.01); /* no memory: poll again soon */
        goto out;
    }
    for (nfds_t i = 0; i < n; i++) {
        short dirs[2] = {0, 0};
        if (fds[i].fd < 0)
            continue;
        if (fds[i].events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDHUP))
            dirs[0] = EV_READ;
        if (fds[i].events & (POLLOUT | POLLWRNORM))
            dirs[1] = EV_WRITE;
        if (!dirs[0] && !dirs[1])
            dirs[0] = EV_READ; /* POLLHUP and POLLERR are always reported */
        for (int d = 0; d < 2; d++) {
            if (!dirs[d])
                continue;
            evs[k] = event_new(base, fds[i].fd, (short)(dirs[d] | et), poll_ready, ready);
            if (!evs[k] || event_add(evs[k], NULL) != 0) {
                /* Not pollable by the backend (a regular file...): poll
                 * again soon instead. */
                if (evs[k])
                    event_free(evs[k]);
                evs[k] = NULL;
                if (left < 0 || left > 0.01)
                    left = 0.01;
                continue;
            }
            k++;
        }
    }
    r = hub_event_wait(ready, left < 0 ? HUB_FOREVER : left);
out:
    for (size_t i = 0; i < k; i++)
        event_free(evs[i]);
    free(evs);
    hub_event_free(ready);
    return r;
}

int poll(struct pollfd *fds, nfds_t n, int ms)
{
    double deadline;
    if (ms == 0 || !monkey_cooperative())
        return LIBC(poll)(fds, n, ms);
    deadline = ms < 0 ? 0 : cl_now() + ms / 1e3;
    for (;;) {
        double left = ms < 0 ? HUB_FOREVER : deadline - cl_now();
        int r = LIBC(poll)(fds, n, 0);
        if (r != 0)
            return r;
        if (ms >= 0 && left <= 0)
            return 0;
        if (n == 0)
            r = hub_sleep(ms < 0 ? 1e9 : left);
        else
            r = poll_wait(fds, n, left);
        if (r != 0 && errno != ETIMEDOUT)
            return -1;
    }
}

/* _FORTIFY_SOURCE turns some calls into these checked variants. */
extern void __chk_fail(void) __attribute__((noreturn));

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return read(fd, buf, n);
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        __chk_fail();
    return recv(fd, buf, n, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen)
{
    if (n > buflen)
        __chk_fail();
    return recvfrom(fd, buf, n, flags, from, fromlen);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
    if (fdslen / sizeof *fds < n)
        __chk_fail();
    return poll(fds, n, ms);
}
