/*
 * http.h - the little HTTP a client needs: parse an http:// URL, write a
 * GET request, and tell from the bytes received so far whether a response
 * is complete and how long its body is.
 *
 * Pure functions: no I/O, no allocation, no global state. The lessons call
 * them between their read() calls; the fuzzers in tests/fuzz call them on
 * arbitrary bytes.
 */
#ifndef CL_HTTP_H
#define CL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

enum url_scheme { URL_HTTP, URL_HTTPS };

#define URL_HOST_MAX 255  /* a DNS name is at most 253 characters */
#define URL_PATH_MAX 2047

typedef struct url {
    enum url_scheme scheme;
    char host[URL_HOST_MAX + 1]; /* without the [] of an IPv6 literal */
    bool ipv6;                    /* host was written [like:this] */
    unsigned port;                /* 1..65535; 80 or 443 when not given */
    bool explicit_port;
    char path[URL_PATH_MAX + 1];  /* "/..." with the query, no fragment */
} url;

/* Parse scheme://host[:port][/path][?query][#fragment] for http and https.
 * Returns NULL, or a message saying what is wrong (u is then undefined).
 * Refused: other schemes, user@ parts, empty hosts, ports outside
 * 1..65535, spaces, control and non-ASCII characters (which would corrupt
 * the request line: percent-encode them). */
const char *url_parse(const char *text, url *u);

/* "GET path HTTP/1.1" with Host, Connection: close and a User-Agent, into
 * buf. Returns its length, or 0 if it does not fit in len bytes. */
size_t http_format_get(const url *u, char *buf, size_t len);

/* How the body of a response ends (RFC 9112, section 6.3). */
enum http_framing {
    HTTP_FRAMING_NONE,        /* 204, 304: no body */
    HTTP_FRAMING_LENGTH,      /* Content-Length */
    HTTP_FRAMING_CHUNKED,     /* Transfer-Encoding: chunked */
    HTTP_FRAMING_CLOSE,       /* neither: the body ends when the server closes */
};

typedef struct http_response {
    int status;               /* 100..999; interim 1xx responses are skipped */
    int minor_version;        /* HTTP/1.x */
    enum http_framing framing;
    unsigned long long content_length; /* FRAMING_LENGTH only */
    size_t header_len;        /* bytes before the body (1xx responses included) */
    size_t body_len;          /* decoded body bytes (chunk headers not counted) */
    size_t end;               /* when complete: bytes of buf the response used */
} http_response;

enum { HTTP_ERROR = -1, HTTP_COMPLETE = 0, HTTP_INCOMPLETE = 1 };

#define HTTP_HEADERS_MAX (64 * 1024)

/* Parse the len bytes received so far; eof says the server has closed.
 * HTTP_COMPLETE: r is filled in. HTTP_INCOMPLETE: read more and call
 * again with the whole buffer (cheap: chunk data is skipped, not scanned).
 * HTTP_ERROR: *err says why. */
int http_parse_response(const char *buf, size_t len, bool eof,
                        http_response *r, const char **err);

/* "Content-Length", "chunked", ... for messages. */
const char *http_framing_name(enum http_framing f);

#endif
