/* monkey_io.c - sockets that block by waiting on the hub: socket, connect,
 * accept, the reads and the writes (see monkey_impl.h). */
#include "monkey_impl.h"
#include "hub.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- sockets ---- */

int socket(int domain, int type, int protocol)
{
    int fd;
    if (!monkey_cooperative())
        return LIBC(socket)(domain, type, protocol);
    fd = LIBC(socket)(domain, type | SOCK_NONBLOCK, protocol);
    monkey_adopt(fd, (type & SOCK_NONBLOCK) != 0);
    return fd;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int r, err;
    socklen_t elen = sizeof err;
    if (!must_block(fd))
        return LIBC(connect)(fd, addr, len);
    while ((r = LIBC(connect)(fd, addr, len)) != 0 && again()) /* AF_UNIX, backlog full */
        if (monkey_wait_fd(fd, HUB_WRITE, EAGAIN) != 0)
            return -1;
    if (r == 0 || errno != EINPROGRESS)
        return r;
    if (monkey_wait_fd(fd, HUB_WRITE, EINPROGRESS) != 0)
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
    bool ours = monkey_cooperative(), block = must_block(fd);
    if (!ours && !block)
        return LIBC(accept4)(fd, addr, len, flags);
    for (;;) {
        int c = LIBC(accept4)(fd, addr, len, ours ? flags | SOCK_NONBLOCK : flags);
        if (c >= 0) {
            if (ours)
                monkey_adopt(c, (flags & SOCK_NONBLOCK) != 0);
            return c;
        }
        if (!block || !again() || monkey_wait_fd(fd, HUB_READ, EAGAIN) != 0)
            return -1;
    }
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!monkey_cooperative() && !must_block(fd))
        return LIBC(accept)(fd, addr, len);
    return accept4(fd, addr, len, 0);
}

/* ---- reading: one call, retried after each wait ---- */

#define READ_LOOP(fd, call)                                              \
    do {                                                                 \
        ssize_t r_;                                                      \
        while ((r_ = (call)) < 0 && must_block(fd) && again())           \
            if (monkey_wait_fd(fd, HUB_READ, EAGAIN) != 0)                      \
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
        if (r == 0 || !again() || monkey_wait_fd(fd, HUB_READ, EAGAIN) != 0)
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
        if (!again() || monkey_wait_fd(fd, HUB_WRITE, EAGAIN) != 0)
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
        if (r == 0 || !again() || monkey_wait_fd(fd, HUB_WRITE, EAGAIN) != 0)
            break;
    }
    free(left);
    if (done == 0 && r < 0)
        return -1;
    return (ssize_t)done;
}
