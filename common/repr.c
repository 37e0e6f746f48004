/* repr.c - Python's repr() of bytes (see repr.h). */
#include "repr.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Appends to out while there is room, counts always (snprintf's rule). */
struct sink {
    char *out;
    size_t cap, len;
};

static void put(struct sink *s, const char *text, size_t n)
{
    if (s->len < s->cap) {
        size_t room = s->cap - s->len;
        memcpy(s->out + s->len, text, n < room ? n : room);
    }
    s->len += n;
}

size_t cl_repr_bytes(char *out, size_t outlen, const void *p, size_t n, size_t max_shown)
{
    const unsigned char *b = p;
    size_t shown = max_shown && n > max_shown ? max_shown : n;
    bool squote = false, dquote = false;
    /* The buffer minus room for the NUL. */
    struct sink s = {out, outlen ? outlen - 1 : 0, 0};
    char quote, esc[8];

    /* Python looks at the whole object to choose the quote; so do we, at
     * what is shown (what is cut is never printed). */
    for (size_t i = 0; i < shown; i++) {
        squote |= b[i] == '\'';
        dquote |= b[i] == '"';
    }
    quote = squote && !dquote ? '"' : '\'';

    esc[0] = 'b', esc[1] = quote;
    put(&s, esc, 2);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = b[i];
        size_t k = 0;
        if (c == quote || c == '\\')
            esc[k++] = '\\', esc[k++] = (char)c;
        else if (c == '\t')
            esc[k++] = '\\', esc[k++] = 't';
        else if (c == '\n')
            esc[k++] = '\\', esc[k++] = 'n';
        else if (c == '\r')
            esc[k++] = '\\', esc[k++] = 'r';
        else if (c < 0x20 || c >= 0x7f)
            k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        else
            esc[k++] = (char)c;
        put(&s, esc, k);
    }
    put(&s, &quote, 1);
    if (shown < n) {
        char tail[48];
        int k = snprintf(tail, sizeof tail, "... (%zu bytes)", n);
        put(&s, tail, (size_t)k);
    }
    if (outlen)
        out[s.len < s.cap ? s.len : s.cap] = '\0';
    return s.len;
}

int cl_fputs_repr_bytes(FILE *f, const void *p, size_t n, size_t max_shown)
{
    char small[CL_REPR_SIZE(64)], *buf = small;
    size_t need = cl_repr_bytes(small, sizeof small, p, n, max_shown);
    int rc;

    if (need >= sizeof small) {
        if (!(buf = malloc(need + 1)))
            return EOF;
        cl_repr_bytes(buf, need + 1, p, n, max_shown);
    }
    rc = fputs(buf, f);
    if (buf != small)
        free(buf);
    return rc;
}
