/*
 * monkey_impl.h - what the parts of monkey.o share (not a public header).
 *
 *   monkey_core.c   libc's own functions, who may wait, per-fd state, the wait
 *   monkey_io.c     socket, connect, accept, read/recv..., write/send...
 *   monkey_fd.c     close, dup*, fcntl, ioctl: keeping the per-fd state true
 *   monkey_poll.c   poll on the hub, and the _FORTIFY_SOURCE entry points
 *   monkey_sleep.c  sleep, usleep, nanosleep
 *   monkey_dns.c    getaddrinfo, freeaddrinfo: the hub's resolver
 *
 * Every wrapper has the same shape: if the call cannot block, or the fd is
 * not ours, call libc's function and return. Otherwise call it on the
 * really non-blocking fd; on EAGAIN wait until the fd is ready - on the hub
 * in a cooperative context, with libc's poll() anywhere else, which is what
 * keeps "blocking" blocking for code that is not patched - and try again.
 *
 * The names below are hidden: the parts are joined with `ld -r` into one
 * monkey.o, and only the interposed POSIX names and monkey.h's leave it.
 */
#ifndef CL_MONKEY_IMPL_H
#define CL_MONKEY_IMPL_H

/* Fortified headers turn read() and friends into inline wrappers that
 * would clash with our definitions; monkey_poll.c's __*_chk entry points
 * catch fortified callers instead. Include this header first. */
#undef _FORTIFY_SOURCE

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define MK_HIDDEN __attribute__((visibility("hidden")))

/* ---- libc's own functions (dlsym(RTLD_NEXT)) ---- */

struct monkey_libc {
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
};
extern struct monkey_libc monkey_libc MK_HIDDEN;
extern pthread_once_t monkey_libc_once MK_HIDDEN;
void monkey_find_libc(void) MK_HIDDEN;

#define LIBC(name) (pthread_once(&monkey_libc_once, monkey_find_libc), monkey_libc.name)

/* May this call wait on the hub? (patched thread; its main greenlet or a
 * hub task) */
bool monkey_cooperative(void) MK_HIDDEN;

/* ---- per-fd state: which sockets are ours, what the program asked ---- */

#define MONKEY_MAX_FD (1 << 20) /* a byte each; untouched pages cost nothing */
enum {
    FD_OURS = 1,          /* made while patched: really O_NONBLOCK */
    FD_USER_NONBLOCK = 2, /* the program asked for O_NONBLOCK */
    FD_ON_HUB = 4,        /* the hub keeps a record: forget it on close */
};
extern _Atomic unsigned char monkey_fd_state[MONKEY_MAX_FD] MK_HIDDEN;

static inline unsigned fd_get(int fd)
{
    return fd >= 0 && fd < MONKEY_MAX_FD
               ? atomic_load_explicit(&monkey_fd_state[fd], memory_order_relaxed)
               : 0;
}

static inline void fd_set_flag(int fd, unsigned flag, bool on)
{
    if (on)
        atomic_fetch_or_explicit(&monkey_fd_state[fd], (unsigned char)flag,
                                 memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&monkey_fd_state[fd], (unsigned char)~flag,
                                  memory_order_relaxed);
}

/* Does a call on fd need our help to block? (ours, and the program did
 * not ask for O_NONBLOCK) */
static inline bool must_block(int fd)
{
    return (fd_get(fd) & (FD_OURS | FD_USER_NONBLOCK)) == FD_OURS;
}

/* A socket we made non-blocking behind the program's back; user_nb is what
 * the program asked for. */
void monkey_adopt(int fd, bool user_nb) MK_HIDDEN;

/* ---- waiting ---- */

/* Wait until fd may be ready for `what` (HUB_READ/HUB_WRITE), honouring
 * SO_RCVTIMEO/SO_SNDTIMEO. 0, or -1 with errno: on_timeout when the
 * socket's timeout passed, ECANCELED if the greenlet was killed, EBADF if
 * another greenlet closed the fd. */
int monkey_wait_fd(int fd, short what, int on_timeout) MK_HIDDEN;

/* Did the last call fail only because it would have blocked? */
static inline bool again(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK;
}

#endif
