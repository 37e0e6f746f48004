/* monkey.c - interposed POSIX calls that wait on the hub (see monkey.h and
 * MONKEY.md).
 *
 * Every wrapper has the same shape: if the call cannot block, or the fd is
 * not ours, call libc's function and return. Otherwise call it on the
 * really non-blocking fd; on EAGAIN wait until the fd is ready - on the hub
 * in a cooperative context, with libc's poll() anywhere else, which is what
 * keeps "blocking" blocking for code that is not patched - and try again.
 */
/* Fortified headers turn read() and friends into inline wrappers that
 * would clash with the definitions below; the __*_chk entry points at
 * the end catch fortified callers instead. */
#undef _FORTIFY_SOURCE
#include "monkey.h"
#include "cli.h"
#include "hub.h"
#include "greenlet.h"

#include <dlfcn.h>
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- libc's own functions ---- */

static struct {
    int (*socket)(int, int, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    int (*poll)(struct pollfd *, nfds_t, int);
    unsigned (*sleep)(unsigned);
    int (*usleep)(useconds_t);
    int (*nanosleep)(const struct timespec *, struct timespec *);
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);
    void (*freeaddrinfo)(struct addrinfo *);
} libc;

static pthread_once_t libc_once = PTHREAD_ONCE_INIT;

static void *next_symbol(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        /* No stdio: we may be inside it. */
        static const char msg[] = "monkey: dlsym(RTLD_NEXT) cannot find a libc function\n";
        syscall(SYS_write, 2, msg, sizeof msg - 1);
        abort();
    }
    return f;
}

#define FIND(name) libc.name = (__typeof__(libc.name))next_symbol(#name)

static void find_libc(void)
{
    FIND(socket); FIND(connect); FIND(accept); FIND(accept4);
    FIND(read); FIND(write); FIND(recv); FIND(send);
    FIND(recvfrom); FIND(sendto); FIND(readv); FIND(writev);
    FIND(close); FIND(dup); FIND(dup2); FIND(dup3);
    FIND(fcntl); FIND(ioctl); FIND(poll);
    FIND(sleep); FIND(usleep); FIND(nanosleep);
    FIND(getaddrinfo); FIND(freeaddrinfo);
}

#define LIBC(name) (pthread_once(&libc_once, find_libc), libc.name)

/* ---- who is calling ---- */

static __thread bool patched;
static __thread int inside; /* > 0: our own libc calls, never cooperative */

void monkey_patch_all(void)
{
    pthread_once(&libc_once, find_libc);
    patched = true;
}

bool monkey_is_patched(void)
{
    return patched;
}

/* May this call wait on the hub? In the patched thread's main greenlet and
 * in hub tasks: yes. In the hub's own greenlet (libevent callbacks) or a
 * greenlet the hub did not spawn: no, nothing would switch back to it. */
static bool cooperative(void)
{
    if (!patched || inside)
        return false;
    return hub_current() != NULL || greenlet_current() == greenlet_main();
}

/* ---- per-fd state: which sockets are ours, what the program asked ---- */

#define MAX_FD (1 << 20) /* a byte each; untouched pages cost nothing */
enum {
    FD_OURS = 1,          /* made while patched: really O_NONBLOCK */
    FD_USER_NONBLOCK = 2, /* the program asked for O_NONBLOCK */
    FD_ON_HUB = 4,        /* the hub keeps a record: forget it on close */
};
static _Atomic unsigned char fd_state[MAX_FD];

static unsigned fd_get(int fd)
{
    return fd >= 0 && fd < MAX_FD ? atomic_load_explicit(&fd_state[fd], memory_order_relaxed) : 0;
}

static void fd_set_flag(int fd, unsigned flag, bool on)
{
    if (on)
        atomic_fetch_or_explicit(&fd_state[fd], (unsigned char)flag, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&fd_state[fd], (unsigned char)~flag, memory_order_relaxed);
}

/* A socket we made non-blocking behind the program's back; user_nb is what
 * the program asked for. Past MAX_FD we cannot track it: give it back the
 * flag it asked for, and it stays libc's. */
