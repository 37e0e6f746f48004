/*
 * test_urlopen.c - urlopen (urlopen.h) as plain blocking code, without
 * monkey.o: a page and its length, a 404, what it refuses (bad URLs,
 * https, a closed port), a numeric host as glibc reads it (127.1), and a
 * server that drips a byte every 50 ms, which must not hold urlopen past
 * its timeout (a deadline for the whole fetch, not for each read: with a
 * timeout per read this test would run into Check's timeout).
 *
 * The server is a thread of this program on 127.0.0.1 port 0, answering
 * one connection at a time by path: /ok, /missing, /drip.
 */
#include "testutil.h"
#include "urlopen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    int fd, port;
    pthread_t thread;
    atomic_bool stop;
} srv;

static void serve_one(int c)
{
    char req[2048];
    size_t have = 0;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    const char *missing = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n";
    const char *drip = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    while (have < sizeof req - 1 && !memmem(req, have, "\r\n\r\n", 4)) {
        ssize_t n = recv(c, req + have, sizeof req - 1 - have, 0);
        if (n <= 0)
            return;
        have += (size_t)n;
    }
    req[have] = '\0';
    if (strncmp(req, "GET /ok ", 8) == 0) {
        send(c, ok, strlen(ok), MSG_NOSIGNAL);
    } else if (strncmp(req, "GET /drip ", 10) == 0) {
        send(c, drip, strlen(drip), MSG_NOSIGNAL);
        for (int i = 0; i < 1000 && !atomic_load(&srv.stop); i++) {
            if (send(c, "x", 1, MSG_NOSIGNAL) != 1)
                break; /* the client gave up: good */
            usleep(50000);
        }
    } else {
        send(c, missing, strlen(missing), MSG_NOSIGNAL);
    }
}

static void *server(void *arg)
{
    (void)arg;
    while (!atomic_load(&srv.stop)) {
        struct pollfd p = {srv.fd, POLLIN, 0};
        int c;
        if (poll(&p, 1, 50) <= 0 || (c = accept(srv.fd, NULL, NULL)) < 0)
            continue;
        serve_one(c);
        close(c);
    }
    return NULL;
}

static void setup(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(srv.fd, 0);
    ck_assert_int_eq(bind(srv.fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(srv.fd, 16), 0);
    ck_assert_int_eq(getsockname(srv.fd, (struct sockaddr *)&a, &len), 0);
    srv.port = ntohs(a.sin_port);
    atomic_store(&srv.stop, false);
    ck_assert_int_eq(pthread_create(&srv.thread, NULL, server, NULL), 0);
}

static void teardown(void)
{
    atomic_store(&srv.stop, true);
    pthread_join(srv.thread, NULL);
    close(srv.fd);
}

/* urlopen("http://HOST:PORT/path", timeout): its status, resp filled. */
static int get(const char *host, const char *path, double timeout, url_response *resp)
{
    char u[128];
    snprintf(u, sizeof u, "http://%s:%d%s", host, srv.port, path);
    return urlopen(u, timeout, resp);
}

START_TEST(a_page_and_its_length)
{
    url_response r;
    ck_assert_int_eq(get("127.0.0.1", "/ok", 5, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.framing, HTTP_FRAMING_LENGTH);
    ck_assert_uint_eq(r.body_len, 5);
    ck_assert_str_eq(r.error, "");
    url_response_free(&r);
    ck_assert_ptr_null(r.raw);

    ck_assert_int_eq(get("127.1", "/ok", 5, &r), 0); /* as glibc reads it */
    ck_assert_uint_eq(r.body_len, 5);
    url_response_free(&r);
}
END_TEST

START_TEST(errors_in_words)
{
    url_response r;
    ck_assert_int_eq(get("127.0.0.1", "/missing", 5, &r), -1);
    ck_assert_str_eq(r.error, "the server answered 404 (3 bytes)");
    url_response_free(&r);

    ck_assert_int_eq(urlopen("http://a b/", 5, &r), -1);
    ck_assert_msg(strncmp(r.error, "bad URL: ", 9) == 0, "%s", r.error);
    url_response_free(&r);

    ck_assert_int_eq(urlopen("https://127.0.0.1/", 5, &r), -1);
    ck_assert_msg(strstr(r.error, "https is not supported") != NULL, "%s", r.error);
    url_response_free(&r);

    ck_assert_int_eq(urlopen("http://127.0.0.1:1/", 5, &r), -1);
    ck_assert_str_eq(r.error, "cannot connect to 127.0.0.1 port 1: Connection refused");
    url_response_free(&r);
}
END_TEST

START_TEST(a_dripping_server_cannot_hold_it)
{
    url_response r;
    /* Every read gets a byte within 50 ms; the whole needs 50 s. */
    ck_assert_int_eq(get("127.0.0.1", "/drip", 0.3, &r), -1);
    ck_assert_str_eq(r.error, "reading the response: timed out");
    url_response_free(&r);
}
END_TEST

static Suite *urlopen_suite(void)
{
    Suite *s = suite_create("urlopen");
    TCase *tc = tcase_create("urlopen");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, a_page_and_its_length);
    tcase_add_test(tc, errors_in_words);
    tcase_add_test(tc, a_dripping_server_cannot_hold_it);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(urlopen_suite)
