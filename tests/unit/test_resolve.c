/*
 * test_resolve.c - the hub's resolver (resolve.h): numbers answered as
 * glibc answers them (127.1, 0x7f.0.0.2, ::1, three socket types when the
 * hints name none); "localhost" and ".invalid" offline; a name asked of a
 * slow DNS server while another greenlet keeps running; the timeout
 * honoured by hub_getaddrinfo and by cosock_connect; lists that are not
 * ours left alone.
 *
 * The DNS server is a thread of this program: a UDP socket on 127.0.0.1
 * that answers "slow.test" with 10.1.2.3 only once the ticking greenlet
 * has ticked five more times after the question came (so it can answer at
 * all only if resolving did not block the thread), and never answers
 * "never.test". A resolv.conf in /tmp points the resolver at it
 * (hub_resolver_set_conf).
 */
#include "testutil.h"
#include "cosock.h"
#include "hub.h"
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- a slow DNS server ---- */

static struct {
    int fd, port;
    pthread_t thread;
    atomic_bool stop;
    char conf[64];
} dns;
static atomic_int ticks;

/* The question's name, dotted, from a query; its end offset, or 0. */
static size_t qname(const unsigned char *q, size_t n, char *name, size_t len)
{
    size_t off = 12, out = 0;
    while (off < n && q[off]) {
        size_t l = q[off++];
        if (off + l > n || out + l + 1 >= len)
            return 0;
        if (out)
            name[out++] = '.';
        memcpy(name + out, q + off, l);
        out += l;
        off += l;
    }
    name[out] = '\0';
    return off < n ? off + 1 + 4 : 0; /* the 0 label, QTYPE, QCLASS */
}

static void answer(const unsigned char *q, size_t end, const struct sockaddr_in *to)
{
    static const unsigned char rr[] = {0xc0, 12,   0, 1, 0, 1, 0, 0, 0, 60, /* A IN 60 s */
                                       0,    4,    10, 1, 2, 3};
    unsigned char r[512];
    bool is_a = q[end - 4] == 0 && q[end - 3] == 1;
    memcpy(r, q, end);
    r[2] = 0x81, r[3] = 0x80; /* a response, recursion available, no error */
    r[6] = 0, r[7] = is_a;    /* ANCOUNT */
    r[8] = r[9] = r[10] = r[11] = 0;
    if (is_a)
        memcpy(r + end, rr, sizeof rr);
    sendto(dns.fd, r, end + (is_a ? sizeof rr : 0), 0, (const struct sockaddr *)to, sizeof *to);
}

static void *dns_server(void *arg)
{
    (void)arg;
    while (!atomic_load(&dns.stop)) {
        unsigned char q[512];
        char name[256];
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        struct pollfd p = {dns.fd, POLLIN, 0};
        ssize_t n;
        size_t end;
        if (poll(&p, 1, 50) <= 0)
            continue;
        n = recvfrom(dns.fd, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
        if (n < 12 || !(end = qname(q, (size_t)n, name, sizeof name)) || end > (size_t)n)
            continue;
        if (strcasecmp(name, "slow.test") == 0) {
            /* Answer once the other greenlet has run five more times: it
             * cannot, if resolving blocks the thread (then the resolver
             * gives up first, and the test fails). */
            int want = atomic_load(&ticks) + 5;
            for (int i = 0; i < 200 && atomic_load(&ticks) < want; i++)
                usleep(10000);
            usleep(200000); /* and then some: a slow server */
            answer(q, end, &from);
        }
        /* never.test: no answer at all */
    }
    return NULL;
}

static void dns_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    FILE *f;
    int tmp;

    dns.fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(dns.fd, 0);
    ck_assert_int_eq(bind(dns.fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(dns.fd, (struct sockaddr *)&a, &len), 0);
    dns.port = ntohs(a.sin_port);
    atomic_store(&dns.stop, false);
    ck_assert_int_eq(pthread_create(&dns.thread, NULL, dns_server, NULL), 0);

    strcpy(dns.conf, "/tmp/corolab-resolv-XXXXXX");
    ck_assert_int_ge(tmp = mkstemp(dns.conf), 0);
    ck_assert_ptr_nonnull(f = fdopen(tmp, "w"));
    fprintf(f, "nameserver 127.0.0.1:%d\n", dns.port);
    fclose(f);
    hub_resolver_set_conf(dns.conf);
}

static void dns_stop(void)
{
    hub_shutdown(); /* frees the resolver too (hub_on_shutdown) */
    hub_resolver_set_conf(NULL);
    atomic_store(&dns.stop, true);
    pthread_join(dns.thread, NULL);
    close(dns.fd);
    unlink(dns.conf);
}

/* ---- a name from the slow server, while another greenlet ticks ---- */

static atomic_bool resolved;

static void *ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&resolved)) {
        atomic_fetch_add(&ticks, 1);
        if (hub_sleep(0.01) != 0)
            break;
    }
    return NULL;
}

struct lookup {
    int rc, ticks_during;
    char ip[INET_ADDRSTRLEN];
    int port;
};

