/*
 * urlopen.h - urllib.request.urlopen(url, timeout).read(), in C, written
 * as plain blocking POSIX code: getaddrinfo, socket, connect, send, recv.
 *
 * It knows nothing of greenlets or the hub, and that is the point of
 * lesson 05: linked with monkey.o and called after monkey_patch_all(), the
 * very same calls wait on the hub and other greenlets run meanwhile, as
 * gevent's monkey.patch_all() makes Python's urllib cooperative without
 * touching it.
 *
 * http:// only (no TLS). `timeout` bounds the whole exchange, connect to
 * last byte, not each call: a server that drips a byte at a time cannot
 * hold the caller past it. Name resolution is getaddrinfo's (glibc's own
 * limits; when patched, monkey_set_resolver_timeout's).
 */
#ifndef CL_URLOPEN_H
#define CL_URLOPEN_H

#include <stddef.h>

#include "http.h"

#define URLOPEN_MAX_RESPONSE (64u << 20) /* bytes kept in memory at most */

typedef struct url_response {
    int status;                /* 200... */
    enum http_framing framing; /* how the body's end was known */
    size_t body_len;           /* the body's bytes (decoded if chunked) */
    char *raw;                 /* the whole response as received (malloc) */
    size_t raw_len;
    char error[512];           /* why urlopen failed, in words */
} url_response;

/* GET text and read the whole response. 0: a 2xx response is in *resp.
 * -1: resp->error says why (a bad URL, a name that does not resolve, a
 * refused connection, a timeout, a bad or non-2xx response). Either way,
 * url_response_free(resp) afterwards. */
int urlopen(const char *text, double timeout, url_response *resp);
void url_response_free(url_response *resp);

#endif
