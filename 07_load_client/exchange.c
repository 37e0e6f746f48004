/*
 * exchange.c - one message out and its echo back, reading while writing
 * (see exchange.h for why).
 */
#include "exchange.h"
#include "setup.h"
#include "stats.h"

#include "cli.h"
#include "cosock.h"

#include <math.h>
#include <string.h>
#include <sys/socket.h>

int poll_until(struct pollfd *p, nfds_t n, double deadline)
{
    int r;
    do {
        double left = deadline - cl_now();
        r = poll(p, n, left > 0 ? (int)ceil(left * 1e3) : 0);
    } while (r < 0 && errno == EINTR && !cl_stop_signal);
    return r;
}

static int failed(struct client *c, const char *what, int err)
{
    client_error(c, what, err);
    return -1;
}

/* The socket is non-blocking (blocking_connect): each send and recv takes
 * what it can, and poll() waits for the next chance, or for stop_fd. */
int thread_exchange(int fd, struct client *c, size_t len, double t0)
{
    struct pollfd p[2] = {{.fd = fd}, {.fd = stop_fd, .events = POLLIN}};
    double deadline = t0 + timeout_s;
    size_t sent = 0, got = 0;
    ssize_t n;

    for (;;) {
        if (sent < len) {
            if ((n = send(fd, c->msg + sent, len - sent, MSG_NOSIGNAL)) < 0 && errno != EAGAIN)
                return failed(c, "send", errno);
            if (n > 0 && (sent += (size_t)n) == len)
                client_sent(c);
        }
        p[0].events = POLLIN | (sent < len ? POLLOUT : 0);
        if ((n = poll_until(p, 2, deadline)) <= 0)
            return failed(c, sent < len ? "send" : "recv", n == 0 ? ETIMEDOUT : errno);
        if (p[1].revents)
            return failed(c, "stopped", EINTR); /* said nothing: cl_stop_signal is set */
        if (!(p[0].revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        if ((n = recv(fd, c->reply + got, len - got, 0)) < 0 && errno != EAGAIN)
            return failed(c, "recv", errno);
        if (n == 0)
            return failed(c, "recv", 0);
        if (n > 0 && (got += (size_t)n) == len)
            return 0;
    }
}

/* The second greenlet, for a message the socket did not take at once. */
static void *send_rest(void *arg)
{
    struct client *c = arg;
    if (cosock_sendall(c->rest.fd, c->msg + c->rest.from, c->rest.to - c->rest.from,
                       c->rest.deadline - cl_now()) != 0)
        c->rest.err = errno;
    return NULL;
}

/* Read until the echo's len bytes are in c->reply; len, or what came
 * before the server closed, or -1 with errno.
 *
 * Each cosock_recv is offered all of c->reply's room, not only what is
 * missing (cosock_recv_exact's way): a read shorter than its room tells
 * the hub the socket is drained, and the next message's recv waits for
 * new data at once, instead of first making the recv that would only say
 * EAGAIN, right after the send, when the echo cannot be there yet. Two
 * system calls per message, not three (issue 12). What comes past len is
 * the start of the next echo (or bytes the server should not have sent):
 * kept (early_at, early_len) and moved to the front by the next call, so
 * every echo is compared with exactly the bytes the stream had there. */
static ssize_t recv_echo(int fd, struct client *c, size_t len, double deadline)
{
    size_t got = c->early_len;
    memmove(c->reply, c->reply + c->early_at, got);
    c->early_len = 0;
    while (got < len) {
        double left = deadline - cl_now();
        ssize_t n;
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if ((n = cosock_recv(fd, c->reply + got, c->reply_room - got, left)) < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    c->early_at = got < len ? got : len;
    c->early_len = got - c->early_at;
    return (ssize_t)c->early_at;
}

int greenlet_exchange(int fd, struct client *c, size_t len, double t0,
                      enum greenlet_stack_kind stacks)
{
    double deadline = t0 + timeout_s;
    ssize_t n = cosock_send(fd, c->msg, len, 0); /* 0: only what goes now */
    hub_task *sender = NULL;

    if (n < 0 && errno != ETIMEDOUT)
        return failed(c, "send", errno);
    if (n < (ssize_t)len) {
        c->rest.fd = fd;
        c->rest.from = n < 0 ? 0 : (size_t)n;
        c->rest.to = len;
        c->rest.deadline = deadline;
        c->rest.err = 0;
        sender = hub_spawn_with(send_rest, c, &(hub_spawn_opts){.stack_kind = stacks, .name = "sender"});
        if (!sender)
            return failed(c, "send", errno);
    }
    n = recv_echo(fd, c, len, deadline);
    int err = n < 0 ? errno : 0;
    if (sender) {
        if (n != (ssize_t)len)
            hub_kill(sender, 0); /* a failed read leaves it nothing to do */
        if (hub_join(sender, HUB_FOREVER) == 0)
            hub_task_free(sender);
        else
            hub_detach(sender); /* this greenlet was killed: the hub frees it */
        if (c->rest.err && c->rest.err != ECANCELED)
            return failed(c, "send", c->rest.err);
    }
    if (n != (ssize_t)len)
        return failed(c, "recv", err);
    client_sent(c);
    return 0;
}

/* Say we are done (SHUT_WR) and read until the server closes its end: 06
 * and any echo server close when they read our end of file. A server that
 * does not is left after --timeout, with no error. */
void thread_finish(int fd, struct client *c)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
    double deadline = cl_now() + timeout_s;
    char buf[64];
    ssize_t n = 0;

    shutdown(fd, SHUT_WR);
    while (!c->failed && poll_until(p, 2, deadline) > 0 && !p[1].revents &&
           ((n = recv(fd, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EAGAIN))) {
        if (n > 0) {
            client_extra(c, buf, (size_t)n);
            return;
        }
    }
}

void greenlet_finish(int fd, struct client *c)
{
    char buf[64];
    ssize_t n;

    cosock_shutdown(fd, SHUT_WR);
    if (!c->failed && c->early_len > 0) /* read already, past the last echo */
        client_extra(c, c->reply + c->early_at, c->early_len);
    else if (!c->failed && (n = cosock_recv(fd, buf, sizeof buf, timeout_s)) > 0)
        client_extra(c, buf, (size_t)n);
}
