/*
 * fuzz_http.c - libFuzzer target for http_parse_response.
 *
 * The client calls the parser again after every read, with the bytes so
 * far, so besides memory safety it checks that this is sound: a complete
 * response's fields fit in the buffer; any shorter prefix of it is only
 * "incomplete", never an error or a different answer; and the same bytes
 * up to its end parse to the same response.
 */
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "fuzz_http: %s failed (line %d)\n", #cond, __LINE__); \
            abort();                                                     \
        }                                                                \
    } while (0)

/* Parse a private copy of exactly n bytes, so ASan sees any overread. */
static int parse(const uint8_t *data, size_t n, bool eof, http_response *r)
{
    char *buf = malloc(n ? n : 1);
    const char *err = NULL;
    int rc;
    if (!buf)
        abort();
    memcpy(buf, data, n);
    rc = http_parse_response(buf, n, eof, r, &err);
    free(buf);
    CHECK(rc == HTTP_COMPLETE || rc == HTTP_INCOMPLETE || rc == HTTP_ERROR);
    CHECK((rc == HTTP_ERROR) == (err != NULL));
    CHECK(!(eof && rc == HTTP_INCOMPLETE));
    if (rc == HTTP_COMPLETE) {
        CHECK(r->status >= 200 && r->status <= 999);
        CHECK(r->header_len <= r->end && r->end <= n);
        CHECK(r->body_len <= r->end - r->header_len);
        if (r->framing == HTTP_FRAMING_LENGTH)
            CHECK(r->body_len == r->content_length);
        if (r->framing == HTTP_FRAMING_NONE)
            CHECK(r->body_len == 0 && r->end == r->header_len);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_response full, part;
    int rc;

    parse(data, size, true, &full);
    rc = parse(data, size, false, &full);
    if (rc != HTTP_COMPLETE)
        return 0;
    CHECK(full.framing != HTTP_FRAMING_CLOSE); /* that one needs eof */

    /* The same bytes up to its end: the same response. */
    CHECK(parse(data, full.end, false, &part) == HTTP_COMPLETE);
    CHECK(part.status == full.status && part.framing == full.framing);
    CHECK(part.body_len == full.body_len && part.end == full.end);
    CHECK(part.header_len == full.header_len);

    /* Shorter prefixes (a few, chosen from the data): not complete yet,
     * and not an error either. */
    for (size_t i = 0; i < 4 && full.end > 0; i++) {
        size_t k = (size_t)(data[i % size] * 131u + i * 7919u) % full.end;
        CHECK(parse(data, k, false, &part) == HTTP_INCOMPLETE);
        CHECK(part.body_len <= full.body_len);
    }
    return 0;
}
