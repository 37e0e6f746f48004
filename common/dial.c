/* dial.c - try each address in turn, connect with a deadline (see dial.h). */
#include "dial.h"
#include "clock.h"
#include "hub.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* One address: a non-blocking connect, the wait for the handshake, and
 * its outcome. */
static int connect_one(const struct addrinfo *ai, double deadline, dial_wait_fn *wait_writable)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int err = 0;
    socklen_t len = sizeof err;

    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR)
        goto fail;
    for (;;) {
        double left = deadline < 0 ? -1 : deadline - cl_now();
        if (deadline >= 0 && left <= 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        if (wait_writable(fd, left) == 0)
            break;
        if (errno != EINTR)
            goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        goto fail;
    if (err == 0)
        return fd;
    errno = err;
fail:
    err = errno;
    hub_fd_forget(fd); /* the record hub_wait_fd may have made */
    close(fd);
    errno = err;
    return -1;
}

int dial_addrinfo(const struct addrinfo *res, double deadline, dial_wait_fn *wait_writable)
{
    int fd = -1, err = EADDRNOTAVAIL;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((fd = connect_one(ai, deadline, wait_writable)) >= 0)
            return fd;
        err = errno;
        /* A timeout or a kill ends the whole call, not just this address. */
        if (err == ETIMEDOUT || err == ECANCELED)
            break;
    }
    errno = err;
    return -1;
}
