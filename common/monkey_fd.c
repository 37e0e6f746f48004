/* monkey_fd.c - keeping the per-fd state true: close and dup forget or
 * copy it, fcntl and ioctl show the program the O_NONBLOCK it asked for
 * (see monkey_impl.h). */
#include "monkey_impl.h"
#include "hub.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ---- closing and duplicating ---- */

/* Drop our state (and the hub's record) before the number can be reused. */
static void forget(int fd)
{
    unsigned old;
    if (fd < 0 || fd >= MONKEY_MAX_FD)
        return;
    old = atomic_exchange_explicit(&monkey_fd_state[fd], 0, memory_order_relaxed);
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
    if (to >= 0 && to < MONKEY_MAX_FD)
        atomic_store_explicit(&monkey_fd_state[to],
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

/* The same function under its large-file name. */
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

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
