/* http.c - URL parsing, GET requests and response framing, as pure
 * functions (see http.h). Everything here must survive arbitrary bytes:
 * tests/fuzz feeds it what libFuzzer makes up. */
#include "http.h"
#include "i18n.h" /* N_() only: the caller translates (urlopen.c) */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHUNK_LINE_MAX 1024 /* a chunk-size line, extensions included */

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive: is s[0..n) the word w? */
static bool word_is(const char *s, size_t n, const char *w)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (w[i] == '\0' || lower((unsigned char)s[i]) != w[i])
            return false;
    return w[n] == '\0';
}

/* ---- URLs ---- */

static bool host_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool ipv6_char(int c)
{
    return hex_value(c) >= 0 || c == ':' || c == '.';
}

const char *url_parse(const char *text, url *u)
{
    const char *p = text, *auth, *auth_end, *host, *host_end, *path_end;
    size_t n;

    memset(u, 0, sizeof *u);
    if (!is_alpha((unsigned char)*p))
        return N_("not an absolute URL (want http://HOST[:PORT][/PATH])");
    while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0)
        return N_("not an absolute URL (want http://HOST[:PORT][/PATH])");
    if (word_is(text, (size_t)(p - text), "http"))
        u->scheme = URL_HTTP;
    else if (word_is(text, (size_t)(p - text), "https"))
        u->scheme = URL_HTTPS;
    else
        return N_("unsupported scheme (only http:// and https:// URLs)");
    u->port = u->scheme == URL_HTTPS ? 443 : 80;

    auth = p + 3;
    auth_end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return N_("user@host in URLs is not supported");
    if (*auth == '[') {
        host = auth + 1;
        host_end = memchr(host, ']', (size_t)(auth_end - host));
        if (!host_end)
            return N_("IPv6 address without its closing ]");
        for (p = host; p < host_end; p++)
            if (!ipv6_char((unsigned char)*p))
                return N_("bad character in IPv6 address");
        if (!memchr(host, ':', (size_t)(host_end - host)))
            return N_("bad IPv6 address");
        u->ipv6 = true;
        p = host_end + 1;
        if (p < auth_end && *p != ':')
            return N_("bad character after IPv6 address");
    } else {
        host = auth;
        host_end = memchr(auth, ':', (size_t)(auth_end - auth));
        if (!host_end)
            host_end = auth_end;
        for (p = host; p < host_end; p++)
            if (!host_char((unsigned char)*p))
                return N_("bad character in host name");
        p = host_end;
    }
    n = (size_t)(host_end - host);
    if (n == 0)
        return N_("no host in URL");
    if (n > 253)
        return N_("host name too long");
    memcpy(u->host, host, n);
    u->host[n] = '\0';

    if (p < auth_end) { /* at ':' */
        unsigned long port = 0;
        const char *digits = ++p;
        for (; p < auth_end; p++) {
            if (!is_digit((unsigned char)*p) || p - digits >= 5)
                return N_("bad port (want a number 1..65535)");
            port = port * 10 + (unsigned long)(*p - '0');
        }
        if (p > digits) { /* "host:" alone means the default port */
            if (port < 1 || port > 65535)
                return N_("bad port (want a number 1..65535)");
            u->port = (unsigned)port;
            u->explicit_port = true;
        }
    }

    /* The path and query go into the request line: nothing that could
     * end or split it. The fragment stays with the client. */
    p = auth_end;
    path_end = p + strcspn(p, "#");
    n = 0;
    if (*p != '/')
        u->path[n++] = '/';
    for (; p < path_end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f)
            return N_("space, control or non-ASCII character in URL (percent-encode it)");
        if (n == URL_PATH_MAX)
            return N_("URL path too long");
        u->path[n++] = (char)c;
    }
    u->path[n] = '\0';
    return NULL;
}

size_t http_format_get(const url *u, char *buf, size_t len)
{
    unsigned dflt = u->scheme == URL_HTTPS ? 443 : 80;
    char port[8] = "";
    int n;

    if (u->port != dflt)
        snprintf(port, sizeof port, ":%u", u->port);
    n = snprintf(buf, len,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s%s%s%s\r\n"
                 "User-Agent: corolab\r\n"
                 "Accept: */*\r\n"
                 "Connection: close\r\n"
                 "\r\n",
                 u->path, u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "", port);
    if (n < 0 || (size_t)n >= len)
        return 0;
    return (size_t)n;
}

/* ---- responses ---- */

const char *http_framing_name(enum http_framing f)
{
    switch (f) {
    case HTTP_FRAMING_NONE:
        return "no body";
    case HTTP_FRAMING_LENGTH:
        return "Content-Length";
    case HTTP_FRAMING_CHUNKED:
        return "chunked";
    case HTTP_FRAMING_CLOSE:
        return "neither Content-Length nor chunked: read until the server closed";
    }
    return "?";
}