static void adopt(int fd, bool user_nb)
{
    if (fd < 0)
        return;
    if (fd >= MAX_FD) {
        if (!user_nb) {
            int fl = LIBC(fcntl)(fd, F_GETFL);
            if (fl >= 0)
                LIBC(fcntl)(fd, F_SETFL, fl & ~O_NONBLOCK);
        }
        return;
    }
    atomic_store_explicit(&fd_state[fd],
                          (unsigned char)(FD_OURS | (user_nb ? FD_USER_NONBLOCK : 0)),
                          memory_order_relaxed);
}

/* Does a call on fd need our help to block? (ours, and the program did
 * not ask for O_NONBLOCK) */
static bool must_block(int fd)
{
    return (fd_get(fd) & (FD_OURS | FD_USER_NONBLOCK)) == FD_OURS;
}

/* ---- waiting ---- */

/* The socket's SO_RCVTIMEO or SO_SNDTIMEO in seconds; HUB_FOREVER if none. */
static double sock_timeout(int fd, int opt)
{
    struct timeval tv;
    socklen_t len = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0 ||
        (tv.tv_sec == 0 && tv.tv_usec == 0))
        return HUB_FOREVER;
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Wait until fd may be ready for `what` (HUB_READ/HUB_WRITE). 0, or -1
 * with errno: on_timeout when the socket's timeout passed, ECANCELED if
 * the greenlet was killed, EBADF if another greenlet closed the fd. */
static int wait_fd(int fd, short what, int on_timeout)
{
    double timeout = sock_timeout(fd, what == HUB_READ ? SO_RCVTIMEO : SO_SNDTIMEO);
    if (cooperative()) {
        fd_set_flag(fd, FD_ON_HUB, true);
        if (hub_wait_fd(fd, what, timeout) == 0)
            return 0;
        if (errno == ETIMEDOUT)
            errno = on_timeout;
        return -1;
    } else {
        struct pollfd p = {fd, what == HUB_READ ? POLLIN : POLLOUT, 0};
        int ms = timeout < 0 ? -1 : (int)ceil(timeout * 1000);
        int r = LIBC(poll)(&p, 1, ms);
        if (r == 0)
            errno = on_timeout;
        return r > 0 ? 0 : -1;
    }
}

static bool again(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* ---- sockets ---- */

int socket(int domain, int type, int protocol)
{
    int fd;
    if (!cooperative())
        return LIBC(socket)(domain, type, protocol);
    fd = LIBC(socket)(domain, type | SOCK_NONBLOCK, protocol);
    adopt(fd, (type & SOCK_NONBLOCK) != 0);
    return fd;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int r, err;
    socklen_t elen = sizeof err;
    if (!must_block(fd))
        return LIBC(connect)(fd, addr, len);
    while ((r = LIBC(connect)(fd, addr, len)) != 0 && again()) /* AF_UNIX, backlog full */
        if (wait_fd(fd, HUB_WRITE, EAGAIN) != 0)
            return -1;
    if (r == 0 || errno != EINPROGRESS)
        return r;
    if (wait_fd(fd, HUB_WRITE, EINPROGRESS) != 0)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
        return -1;
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    bool ours = cooperative(), block = must_block(fd);
    if (!ours && !block)
        return LIBC(accept4)(fd, addr, len, flags);
    for (;;) {
        int c = LIBC(accept4)(fd, addr, len, ours ? flags | SOCK_NONBLOCK : flags);
        if (c >= 0) {
            if (ours)
                adopt(c, (flags & SOCK_NONBLOCK) != 0);
            return c;
        }
        if (!block || !again() || wait_fd(fd, HUB_READ, EAGAIN) != 0)
            return -1;
    }
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!cooperative() && !must_block(fd))
        return LIBC(accept)(fd, addr, len);
    return accept4(fd, addr, len, 0);
}

/* ---- reading: one call, retried after each wait ---- */

#define READ_LOOP(fd, call)                                              \
    do {                                                                 \
        ssize_t r_;                                                      \
        while ((r_ = (call)) < 0 && must_block(fd) && again())           \
            if (wait_fd(fd, HUB_READ, EAGAIN) != 0)                      \
                return -1;                                               \
        return r_;                                                       \
    } while (0)

ssize_t read(int fd, void *buf, size_t n)
{
    if (!must_block(fd))
        return LIBC(read)(fd, buf, n);
    READ_LOOP(fd, LIBC(read)(fd, buf, n));
}

