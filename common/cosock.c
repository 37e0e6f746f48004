/* cosock.c - cooperative sockets: try the system call, wait on the hub
 * only when it says EAGAIN or the socket is known to be drained (see
 * cosock.h). */
#include "cosock.h"
#include "cli.h"
#include "clock.h"
#include "dial.h"
#include "hub_impl.h"
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* Fairness. A greenlet whose peer always has data waiting (and always
 * reads what it is sent) finds every recv and send succeed at once, so it
 * never waits and never lets the hub run anyone else: one client streaming
 * at full speed would starve every other. So after FAIR_CALLS calls in a
 * row that moved data without waiting, the greenlet yields (hub_sleep(0),
 * which also lets the hub poll for I/O), as gevent's hub and Go's
 * scheduler preempt a runner in their own ways. An ordinary echo waits
 * every message or two and never pays for this. */
enum { FAIR_CALLS = 32 };

static __thread struct {
    const greenlet *who; /* the greenlet of the run counted */
    unsigned calls;      /* its calls in a row that did not wait */
} streak;

static void moved_without_waiting(void)
{
    const greenlet *me = greenlet_current();
    if (streak.who != me) {
        streak.who = me;
        streak.calls = 0;
    }
    if (++streak.calls >= FAIR_CALLS) {
        int saved = errno;
        streak.calls = 0;
        /* Its data is moved already: a kill (ECANCELED) is seen by the
         * next call that waits, or by hub_killed(). */
        hub_sleep(0);
        errno = saved;
    }
}

/* Wait for fd after an EAGAIN. A call may wait several times (a wake-up
 * can be spurious, sendall sends in pieces): the timeout is for the whole
 * call, so the deadline is fixed at the first wait, and the clock is read
 * only by calls that wait at all, once a wait (hub_wait_fd_until: not
 * once here and once more in the hub). *deadline starts at 0 (not set);
 * NO_DEADLINE for a call that waits for ever. */
#define NO_DEADLINE UINT64_MAX
static int wait_fd(int fd, short what, double timeout, uint64_t *deadline)
{
    streak.calls = 0; /* it waits: the others get their turn */
    if (!(timeout > 0)) /* 0: ETIMEDOUT; NaN: EINVAL; negative: for ever */
        return hub_wait_fd(fd, what, timeout);
    if (*deadline == 0) {
        uint64_t d;
        if (hub_deadline(timeout, &d) != 0)
            return hub_fail(EINVAL);
        *deadline = d == HUB_NO_DEADLINE ? NO_DEADLINE : d;
    } else if (*deadline != NO_DEADLINE && cl_now_ns() >= *deadline) {
        errno = ETIMEDOUT;
        return -1;
    }
    return hub_wait_fd_until(fd, what, *deadline == NO_DEADLINE ? HUB_NO_DEADLINE : *deadline);
}

/* After a call failed with errno: 0 to try it again (EINTR, or EAGAIN and
 * the fd has become ready), -1 to give up (errno says why). */
static int retry(int fd, short what, double timeout, uint64_t *deadline)
{
    if (errno == EINTR)
        return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return -1;
    return wait_fd(fd, what, timeout, deadline);
}

/* getaddrinfo's own codes are not errnos: say "no such host". */
static int gai_errno(int rc)
{
    return rc == EAI_SYSTEM ? errno : rc == EAI_MEMORY ? ENOMEM : EHOSTUNREACH;
}

static struct addrinfo *resolve(const char *host, int port, int flags)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = flags | AI_NUMERICSERV};
    struct addrinfo *res;
    char serv[16];
    int rc;

    if (port < 0 || port > 65535) {
        errno = EINVAL;
        return NULL;
    }
    snprintf(serv, sizeof serv, "%d", port);
    rc = getaddrinfo(host, serv, &hints, &res);
    if (rc != 0) {
        errno = gai_errno(rc);
        return NULL;
    }
    return res;
}

static int listen_on(const char *host, int port, int backlog, bool shared)
{
    struct addrinfo *res = resolve(host, port, AI_PASSIVE), *ai;
    int fd = -1, err = EADDRNOTAVAIL, one = 1;

    if (!res)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (shared)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, backlog > 0 ? backlog : SOMAXCONN) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        errno = err;
    return fd;
}

int cosock_listen(const char *host, int port, int backlog)
{
    return listen_on(host, port, backlog, false);
}

int cosock_listen_shared(const char *host, int port, int backlog)
{
    return listen_on(host, port, backlog, true);
}

int cosock_accept(int lfd, cosock_addr *addr, double timeout)
{
    uint64_t deadline = 0;
    cosock_addr scratch;
    if (!addr)
        addr = &scratch;
    for (;;) {
        int fd;
        addr->len = sizeof addr->ss;
        fd = accept4(lfd, (struct sockaddr *)&addr->ss, &addr->len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != ECONNABORTED && /* gone before we took it: next */
            retry(lfd, HUB_READ, timeout, &deadline) != 0)
            return -1;
    }
}