static void *resolve_slow(void *arg)
{
    struct lookup *lk = arg;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int t0 = atomic_load(&ticks);
    lk->rc = hub_getaddrinfo("slow.test", "8080", &hints, &res, 10);
    lk->ticks_during = atomic_load(&ticks) - t0;
    if (lk->rc == 0) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)res->ai_addr;
        inet_ntop(AF_INET, &in->sin_addr, lk->ip, sizeof lk->ip);
        lk->port = ntohs(in->sin_port);
        ck_assert(hub_freeaddrinfo(res));
    }
    atomic_store(&resolved, true);
    return NULL;
}

START_TEST(other_greenlets_run_while_a_name_resolves)
{
    struct lookup lk = {0};
    hub_task *t[2];
    dns_start();
    atomic_store(&ticks, 0);
    atomic_store(&resolved, false);
    t[0] = hub_spawn(ticker, NULL);
    t[1] = hub_spawn(resolve_slow, &lk);
    ck_assert_int_eq(hub_joinall(t, 2, HUB_FOREVER), 0);
    hub_task_free(t[0]);
    hub_task_free(t[1]);
    dns_stop();
    ck_assert_int_eq(lk.rc, 0);
    ck_assert_str_eq(lk.ip, "10.1.2.3");
    ck_assert_int_eq(lk.port, 8080);
    ck_assert_int_ge(lk.ticks_during, 5);
}
END_TEST

/* ---- the timeout: a server that never answers ---- */

static void *resolve_never(void *arg)
{
    int *out = arg;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    out[0] = hub_getaddrinfo("never.test", "80", &hints, &res, 0.3);
    out[1] = errno;
    /* cosock.h: connect finishes within its timeout, resolving included */
    out[2] = cosock_connect("never.test", 80, 0.3);
    out[3] = errno;
    return NULL;
}

START_TEST(the_timeout_is_honoured)
{
    int out[4];
    hub_task *t;
    dns_start();
    t = hub_spawn(resolve_never, out);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    dns_stop();
    /* The resolver's own give-up comes after 2 s x 2 attempts, with
     * another code: these are ours. */
    ck_assert_int_eq(out[0], EAI_SYSTEM);
    ck_assert_int_eq(out[1], ETIMEDOUT);
    ck_assert_int_eq(out[2], -1);
    ck_assert_int_eq(out[3], ETIMEDOUT);
}
END_TEST

/* ---- numbers and reserved names, offline ---- */

/* hub_getaddrinfo and glibc's getaddrinfo give the same list. */
static void same_as_glibc(const char *name, const char *service, int family, int socktype)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = socktype};
    struct addrinfo *ours = NULL, *libc = NULL, *a, *b;
    ck_assert_msg(hub_getaddrinfo(name, service, &hints, &ours, 5) == 0, "%s", name);
    ck_assert_msg(getaddrinfo(name, service, &hints, &libc) == 0, "%s", name);
    for (a = ours, b = libc; a && b; a = a->ai_next, b = b->ai_next) {
        ck_assert_int_eq(a->ai_family, b->ai_family);
        ck_assert_int_eq(a->ai_socktype, b->ai_socktype);
        ck_assert_int_eq(a->ai_protocol, b->ai_protocol);
        ck_assert_int_eq(a->ai_addrlen, b->ai_addrlen);
        ck_assert_msg(memcmp(a->ai_addr, b->ai_addr, a->ai_addrlen) == 0, "%s", name);
    }
    ck_assert_msg(!a && !b, "%s: lists of different lengths", name);
    ck_assert(!hub_freeaddrinfo(libc)); /* not ours: left alone */
    freeaddrinfo(libc);
    ck_assert(hub_freeaddrinfo(ours));
}

static void *numbers(void *arg)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    (void)arg;
    same_as_glibc("127.1", "80", AF_UNSPEC, SOCK_STREAM);
    same_as_glibc("0x7f.0.0.2", "8080", AF_INET, SOCK_STREAM);
    same_as_glibc("2130706433", NULL, AF_UNSPEC, SOCK_STREAM);
    same_as_glibc("127.0.0.1", "53", AF_UNSPEC, 0); /* stream, datagram, raw */
    same_as_glibc("::1", "80", AF_UNSPEC, SOCK_STREAM);
    ck_assert_int_ne(hub_getaddrinfo("127.1", "80", &(struct addrinfo){.ai_family = AF_INET6},
                                     &res, 5), 0);
    ck_assert_int_eq(hub_getaddrinfo("localhost", "80", &hints, &res, 5), 0);
    ck_assert_int_eq(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr,
                     htonl(INADDR_LOOPBACK));
    ck_assert(hub_freeaddrinfo(res));
    ck_assert_int_eq(hub_getaddrinfo("no-such-host.invalid", "80", &hints, &res, 5),
                     EAI_NONAME);
    ck_assert(!hub_freeaddrinfo(NULL));
    return NULL;
}

START_TEST(numbers_and_reserved_names)
{
    hub_task *t = hub_spawn(numbers, NULL);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    hub_resolver_free();
    hub_shutdown();
}
END_TEST

static Suite *resolve_suite(void)
{
    Suite *s = suite_create("resolve");
    TCase *tc = tcase_create("resolve");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, numbers_and_reserved_names);
    tcase_add_test(tc, other_greenlets_run_while_a_name_resolves);
    tcase_add_test(tc, the_timeout_is_honoured);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(resolve_suite)
