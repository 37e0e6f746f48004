/* urlopen.c - one HTTP GET with plain blocking calls (see urlopen.h). */
#include "urlopen.h"
#include "clock.h"
#include "dial.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(url_response *resp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(resp->error, sizeof resp->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* What a blocking call's timeout looks like: EAGAIN from recv/send,
 * EINPROGRESS from connect, ETIMEDOUT from our own deadline. */
static const char *why(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS || err == ETIMEDOUT
               ? _("timed out")
               : strerror(err);
}

/* dial_addrinfo's wait, in plain POSIX: poll. */
static int poll_writable(int fd, double seconds)
{
    struct pollfd p = {fd, POLLOUT, 0};
    int r = poll(&p, 1, seconds < 0 ? -1 : (int)ceil(seconds * 1000));
    if (r == 0)
        errno = ETIMEDOUT;
    return r > 0 ? 0 : -1;
}

/* The next blocking call may take what is left until deadline: its
 * SO_RCVTIMEO or SO_SNDTIMEO. -1/ETIMEDOUT if nothing is left. */
static int until(int fd, int opt, double deadline)
{
    double left = deadline - cl_now();
    struct timeval tv;
    if (left <= 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    tv.tv_sec = (time_t)left;
    tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
    if (tv.tv_sec == 0 && tv.tv_usec == 0)
        tv.tv_usec = 1; /* 0 would mean "no timeout" */
    return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

/* Resolve host:port and connect, before deadline: a blocking socket. */
static int open_connection(const url *u, double deadline, url_response *resp)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    char port[8];
    int fd, rc, fl;

    snprintf(port, sizeof port, "%u", u->port);
    rc = getaddrinfo(u->host, port, &hints, &res);
    if (rc != 0)
        return fail(resp, _("cannot resolve %s: %s"), u->host,
                    rc == EAI_SYSTEM ? why(errno) : gai_strerror(rc));
    fd = dial_addrinfo(res, deadline, poll_writable);
    freeaddrinfo(res);
    if (fd < 0)
        return fail(resp, _("cannot connect to %s port %u: %s"), u->host, u->port, why(errno));
    /* From here on, ordinary blocking calls. */
    if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        fail(resp, _("cannot connect to %s port %u: %s"), u->host, u->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int send_request(int fd, const url *u, double deadline, url_response *resp)
{
    char req[URL_PATH_MAX + URL_HOST_MAX + 256];
    size_t n = http_format_get(u, req, sizeof req), sent = 0;
    while (sent < n) { /* a blocking send sends it all, unless it times out */
        ssize_t r;
        if (until(fd, SO_SNDTIMEO, deadline) != 0 ||
            (r = send(fd, req + sent, n - sent, MSG_NOSIGNAL)) < 0)
            return fail(resp, _("sending the request: %s"), why(errno));
        sent += (size_t)r;
    }
    return 0;
}

/* Read until the response is complete (http_parse_response says so). */
static int read_response(int fd, double deadline, url_response *resp)
{
    size_t cap = 0;
    for (;;) {
        http_response r;
        const char *err;
        ssize_t got;
        int rc;
        if (resp->raw_len == cap) {
            char *more;
            if (cap == URLOPEN_MAX_RESPONSE)
                return fail(resp, _("response larger than %u MiB"), URLOPEN_MAX_RESPONSE >> 20);
            cap = cap ? cap * 2 : 16384;
            if (!(more = realloc(resp->raw, cap)))
                return fail(resp, _("out of memory"));
            resp->raw = more;
        }
        if (until(fd, SO_RCVTIMEO, deadline) != 0 ||
            (got = recv(fd, resp->raw + resp->raw_len, cap - resp->raw_len, 0)) < 0)
            return fail(resp, _("reading the response: %s"), why(errno));
        resp->raw_len += (size_t)got;
        rc = http_parse_response(resp->raw, resp->raw_len, got == 0, &r, &err);
        if (rc == HTTP_ERROR)
            return fail(resp, _("bad response: %s"), _(err));
        if (rc == HTTP_COMPLETE) {
            resp->status = r.status;
            resp->framing = r.framing;
            resp->body_len = r.body_len;
            if (r.status < 200 || r.status > 299)
                return fail(resp, _("the server answered %d (%zu bytes)"), r.status, r.body_len);
            return 0;
        }
    }
}

int urlopen(const char *text, double timeout, url_response *resp)
{
    double deadline = cl_now() + timeout;
    const char *err;
    url u;
    int fd, rc;

    memset(resp, 0, sizeof *resp);
    if ((err = url_parse(text, &u)) != NULL)
        return fail(resp, _("bad URL: %s"), _(err));
    if (u.scheme == URL_HTTPS)
        return fail(resp, _("https is not supported (no TLS in this lesson): use http://"));
    if ((fd = open_connection(&u, deadline, resp)) < 0)
        return -1;
    rc = send_request(fd, &u, deadline, resp);
    if (rc == 0)
        rc = read_response(fd, deadline, resp);
    close(fd);
    return rc;
}

void url_response_free(url_response *resp)
{
    free(resp->raw);
    resp->raw = NULL;
    resp->raw_len = 0;
}