/* The line starting at p: returns the index just past its LF (0 if there
 * is no LF yet) and sets *cend to where its content ends (before CR LF or
 * a bare LF, which RFC 9112 lets a recipient accept). */
static size_t line_end(const char *buf, size_t len, size_t p, size_t *cend)
{
    const char *lf = p < len ? memchr(buf + p, '\n', len - p) : NULL;
    size_t e;
    if (!lf)
        return 0;
    e = (size_t)(lf - buf);
    *cend = e > p && buf[e - 1] == '\r' ? e - 1 : e;
    return e + 1;
}

static int need_more(bool eof, const char *where, const char **err)
{
    if (!eof)
        return HTTP_INCOMPLETE;
    *err = where;
    return HTTP_ERROR;
}

static int fail(const char *why, const char **err)
{
    *err = why;
    return HTTP_ERROR;
}

static bool token_char(int c)
{
    return is_alpha(c) || is_digit(c) || (c > 0x20 && c < 0x7f && strchr("!#$%&'*+-.^_`|~", c));
}

struct head {
    bool have_length, te, te_chunked;
    unsigned long long length;
};

static bool ows(int c)
{
    return c == ' ' || c == '\t';
}

/* Content-Length: digits only; repeated headers must agree. */
static int content_length(const char *v, size_t n, struct head *h, const char **err)
{
    unsigned long long x = 0;
    size_t i;
    if (n == 0)
        return fail(N_("bad Content-Length"), err);
    for (i = 0; i < n; i++) {
        if (!is_digit((unsigned char)v[i]))
            return fail(N_("bad Content-Length"), err);
        if (x > (ULLONG_MAX - 9) / 10)
            return fail(N_("Content-Length too large"), err);
        x = x * 10 + (unsigned)(v[i] - '0');
    }
    if (h->have_length && h->length != x)
        return fail(N_("conflicting Content-Length headers"), err);
    h->have_length = true;
    h->length = x;
    return HTTP_COMPLETE;
}

/* Transfer-Encoding: the body is chunked if the last coding is. */
static void transfer_encoding(const char *v, size_t n, struct head *h)
{
    size_t start = n;
    while (start > 0 && v[start - 1] != ',')
        start--;
    while (start < n && ows(v[start]))
        start++;
    h->te = true;
    h->te_chunked = word_is(v + start, n - start, "chunked");
}

/* One response head starting at off: status line and headers. On
 * HTTP_COMPLETE, *body is the index just past the blank line. */
static int parse_head(const char *buf, size_t len, bool eof, size_t off,
                      http_response *r, struct head *h, size_t *body,
                      const char **err)
{
    size_t p, n, ce;

    memset(h, 0, sizeof *h);
    n = line_end(buf, len, off, &ce);
    if (!n) {
        if (len - off > HTTP_HEADERS_MAX)
            return fail(N_("response headers too long"), err);
        if (len - off >= 5 && memcmp(buf + off, "HTTP/", 5) != 0)
            return fail(N_("not an HTTP response"), err);
        return need_more(eof, len == off ? N_("connection closed before any response")
                                         : N_("connection closed inside the status line"), err);
    }
    if (ce - off < 12 || memcmp(buf + off, "HTTP/1.", 7) != 0 ||
        !is_digit((unsigned char)buf[off + 7]) || buf[off + 8] != ' ' ||
        !is_digit((unsigned char)buf[off + 9]) || !is_digit((unsigned char)buf[off + 10]) ||
        !is_digit((unsigned char)buf[off + 11]) || (ce - off > 12 && buf[off + 12] != ' '))
        return fail(N_("not an HTTP/1.x status line"), err);
    if (buf[off + 9] == '0')
        return fail(N_("bad status code"), err);
    r->minor_version = buf[off + 7] - '0';
    r->status = (buf[off + 9] - '0') * 100 + (buf[off + 10] - '0') * 10 + (buf[off + 11] - '0');

    for (p = n;; p = n) {
        const char *colon, *v;
        size_t vn, i;
        n = line_end(buf, len, p, &ce);
        if (!n || n - off > HTTP_HEADERS_MAX) {
            if (len - off > HTTP_HEADERS_MAX)
                return fail(N_("response headers too long"), err);
            return need_more(eof, N_("connection closed inside the headers"), err);
        }
        if (ce == p)
            break;
        if (ows(buf[p]))
            return fail(N_("obsolete folded header line"), err);
        colon = memchr(buf + p, ':', ce - p);
        if (!colon || colon == buf + p)
            return fail(N_("bad header line"), err);
        for (i = p; buf + i < colon; i++)
            if (!token_char((unsigned char)buf[i]))
                return fail(N_("bad header name"), err);
        v = colon + 1;
        vn = (size_t)(buf + ce - v);
        while (vn && ows(*v))
            v++, vn--;
        while (vn && ows(v[vn - 1]))
            vn--;
        for (i = 0; i < vn; i++)
            if (v[i] == '\r' || v[i] == '\0')
                return fail(N_("control character in a header"), err);
        if (word_is(buf + p, (size_t)(colon - buf) - p, "content-length")) {
            if (content_length(v, vn, h, err) != HTTP_COMPLETE)
                return HTTP_ERROR;
        } else if (word_is(buf + p, (size_t)(colon - buf) - p, "transfer-encoding")) {
            transfer_encoding(v, vn, h);
        }
    }
    *body = n;
    return HTTP_COMPLETE;
}