/* MSG_WAITALL on a non-blocking fd returns what is there: keep reading
 * until n bytes, end of file, or an error (then return what we have). */
static ssize_t recv_all(int fd, char *buf, size_t n, int flags)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = LIBC(recv)(fd, buf + done, n - done, flags);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r == 0 || !again() || wait_fd(fd, HUB_READ, EAGAIN) != 0)
            return done || r == 0 ? (ssize_t)done : -1;
    }
    return (ssize_t)done;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (!must_block(fd) || (flags & MSG_DONTWAIT))
        return LIBC(recv)(fd, buf, n, flags);
    if (flags & MSG_WAITALL)
        return recv_all(fd, buf, n, flags);
    READ_LOOP(fd, LIBC(recv)(fd, buf, n, flags));
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
    if (!must_block(fd) || (flags & MSG_DONTWAIT))
        return LIBC(recvfrom)(fd, buf, n, flags, from, fromlen);
    READ_LOOP(fd, LIBC(recvfrom)(fd, buf, n, flags, from, fromlen));
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    if (!must_block(fd))
        return LIBC(readv)(fd, iov, iovcnt);
    READ_LOOP(fd, LIBC(readv)(fd, iov, iovcnt));
}

/* ---- writing: a blocking socket sends everything before it returns ---- */

enum out_kind { OUT_WRITE, OUT_SEND, OUT_SENDTO };
struct out {
    enum out_kind kind;
    int flags;
    const struct sockaddr *to;
    socklen_t tolen;
};

static ssize_t out_once(int fd, const char *buf, size_t n, const struct out *o)
{
    switch (o->kind) {
    case OUT_SEND:
        return LIBC(send)(fd, buf, n, o->flags);
    case OUT_SENDTO:
        return LIBC(sendto)(fd, buf, n, o->flags, o->to, o->tolen);
    default:
        return LIBC(write)(fd, buf, n);
    }
}

/* Like the kernel on a blocking socket: keep going after partial writes;
 * an error or timeout after some bytes went returns that count. */
static ssize_t out_all(int fd, const void *buf, size_t n, const struct out *o)
{
    size_t done = 0;
    for (;;) {
        ssize_t r = out_once(fd, (const char *)buf + done, n - done, o);
        if (r > 0) {
            done += (size_t)r;
            if (done == n)
                return (ssize_t)done;
            continue;
        }
        if (r == 0)
            return (ssize_t)done;
        if (!again() || wait_fd(fd, HUB_WRITE, EAGAIN) != 0)
            return done ? (ssize_t)done : -1;
    }
}