/* dial_addrinfo's wait: the handshake, on the hub. */
static int wait_writable(int fd, double seconds)
{
    return hub_wait_fd(fd, HUB_WRITE, seconds);
}

int cosock_connect(const char *host, int port, double timeout)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    double deadline = timeout < 0 ? -1 : cl_now() + timeout;
    char serv[16];
    int fd, one = 1, rc;

    if (port < 0 || port > 65535) {
        errno = EINVAL;
        return -1;
    }
    snprintf(serv, sizeof serv, "%d", port);
    /* The name is resolved on the hub too (other greenlets run), within
     * the same timeout as the handshake. */
    rc = hub_getaddrinfo(host, serv, &hints, &res, timeout);
    if (rc != 0) {
        errno = gai_errno(rc);
        return -1;
    }
    fd = dial_addrinfo(res, deadline, wait_writable);
    hub_freeaddrinfo(res);
    if (fd >= 0) /* a load client wants every small message on the wire at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int cosock_wrap(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return (flags & O_NONBLOCK) ? 0 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* One recv or send that waits until it moves something; `deadline` is
 * shared by the calls of one recv_exact or sendall.
 *
 * Two system calls per echoed message, not three (issue 12): a receive
 * that found the socket empty (EAGAIN, or a short read: a stream socket's
 * buffer was emptied) tells the hub so (hub_fd_drained), and the next one
 * waits for the backend's next edge before it calls recv, instead of
 * making the call that would only say EAGAIN. Sends the same, for a full
 * send buffer. Under poll and select hub_fd_maybe_ready is always true
 * and every call tries first, as before. With timeout 0 the call is
 * always tried: the hub has not polled since, and "nothing there now" must
 * not be said of data that has arrived. Inlined (and recv_some, send_some)
 * into each call: one frame fewer on a parked greenlet's stack. */
static inline __attribute__((always_inline)) ssize_t
io_some(int fd, short dir, void *buf, size_t len, double timeout,
                       uint64_t *deadline)
{
    ssize_t n;
    if (timeout != 0 && !hub_fd_maybe_ready(fd, dir) &&
        wait_fd(fd, dir, timeout, deadline) != 0)
        return -1;
    for (;;) {
        n = dir == HUB_READ ? recv(fd, buf, len, 0)
                            : send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            break;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            hub_fd_drained(fd, dir);
        if (retry(fd, dir, timeout, deadline) != 0)
            return -1;
    }
    if (n > 0) {
        if ((size_t)n < len) /* a stream socket: emptied (or filled) */
            hub_fd_drained(fd, dir);
        moved_without_waiting();
    }
    return n;
}

static inline __attribute__((always_inline)) ssize_t recv_some(int fd, void *buf, size_t len, double timeout, uint64_t *deadline)
{
    return io_some(fd, HUB_READ, buf, len, timeout, deadline);
}

static inline __attribute__((always_inline)) ssize_t send_some(int fd, const void *buf, size_t len, double timeout,
                         uint64_t *deadline)
{
    /* send does not write to buf; io_some's one pointer serves both */
    return io_some(fd, HUB_WRITE, (void *)buf, len, timeout, deadline);
}

ssize_t cosock_recv(int fd, void *buf, size_t len, double timeout)
{
    uint64_t deadline = 0;
    return recv_some(fd, buf, len, timeout, &deadline);
}

ssize_t cosock_recv_exact(int fd, void *buf, size_t len, double timeout)
{
    uint64_t deadline = 0;
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv_some(fd, (char *)buf + got, len - got, timeout, &deadline);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

ssize_t cosock_send(int fd, const void *buf, size_t len, double timeout)
{
    uint64_t deadline = 0;
    return send_some(fd, buf, len, timeout, &deadline);
}

int cosock_sendall(int fd, const void *buf, size_t len, double timeout)
{
    uint64_t deadline = 0;
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send_some(fd, (const char *)buf + sent, len - sent, timeout, &deadline);
        if (n < 0)
            return -1;
        sent += (size_t)n;
    }
    return 0;
}

int cosock_shutdown(int fd, int how)
{
    return shutdown(fd, how);
}

int cosock_close(int fd)
{
    hub_fd_forget(fd);
    return close(fd);
}

int cosock_local_port(int fd)
{
    cosock_addr a = {.len = sizeof a.ss};
    if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) != 0)
        return -1;
    if (a.ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&a.ss)->sin_port);
    if (a.ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port);
    errno = EAFNOSUPPORT;
    return -1;
}

const char *cosock_addr_str(const cosock_addr *a, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, len, "%s:%d", host, ntohs(in->sin_port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, len, "[%s]:%d", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, _("(address family %d)"), a->ss.ss_family);
    }
    return buf;
}

const char *cosock_strerror(int err)
{
    return err == EHOSTUNREACH ? _("no such host, or no route to it") : hub_strerror(err);
}