static int parse_chunks(const char *buf, size_t len, bool eof, size_t p,
                        http_response *r, const char **err)
{
    size_t total = 0;
    for (;;) {
        size_t n, ce, i, size = 0;
        int digits = 0;

        n = line_end(buf, len, p, &ce);
        if ((n ? n : len) - p > CHUNK_LINE_MAX)
            return fail(N_("chunk size line too long"), err);
        if (!n) {
            r->body_len = total;
            return need_more(eof, N_("connection closed inside a chunk header"), err);
        }
        for (i = p; i < ce && hex_value((unsigned char)buf[i]) >= 0; i++) {
            if (++digits > 16 || size > (SIZE_MAX >> 4))
                return fail(N_("chunk too large"), err);
            size = size << 4 | (size_t)hex_value((unsigned char)buf[i]);
        }
        while (i < ce && ows(buf[i]))
            i++;
        if (digits == 0 || (i < ce && buf[i] != ';'))
            return fail(N_("bad chunk size"), err);
        p = n;
        if (size == 0) { /* the last chunk; then trailers and a blank line */
            for (;;) {
                n = line_end(buf, len, p, &ce);
                if ((n ? n : len) - p > HTTP_HEADERS_MAX)
                    return fail(N_("trailers too long"), err);
                if (!n) {
                    r->body_len = total;
                    return need_more(eof, N_("connection closed inside the trailers"), err);
                }
                if (ce == p)
                    break;
                p = n;
            }
            r->body_len = total;
            r->end = n;
            return HTTP_COMPLETE;
        }
        if (size > len - p) {
            r->body_len = total + (len - p);
            return need_more(eof, N_("connection closed inside a chunk"), err);
        }
        if (total > SIZE_MAX - size)
            return fail(N_("chunked body too large"), err);
        total += size;
        p += size;
        if (p < len && buf[p] == '\r')
            p++;
        if (p >= len) {
            r->body_len = total;
            return need_more(eof, N_("connection closed after a chunk"), err);
        }
        if (buf[p] != '\n')
            return fail(N_("chunk data not followed by CRLF"), err);
        p++;
    }
}

int http_parse_response(const char *buf, size_t len, bool eof,
                        http_response *r, const char **err)
{
    struct head h;
    size_t off = 0, body;
    int rc;

    memset(r, 0, sizeof *r);
    *err = NULL;
    for (;;) { /* skip interim responses (100 Continue...) */
        rc = parse_head(buf, len, eof, off, r, &h, &body, err);
        if (rc != HTTP_COMPLETE)
            return rc;
        if (r->status == 101)
            return fail(N_("101 Switching Protocols: not an HTTP/1.x body"), err);
        if (r->status >= 200)
            break;
        off = body;
    }
    r->header_len = body;
    if (r->status == 204 || r->status == 304) {
        r->framing = HTTP_FRAMING_NONE;
        r->end = body;
        return HTTP_COMPLETE;
    }
    if (h.te) /* Transfer-Encoding wins over Content-Length */
        r->framing = h.te_chunked ? HTTP_FRAMING_CHUNKED : HTTP_FRAMING_CLOSE;
    else if (h.have_length)
        r->framing = HTTP_FRAMING_LENGTH;
    else
        r->framing = HTTP_FRAMING_CLOSE;

    switch (r->framing) {
    case HTTP_FRAMING_LENGTH:
        r->content_length = h.length;
        if (len - body >= h.length) {
            r->body_len = (size_t)h.length;
            r->end = body + (size_t)h.length;
            return HTTP_COMPLETE;
        }
        r->body_len = len - body;
        return need_more(eof, N_("connection closed before the end of the body"), err);
    case HTTP_FRAMING_CHUNKED:
        return parse_chunks(buf, len, eof, body, r, err);
    default:
        r->body_len = len - body;
        r->end = len;
        return eof ? HTTP_COMPLETE : HTTP_INCOMPLETE;
    }
}