ssize_t write(int fd, const void *buf, size_t n)
{
    struct out o = {OUT_WRITE, 0, NULL, 0};
    if (!must_block(fd))
        return LIBC(write)(fd, buf, n);
    return out_all(fd, buf, n, &o);
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    struct out o = {OUT_SEND, flags, NULL, 0};
    if (!must_block(fd) || (flags & MSG_DONTWAIT))
        return LIBC(send)(fd, buf, n, flags);
    return out_all(fd, buf, n, &o);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags,
               const struct sockaddr *to, socklen_t tolen)
{
    struct out o = {OUT_SENDTO, flags, to, tolen};
    if (!must_block(fd) || (flags & MSG_DONTWAIT))
        return LIBC(sendto)(fd, buf, n, flags, to, tolen);
    return out_all(fd, buf, n, &o);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    struct iovec *left = NULL;
    size_t total = 0, done = 0;
    ssize_t r;
    int i, first = 0;

    if (!must_block(fd))
        return LIBC(writev)(fd, iov, iovcnt);
    for (i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    for (;;) {
        r = LIBC(writev)(fd, left ? left + first : iov, iovcnt - first);
        if (r > 0) {
            done += (size_t)r;
            if (done == total)
                break;
            if (!left) { /* partial: continue on a copy we may trim */
                left = malloc((size_t)iovcnt * sizeof *left);
                if (!left)
                    break;
                memcpy(left, iov, (size_t)iovcnt * sizeof *left);
            }
            for (size_t k = (size_t)r; k > 0;) {
                size_t take = k < left[first].iov_len ? k : left[first].iov_len;
                left[first].iov_base = (char *)left[first].iov_base + take;
                left[first].iov_len -= take;
                k -= take;
                if (left[first].iov_len == 0)
                    first++;
            }
            while (first < iovcnt && left[first].iov_len == 0)
                first++;
            continue;
        }
        if (r == 0 || !again() || wait_fd(fd, HUB_WRITE, EAGAIN) != 0)
            break;
    }
    free(left);
    if (done == 0 && r < 0)
        return -1;
    return (ssize_t)done;
}

/* ---- closing and duplicating ---- */

/* Drop our state (and the hub's record) before the number can be reused. */
static void forget(int fd)
{
    unsigned old;
    if (fd < 0 || fd >= MAX_FD)
        return;
    old = atomic_exchange_explicit(&fd_state[fd], 0, memory_order_relaxed);
    if (old & FD_ON_HUB)
        hub_fd_forget(fd);
}

int close(int fd)
{
    forget(fd);
    return LIBC(close)(fd);
}

/* A duplicate shares the open file, so it is non-blocking too: it gets our
 * state (the program's O_NONBLOCK view included). */
static int copy_state(int from, int to)
{
    if (to >= 0 && to < MAX_FD)
        atomic_store_explicit(&fd_state[to],
                              (unsigned char)(fd_get(from) & (FD_OURS | FD_USER_NONBLOCK)),
                              memory_order_relaxed);
    return to;
}

int dup(int fd)
{
    return copy_state(fd, LIBC(dup)(fd));
}

int dup2(int fd, int fd2)
{
    if (fd != fd2)
        forget(fd2);
    return copy_state(fd, LIBC(dup2)(fd, fd2));
}

int dup3(int fd, int fd2, int flags)
{
    if (fd != fd2)
        forget(fd2);
    return copy_state(fd, LIBC(dup3)(fd, fd2, flags));
}

/* ---- O_NONBLOCK: the program's view ---- */

static int fcntl_impl(int fd, int cmd, void *arg)
{
    unsigned st = fd_get(fd);
    int r;
    if (!(st & FD_OURS))
        return LIBC(fcntl)(fd, cmd, arg);
    switch (cmd) {
    case F_GETFL:
        r = LIBC(fcntl)(fd, cmd);
        if (r >= 0)
            r = (r & ~O_NONBLOCK) | (st & FD_USER_NONBLOCK ? O_NONBLOCK : 0);
        return r;
    case F_SETFL:
        r = LIBC(fcntl)(fd, cmd, (int)(intptr_t)arg | O_NONBLOCK);
        if (r == 0)
            fd_set_flag(fd, FD_USER_NONBLOCK, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
        return r;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return copy_state(fd, LIBC(fcntl)(fd, cmd, (int)(intptr_t)arg));
    default:
        return LIBC(fcntl)(fd, cmd, arg);
    }
}

/* fcntl's third argument is an int, a long or a pointer: glibc reads it
 * as a pointer too, which carries any of them on the ABIs we build for. */
int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_impl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_impl(fd, cmd, arg);
}

int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;
    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (req == FIONBIO && (fd_get(fd) & FD_OURS)) {
        if (!arg) {
            errno = EFAULT;
            return -1;
        }
        fd_set_flag(fd, FD_USER_NONBLOCK, *(const int *)arg != 0);
        return 0;
    }
    return LIBC(ioctl)(fd, req, arg);
}

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
    if (ms == 0 || !cooperative())
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

/* ---- sleeping ---- */

unsigned sleep(unsigned s)
{
    double t0;
    if (!cooperative())
        return LIBC(sleep)(s);
    t0 = cl_now();
    if (hub_sleep(s) == 0)
        return 0;
    return (unsigned)ceil(fmax(0, s - (cl_now() - t0)));
}

