/*
 * fuzz_url.c - libFuzzer target for url_parse and http_format_get.
 *
 * Beyond "no crash, no overread" (AddressSanitizer), it checks what the
 * client relies on: an accepted URL has a sane host and port, its path
 * cannot split the request line, and printing it back parses to the same.
 */
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "fuzz_url: %s failed (line %d)\n", #cond, __LINE__); \
            abort();                                                     \
        }                                                                \
    } while (0)

static void check_fields(const url *u)
{
    size_t n = strlen(u->host);
    CHECK(n > 0 && n <= 253);
    CHECK(u->port >= 1 && u->port <= 65535);
    CHECK(u->path[0] == '/');
    for (const char *p = u->path; *p; p++)
        CHECK(*p > 0x20 && *p < 0x7f);
    for (const char *p = u->host; *p; p++)
        CHECK(*p > 0x20 && *p < 0x7f && *p != '/' && *p != '@');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char req[8192], again[8192];
    url u, v;
    const char *err;
    size_t n;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err = url_parse(text, &u);
    free(text);
    if (err) {
        CHECK(*err);
        return 0;
    }
    check_fields(&u);

    /* The request: one request line, and the blank line only at the end. */
    n = http_format_get(&u, req, sizeof req);
    CHECK(n > 0 && n == strlen(req));
    CHECK(strncmp(req, "GET /", 5) == 0);
    CHECK(strstr(req, "\r\n\r\n") == req + n - 4);
    CHECK(strchr(req, ' ') < strstr(req, " HTTP/1.1\r\n"));

    /* Round trip. */
    snprintf(again, sizeof again, "%s://%s%s%s:%u%s", u.scheme == URL_HTTPS ? "https" : "http",
             u.ipv6 ? "[" : "", u.host, u.ipv6 ? "]" : "", u.port, u.path);
    err = url_parse(again, &v);
    CHECK(err == NULL);
    CHECK(v.scheme == u.scheme && v.port == u.port && v.ipv6 == u.ipv6);
    CHECK(strcmp(v.host, u.host) == 0 && strcmp(v.path, u.path) == 0);
    return 0;
}
