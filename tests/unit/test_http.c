/*
 * test_http.c - the pure parsers of common/http.c: URLs the lesson 05
 * client accepts or refuses, the GET it writes, and how a response's
 * framing (Content-Length, chunked, until close) decides the body length.
 * tests/fuzz runs the same functions on arbitrary bytes.
 */
#include "testutil.h"
#include "http.h"

#include <string.h>

START_TEST(urls_accepted)
{
    url u;
    ck_assert_ptr_null(url_parse("http://www.python.org/", &u));
    ck_assert_str_eq(u.host, "www.python.org");
    ck_assert_uint_eq(u.port, 80);
    ck_assert_str_eq(u.path, "/");
    ck_assert(!u.explicit_port);

    ck_assert_ptr_null(url_parse("HTTP://127.0.0.1:8080/a/b?x=1#frag", &u));
    ck_assert_int_eq(u.scheme, URL_HTTP);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_uint_eq(u.port, 8080);
    ck_assert_str_eq(u.path, "/a/b?x=1"); /* the fragment stays here */

    ck_assert_ptr_null(url_parse("http://[::1]:81?q", &u));
    ck_assert(u.ipv6);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_str_eq(u.path, "/?q");

    ck_assert_ptr_null(url_parse("https://github.com", &u));
    ck_assert_int_eq(u.scheme, URL_HTTPS);
    ck_assert_uint_eq(u.port, 443);
    ck_assert_ptr_null(url_parse("http://h:/", &u)); /* empty port: default */
    ck_assert_uint_eq(u.port, 80);
}
END_TEST

START_TEST(urls_refused)
{
    static const char *bad[] = {
        "", "www.python.org", "/path", "ftp://x/", "http:/x", "http://",
        "http:///path", "http://user@host/", "http://h:0/", "http://h:65536/",
        "http://h:8o/", "http://h:123456/", "http://[::1/", "http://[zz]/",
        "http://[::1]x/", "http://a b/", "http://h/a b", "http://h/\r\nX: y",
        "http://h/\x80", "http://h\t/",
    };
    url u;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = url_parse(bad[i], &u);
        ck_assert_msg(why != NULL, "accepted: \"%s\"", bad[i]);
        ck_assert(*why);
    }
}
END_TEST

START_TEST(get_request)
{
    url u;
    char buf[512];
    size_t n;
    ck_assert_ptr_null(url_parse("http://[::1]:8080/x?y", &u));
    n = http_format_get(&u, buf, sizeof buf);
    ck_assert_uint_eq(n, strlen(buf));
    ck_assert_str_eq(buf, "GET /x?y HTTP/1.1\r\nHost: [::1]:8080\r\n"
                          "User-Agent: corolab\r\nAccept: */*\r\n"
                          "Connection: close\r\n\r\n");
    ck_assert_ptr_null(url_parse("http://example.org/", &u));
    ck_assert_uint_eq(http_format_get(&u, buf, 20), 0); /* too small */
    ck_assert_uint_gt(http_format_get(&u, buf, sizeof buf), 0);
    ck_assert_ptr_nonnull(strstr(buf, "Host: example.org\r\n"));
}
END_TEST

static int parse(const char *s, bool eof, http_response *r)
{
    const char *err;
    return http_parse_response(s, strlen(s), eof, r, &err);
}

START_TEST(content_length)
{
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhelloEXTRA";
    http_response r;
    ck_assert_int_eq(parse(resp, false, &r), HTTP_COMPLETE);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.framing, HTTP_FRAMING_LENGTH);
    ck_assert_uint_eq(r.body_len, 5);
    ck_assert_uint_eq(r.end, strlen(resp) - 5);
    /* Every shorter prefix: just incomplete. */
    for (size_t k = 0; k < r.end; k++) {
        const char *err;
        ck_assert_int_eq(http_parse_response(resp, k, false, &r, &err), HTTP_INCOMPLETE);
    }
    /* Closed early: an error that says so. */
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", true, &r), HTTP_ERROR);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Length: 8\r\n\r\n", false, &r),
                     HTTP_ERROR);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, &r), HTTP_ERROR);
}
END_TEST

START_TEST(chunked)
{
    const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
                       "Content-Length: 999\r\n\r\n"
                       "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: x\r\n\r\n";
    http_response r;
    ck_assert_int_eq(parse(resp, false, &r), HTTP_COMPLETE);
    ck_assert_int_eq(r.framing, HTTP_FRAMING_CHUNKED); /* wins over Content-Length */
    ck_assert_uint_eq(r.body_len, 5 + 26);
    ck_assert_uint_eq(r.end, strlen(resp));
    for (size_t k = 0; k < r.end; k++) {
        const char *err;
        http_response p;
        ck_assert_int_eq(http_parse_response(resp, k, false, &p, &err), HTTP_INCOMPLETE);
        ck_assert_uint_le(p.body_len, r.body_len);
    }
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, &r),
                     HTTP_ERROR);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "11111111111111111\r\n", false, &r), HTTP_ERROR);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", false, &r),
                     HTTP_ERROR);
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", true, &r),
                     HTTP_ERROR);
}
END_TEST

START_TEST(until_close_and_no_body)
{
    http_response r;
    const char *resp = "HTTP/1.0 200 OK\nServer: x\n\nsome body";
    ck_assert_int_eq(parse(resp, false, &r), HTTP_INCOMPLETE);
    ck_assert_int_eq(parse(resp, true, &r), HTTP_COMPLETE);
    ck_assert_int_eq(r.framing, HTTP_FRAMING_CLOSE);
    ck_assert_uint_eq(r.body_len, 9);
    ck_assert_int_eq(r.minor_version, 0);
    /* A coding other than chunked: also until close. */
    ck_assert_int_eq(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", true, &r), HTTP_COMPLETE);
    ck_assert_int_eq(r.framing, HTTP_FRAMING_CLOSE);

    ck_assert_int_eq(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, &r),
                     HTTP_COMPLETE);
    ck_assert_int_eq(r.status, 204);
    ck_assert_int_eq(r.framing, HTTP_FRAMING_NONE);
    ck_assert_uint_eq(r.body_len, 0);
    ck_assert_int_eq(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", false, &r),
                     HTTP_COMPLETE);
    ck_assert_uint_eq(r.body_len, 0);
}
END_TEST

START_TEST(malformed_heads)
{
    static const char *bad[] = {
        "SSH-2.0-OpenSSH\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA b: c\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 101 Switching\r\n\r\n",
    };
    http_response r;
    const char *err = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = http_parse_response(bad[i], strlen(bad[i]), false, &r, &err);
        ck_assert_msg(rc == HTTP_ERROR, "not refused: \"%s\"", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    ck_assert_int_eq(http_parse_response("", 0, true, &r, &err), HTTP_ERROR);
    ck_assert_str_eq(err, "connection closed before any response");
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("parsers");
    tcase_add_test(tc, urls_accepted);
    tcase_add_test(tc, urls_refused);
    tcase_add_test(tc, get_request);
    tcase_add_test(tc, content_length);
    tcase_add_test(tc, chunked);
    tcase_add_test(tc, until_close_and_no_body);
    tcase_add_test(tc, malformed_heads);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(http_suite)