int usleep(useconds_t us)
{
    if (!cooperative())
        return LIBC(usleep)(us);
    return hub_sleep(us / 1e6);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    double s, t0;
    if (!cooperative())
        return LIBC(nanosleep)(req, rem);
    if (!req) {
        errno = EFAULT;
        return -1;
    }
    if (req->tv_nsec < 0 || req->tv_nsec > 999999999 || req->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    s = (double)req->tv_sec + (double)req->tv_nsec / 1e9;
    t0 = cl_now();
    if (hub_sleep(s) == 0)
        return 0;
    if (rem) {
        double left = fmax(0, s - (cl_now() - t0));
        rem->tv_sec = (time_t)left;
        rem->tv_nsec = (long)((left - (double)rem->tv_sec) * 1e9);
    }
    return -1;
}

/* ---- names: evdns on the hub ---- */

static __thread struct evdns_base *dns;
static __thread struct event_base *dns_on; /* the hub base dns was made on */

/* Lists we hand out are ours (libevent's are freed with libevent's
 * function), so freeaddrinfo must know which are which. */
struct our_list {
    struct addrinfo *head;
    struct our_list *next;
};
static struct our_list *our_lists;
static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;

static void free_nodes(struct addrinfo *ai)
{
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_canonname);
        free(ai);
        ai = next;
    }
}

/* One node: the addrinfo and its address in one block. */
static struct addrinfo *node(int family, int socktype, int protocol,
                             const struct sockaddr *sa, socklen_t len)
{
    struct addrinfo *ai = calloc(1, sizeof *ai + len);
    if (!ai)
        return NULL;
    ai->ai_family = family;
    ai->ai_socktype = socktype;
    ai->ai_protocol = protocol;
    ai->ai_addrlen = len;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    memcpy(ai->ai_addr, sa, len);
    return ai;
}

static int hand_out(struct addrinfo *head, struct addrinfo **res)
{
    struct our_list *l = malloc(sizeof *l);
    if (!l) {
        free_nodes(head);
        return EAI_MEMORY;
    }
    l->head = head;
    pthread_mutex_lock(&lists_lock);
    l->next = our_lists;
    our_lists = l;
    pthread_mutex_unlock(&lists_lock);
    *res = head;
    return 0;
}

/* Copy libevent's list into ours. */
static int copy_list(struct evutil_addrinfo *src, struct addrinfo **res)
{
    struct addrinfo *head = NULL, **tail = &head;
    for (struct evutil_addrinfo *s = src; s; s = s->ai_next) {
        struct addrinfo *ai = node(s->ai_family, s->ai_socktype, s->ai_protocol,
                                   s->ai_addr, (socklen_t)s->ai_addrlen);
        if (!ai || (s->ai_canonname && !(ai->ai_canonname = strdup(s->ai_canonname)))) {
            free(ai);
            free_nodes(head);
            return EAI_MEMORY;
        }
        *tail = ai;
        tail = &ai->ai_next;
    }
    return hand_out(head, res);
}

static bool name_is(const char *name, const char *label)
{
    size_t n = strlen(name), l = strlen(label);
    if (n && name[n - 1] == '.')
        n--; /* a fully qualified "localhost." */
    if (n == l)
        return strncasecmp(name, label, l) == 0;
    return n > l && name[n - l - 1] == '.' && strncasecmp(name + n - l, label, l) == 0;
}

/* RFC 6761: "localhost" names are the loopback address, without asking
 * anyone, when /etc/hosts does not say otherwise. */
static int loopback(const char *service, const struct addrinfo *hints,
                    struct addrinfo **res)
{
    struct addrinfo h = hints ? *hints : (struct addrinfo){0};
    struct addrinfo *v4 = NULL, *v6 = NULL, *head = NULL, **tail = &head;

    h.ai_flags |= AI_NUMERICHOST;
    h.ai_flags &= ~AI_CANONNAME;
    inside++;
    if (h.ai_family != AF_INET6)
        LIBC(getaddrinfo)("127.0.0.1", service, &h, &v4);
    if (h.ai_family != AF_INET)
        LIBC(getaddrinfo)("::1", service, &h, &v6);
    inside--;
    for (struct addrinfo *l = v4 ? v4 : v6; l; l = (l == v4 ? v6 : NULL))
        for (struct addrinfo *s = l; s; s = s->ai_next) {
            if (!(*tail = node(s->ai_family, s->ai_socktype, s->ai_protocol, s->ai_addr,
                               s->ai_addrlen))) {
                free_nodes(head);
                head = NULL;
                goto out;
            }
            tail = &(*tail)->ai_next;
        }
out:
    if (v4)
        LIBC(freeaddrinfo)(v4);
    if (v6)
        LIBC(freeaddrinfo)(v6);
    if (!head)
        return EAI_NONAME;
    return hand_out(head, res);
}

struct lookup {
    hub_event *done;
    bool abandoned; /* the caller left (killed): the callback frees this */
    int err;
    struct evutil_addrinfo *res;
};

static void lookup_done(int err, struct evutil_addrinfo *res, void *arg)
{
    struct lookup *lk = arg;
    if (lk->abandoned) {
        if (res)
            evutil_freeaddrinfo(res);
        hub_event_free(lk->done);
        free(lk);
        return;
    }
    lk->err = err;
    lk->res = res;
    hub_event_set(lk->done);
}

static struct evdns_base *resolver(void)
{
    struct event_base *base = hub_event_base();
    if (!base)
        return NULL;
    if (dns && dns_on == base)
        return dns;
    /* A resolver made on a hub since shut down (hub_shutdown without
     * monkey_unpatch_all first) cannot be freed safely: drop it. */
    dns = NULL;
    inside++; /* it reads /etc/resolv.conf and /etc/hosts with our read() */
    /* DISABLE_WHEN_INACTIVE: an idle resolver does not keep the loop busy. */
    dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                   EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!dns && (dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE)))
        evdns_base_load_hosts(dns, NULL); /* no resolv.conf: /etc/hosts still */
    if (dns) {
        /* Fail in seconds, not the 5 s x 3 attempts default, offline. */
        evdns_base_set_option(dns, "timeout:", "2");
        evdns_base_set_option(dns, "attempts:", "2");
        dns_on = base;
    }
    inside--;
    return dns;
}

static int resolve(const char *name, const char *service, const struct addrinfo *hints,
                   struct addrinfo **res)
{
    struct evutil_addrinfo h = {0};
    struct evdns_base *base;
    struct evdns_getaddrinfo_request *req;
    struct lookup *lk;
    int err;

    if (name_is(name, "invalid")) /* RFC 6761: never resolves */
        return EAI_NONAME;
    if (!(base = resolver()))
        return EAI_MEMORY;
    if (hints) {
        h.ai_flags = hints->ai_flags;
        h.ai_family = hints->ai_family;
        h.ai_socktype = hints->ai_socktype;
        h.ai_protocol = hints->ai_protocol;
    }
    lk = calloc(1, sizeof *lk);
    if (!lk || !(lk->done = hub_event_new())) {
        free(lk);
        return EAI_MEMORY;
    }
    inside++;
    /* The callback runs at once for numbers and /etc/hosts names, later
     * (from the hub) for a DNS answer. */
    req = evdns_getaddrinfo(base, name, service, &h, lookup_done, lk);
    inside--;
    if (hub_event_wait(lk->done, HUB_FOREVER) != 0) {
        err = errno;
        lk->abandoned = true;
        if (req)
            evdns_getaddrinfo_cancel(req); /* its callback frees lk */
        errno = err;
        return EAI_SYSTEM;
    }
    err = lk->err;
    if (err == 0)
        err = copy_list(lk->res, res);
    else if (err == EVUTIL_EAI_CANCEL)
        err = EAI_AGAIN;
    if (lk->res)
        evutil_freeaddrinfo(lk->res);
    hub_event_free(lk->done);
    free(lk);
    if (err && err != EAI_MEMORY && name_is(name, "localhost"))
        return loopback(service, hints, res);
    return err;
}

int getaddrinfo(const char *name, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    if (!name || !cooperative())
        return LIBC(getaddrinfo)(name, service, hints, res);
    return resolve(name, service, hints, res);
}

void freeaddrinfo(struct addrinfo *ai)
{
    struct our_list **p, *found = NULL;
    pthread_mutex_lock(&lists_lock);
    for (p = &our_lists; *p; p = &(*p)->next)
        if ((*p)->head == ai) {
            found = *p;
            *p = found->next;
            break;
        }
    pthread_mutex_unlock(&lists_lock);
    if (found) {
        free_nodes(ai);
        free(found);
    } else if (ai) {
        LIBC(freeaddrinfo)(ai);
    }
}

void monkey_unpatch_all(void)
{
    patched = false;
    if (dns) {
        inside++;
        evdns_base_free(dns, 1); /* pending lookups fail */
        inside--;
        dns = NULL;
    }
}
