/*
 * test_monkey.c - the patch layer (common/monkey.c): plain POSIX calls in
 * greenlets wait on the hub once patched, and are libc's otherwise.
 *
 * Properties, with no timing assertions (order of events proves overlap):
 *   - a blocking socket stays blocking for the program, and its read
 *     lets other greenlets run while it waits;
 *   - a socket the program made non-blocking still gets EAGAIN, and the
 *     program sees the O_NONBLOCK it asked for, not ours;
 *   - before patching, after unpatching and in other threads the calls
 *     block the thread as libc's do;
 *   - several greenlets' fetches overlap (all start before any ends);
 *   - sleeps, poll, timeouts, close and kill behave; names resolve
 *     through evdns offline (localhost, /etc/hosts, numbers, .invalid).
 */
#include "testutil.h"
#include "hub.h"
#include "monkey.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void teardown(void)
{
    monkey_unpatch_all();
    hub_shutdown();
    hub_set_backend(NULL);
}

/* Loop tests run once per libevent backend: edge-triggered epoll (the
 * default here) and the level-triggered poll and select. */
static const char *const backends[] = {NULL, "poll", "select"};

static void use_backend(int i)
{
    ck_assert_int_eq(hub_set_backend(backends[i]), 0);
}

/* The kernel's flags, bypassing the interposed fcntl. */
static int real_flags(int fd)
{
    return (int)syscall(SYS_fcntl, fd, F_GETFL);
}

/* A listening socket on 127.0.0.1, any free port. */
static int listener(struct sockaddr_in *addr)
{
    socklen_t len = sizeof *addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

static int connect_to(int type_flags)
{
    int fd = socket(AF_INET, SOCK_STREAM | type_flags, 0);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* A log of events, to assert on their order. */
static char events[64][32];
static int nevents;

static void note(const char *what, int i)
{
    if (nevents < 64)
        snprintf(events[nevents++], sizeof events[0], "%s %d", what, i);
}

static int event_index(const char *what, int i)
{
    char e[32];
    snprintf(e, sizeof e, "%s %d", what, i);
    for (int k = 0; k < nevents; k++)
        if (strcmp(events[k], e) == 0)
            return k;
    return -1;
}

/* ---- blocking semantics ---- */

static struct sockaddr_in srv_addr;
static int srv_fd;

static void *reader(void *arg)
{
    char buf[16] = "";
    int c;
    (void)arg;
    c = accept(srv_fd, NULL, NULL);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(fcntl(c, F_GETFL) & O_NONBLOCK, 0); /* blocking, for the program */
    note("read start", 0);
    ck_assert_int_eq(read(c, buf, sizeof buf), 6); /* blocks: no EAGAIN */
    note("read done", 0);
    ck_assert_str_eq(buf, "hello");
    ck_assert_int_eq(read(c, buf, sizeof buf), 0); /* EOF */
    close(c);
    return NULL;
}

static void *writer(void *arg)
{
    int fd = connect_to(0);
    (void)arg;
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr), 0);
    ck_assert_int_eq(usleep(20000), 0); /* the reader is blocked in read() now */
    note("write", 0);
    ck_assert_int_eq(write(fd, "hello", 6), 6);
    close(fd);
    return NULL;
}

START_TEST(blocking_read_waits_on_the_hub)
{
    hub_task *t[2];
    use_backend(_i);
    monkey_patch_all();
    srv_fd = listener(&srv_addr);
    /* Ours: really non-blocking, blocking as far as the program knows. */
    ck_assert_int_ne(real_flags(srv_fd) & O_NONBLOCK, 0);
    ck_assert_int_eq(fcntl(srv_fd, F_GETFL) & O_NONBLOCK, 0);
    nevents = 0;
    t[0] = hub_spawn(reader, NULL);
    t[1] = hub_spawn(writer, NULL);
    ck_assert_int_eq(hub_joinall(t, 2, HUB_FOREVER), 0);
    /* The writer ran while the reader was blocked in read(). */
    ck_assert_int_lt(event_index("read start", 0), event_index("write", 0));
    ck_assert_int_lt(event_index("write", 0), event_index("read done", 0));
    hub_task_free(t[0]);
    hub_task_free(t[1]);
    close(srv_fd);
}
END_TEST

/* ---- EAGAIN for the program's non-blocking sockets ---- */

static void *nonblocking_client(void *arg)
{
    char buf[8];
    int one = 1, zero = 0, c;
    int fd = connect_to(SOCK_NONBLOCK);
    (void)arg;
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    /* A non-blocking connect says EINPROGRESS, as libc's does (or 0). */
    if (connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0)
        ck_assert_int_eq(errno, EINPROGRESS);
    c = accept(srv_fd, NULL, NULL); /* blocking listener: waits if need be */
    ck_assert_int_ge(c, 0);
    struct pollfd p = {fd, POLLOUT, 0};
    ck_assert_int_eq(poll(&p, 1, -1), 1);
    errno = 0;
    ck_assert_int_eq(read(fd, buf, sizeof buf), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    errno = 0;
    ck_assert_int_eq(recv(fd, buf, sizeof buf, 0), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);

    /* The accepted socket: blocking; made non-blocking with fcntl... */
    ck_assert_int_eq(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK), 0);
    ck_assert_int_ne(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
    errno = 0;
    ck_assert_int_eq(read(c, buf, sizeof buf), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    /* ...and back with FIONBIO: the kernel's flag stays set throughout. */
    ck_assert_int_eq(ioctl(c, FIONBIO, &zero), 0);
    ck_assert_int_eq(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(real_flags(c) & O_NONBLOCK, 0);
    ck_assert_int_eq(ioctl(c, FIONBIO, &one), 0);
    ck_assert_int_ne(fcntl(c, F_GETFL) & O_NONBLOCK, 0);
    /* MSG_DONTWAIT on a blocking socket: EAGAIN too. */
    ck_assert_int_eq(ioctl(c, FIONBIO, &zero), 0);
    {   /* a duplicate shares the open file, and our view of it */
        int d = dup(c);
        ck_assert_int_ge(d, 0);
        ck_assert_int_eq(fcntl(d, F_GETFL) & O_NONBLOCK, 0);
        ck_assert_int_ne(real_flags(d) & O_NONBLOCK, 0);
        close(d);
    }
    errno = 0;
    ck_assert_int_eq(recv(c, buf, sizeof buf, MSG_DONTWAIT), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    close(c);
    close(fd);
    return NULL;
}

START_TEST(nonblocking_sockets_still_get_eagain)
{
    hub_task *t;
    monkey_patch_all();
    srv_fd = listener(&srv_addr);
    t = hub_spawn(nonblocking_client, NULL);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    close(srv_fd);
}
END_TEST

static void *slow_sender(void *arg)
{
    int fd = *(int *)arg;
    ck_assert_int_eq(send(fd, "ab", 2, 0), 2);
    ck_assert_int_eq(usleep(5000), 0);
    ck_assert_int_eq(send(fd, "cd", 2, 0), 2);
    return NULL;
}

/* recv(MSG_WAITALL) waits for all it asked, across separate sends. */
START_TEST(waitall_waits_for_everything)
{
    struct sockaddr_in a;
    char buf[8] = "";
    int l, fd, c;
    hub_task *t;
    monkey_patch_all();
    l = listener(&a);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    c = accept(l, NULL, NULL);
    t = hub_spawn(slow_sender, &fd);
    ck_assert_int_eq(recv(c, buf, 4, MSG_WAITALL), 4); /* from main */
    ck_assert_str_eq(buf, "abcd");
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    close(c);
    close(fd);
    close(l);
}
END_TEST

/* ---- outside patching: libc's behaviour ---- */

static int flag;

static void *sleeper(void *arg)
{
    (void)arg;
    note("sleep start", 0);
    ck_assert_int_eq(usleep(10000), 0);
    note("sleep done", 0);
    return NULL;
}

static void *setter(void *arg)
{
    (void)arg;
    note("other runs", 0);
    flag = 1;
    return NULL;
}

/* Two greenlets: one sleeps with usleep, the other just runs. Returns
 * whether the other one ran while the first slept. */
static bool other_ran_during_sleep(void)
{
    hub_task *t[2];
    nevents = 0;
    t[0] = hub_spawn(sleeper, NULL);
    t[1] = hub_spawn(setter, NULL);
    ck_assert_int_eq(hub_joinall(t, 2, HUB_FOREVER), 0);
    hub_task_free(t[0]);
    hub_task_free(t[1]);
    return event_index("other runs", 0) < event_index("sleep done", 0);
}

START_TEST(unpatched_calls_block_the_thread)
{
    int fd;
    ck_assert(!monkey_is_patched());
    ck_assert(!other_ran_during_sleep()); /* libc's usleep: no switch */
    fd = socket(AF_INET, SOCK_STREAM, 0); /* not ours: kernel flags as asked */
    ck_assert_int_eq(real_flags(fd) & O_NONBLOCK, 0);
    close(fd);

    monkey_patch_all();
    ck_assert(other_ran_during_sleep()); /* the hub's sleep */
    monkey_unpatch_all();
    ck_assert(!other_ran_during_sleep());
}
END_TEST

static void *thread_socket(void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    *(int *)arg = real_flags(fd);
    close(fd);
    return NULL;
}

START_TEST(other_threads_are_not_patched)
{
    pthread_t th;
    int flags = -1, fd;
    monkey_patch_all();
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ne(real_flags(fd) & O_NONBLOCK, 0); /* ours, in this thread */
    close(fd);
    ck_assert_int_eq(pthread_create(&th, NULL, thread_socket, &flags), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_ge(flags, 0);
    ck_assert_int_eq(flags & O_NONBLOCK, 0);
}
END_TEST

static void *late_writer(void *arg)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL); /* an unpatched thread: libc's */
    ck_assert_int_eq(write(*(int *)arg, "late", 4), 4);
    return NULL;
}

/* A socket made while patched, used after unpatching: our non-blocking fd
 * must still block for the program (we wait with libc's poll). */
START_TEST(our_sockets_still_block_after_unpatching)
{
    pthread_t th;
    struct sockaddr_in a;
    char buf[8];
    int l, fd, c;
    monkey_patch_all();
    l = listener(&a);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    c = accept(l, NULL, NULL);
    ck_assert_int_ge(c, 0);
    monkey_unpatch_all();
    ck_assert_int_ne(real_flags(c) & O_NONBLOCK, 0);
    ck_assert_int_eq(pthread_create(&th, NULL, late_writer, &fd), 0);
    ck_assert_int_eq(read(c, buf, sizeof buf), 4); /* not EAGAIN */
    ck_assert_int_eq(memcmp(buf, "late", 4), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    close(c);
    close(fd);
    close(l);
}
END_TEST

/* ---- overlap ---- */

static void *fetcher(void *arg)
{
    int i = (int)(intptr_t)arg, fd = socket(AF_INET, SOCK_STREAM, 0);
    char buf[8];
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr), 0);
    ck_assert_int_eq(send(fd, "?", 1, 0), 1);
    note("fetch start", i);
    ck_assert_int_eq(recv(fd, buf, sizeof buf, 0), 1);
    note("fetch end", i);
    close(fd);
    return NULL;
}

/* Answers the three only once all three have asked, in reverse order. */
static void *answerer(void *arg)
{
    int c[3];
    char q;
    (void)arg;
    for (int i = 0; i < 3; i++) {
        c[i] = accept(srv_fd, NULL, NULL);
        ck_assert_int_ge(c[i], 0);
        ck_assert_int_eq(recv(c[i], &q, 1, 0), 1);
    }
    for (int i = 2; i >= 0; i--) {
        ck_assert_int_eq(usleep(1000), 0);
        ck_assert_int_eq(send(c[i], "!", 1, 0), 1);
        close(c[i]);
    }
    return NULL;
}

START_TEST(concurrent_fetches_overlap)
{
    hub_task *t[4];
    use_backend(_i);
    monkey_patch_all();
    srv_fd = listener(&srv_addr);
    nevents = 0;
    t[0] = hub_spawn(answerer, NULL);
    for (int i = 0; i < 3; i++)
        t[i + 1] = hub_spawn(fetcher, (void *)(intptr_t)i);
    ck_assert_int_eq(hub_joinall(t, 4, HUB_FOREVER), 0);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            ck_assert_int_lt(event_index("fetch start", i), event_index("fetch end", j));
    for (int i = 0; i < 4; i++)
        hub_task_free(t[i]);
    close(srv_fd);
}
END_TEST

/* The main greenlet waits on the hub too, as in gevent. */
START_TEST(main_greenlet_waits_on_the_hub)
{
    hub_task *t;
    monkey_patch_all();
    nevents = 0;
    flag = 0;
    t = hub_spawn(setter, NULL);
    ck_assert_int_eq(sleep(0), 0); /* a switch: the spawned one runs */
    ck_assert_int_eq(flag, 1);
    hub_join(t, HUB_FOREVER);
    hub_task_free(t);
}
END_TEST

/* ---- timeouts, close, kill, poll ---- */

static void *timed_reader(void *arg)
{
    struct timeval tv = {0, 20000};
    char buf[4];
    int c = *(int *)arg;
    ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    errno = 0;
    ck_assert_int_eq(read(c, buf, sizeof buf), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK); /* as the kernel says */
    return NULL;
}

static void *blocked_reader(void *arg)
{
    char buf[4];
    errno = 0;
    ck_assert_int_eq(read(*(int *)arg, buf, sizeof buf), -1);
    return (void *)(intptr_t)errno;
}

static void *closer(void *arg)
{
    close(*(int *)arg);
    return NULL;
}

START_TEST(timeout_close_and_kill)
{
    struct sockaddr_in a;
    int l, fd, c;
    hub_task *t, *u;
    use_backend(_i);
    monkey_patch_all();
    l = listener(&a);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    c = accept(l, NULL, NULL);

    t = hub_spawn(timed_reader, &c); /* SO_RCVTIMEO is honoured */
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
    {
        struct timeval none = {0, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
    }

    t = hub_spawn(blocked_reader, &c); /* killed while blocked */
    ck_assert_int_eq(sleep(0), 0);
    ck_assert_int_eq(hub_kill(t, HUB_FOREVER), 0);
    ck_assert_int_eq((int)(intptr_t)hub_task_result(t), ECANCELED);
    hub_task_free(t);

    t = hub_spawn(blocked_reader, &c); /* the fd closed under it */
    u = hub_spawn(closer, &c);
    hub_task *both[2] = {t, u};
    ck_assert_int_eq(hub_joinall(both, 2, HUB_FOREVER), 0);
    ck_assert_int_eq((int)(intptr_t)hub_task_result(t), EBADF);
    hub_task_free(t);
    hub_task_free(u);
    close(fd);
    close(l);
}
END_TEST

static int pipe_fds[2];
static hub_event *poll_started; /* the writer writes only after the timed poll */

static void *poller(void *arg)
{
    struct pollfd p[2] = {{pipe_fds[0], POLLIN, 0}, {*(int *)arg, POLLIN, 0}};
    ck_assert_int_eq(poll(p, 2, 10), 0); /* times out */
    note("poll start", 0);
    hub_event_set(poll_started);
    ck_assert_int_eq(poll(p, 2, -1), 1);
    note("poll done", 0);
    ck_assert_int_eq(p[0].revents & POLLIN, POLLIN);
    ck_assert_int_eq(p[1].revents, 0);
    return NULL;
}

static void *pipe_writer(void *arg)
{
    (void)arg;
    ck_assert_int_eq(hub_event_wait(poll_started, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_sleep(0.01), 0); /* the poller is in poll(-1) by now */
    note("write", 0);
    ck_assert_int_eq(write(pipe_fds[1], "x", 1), 1);
    return NULL;
}

START_TEST(poll_waits_on_the_hub)
{
    struct sockaddr_in a;
    hub_task *t[2];
    int l;
    use_backend(_i);
    monkey_patch_all();
    l = listener(&a);
    ck_assert_int_eq(pipe(pipe_fds), 0);
    nevents = 0;
    ck_assert_ptr_nonnull(poll_started = hub_event_new());
    t[0] = hub_spawn(poller, &l);
    t[1] = hub_spawn(pipe_writer, NULL);
    ck_assert_int_eq(hub_joinall(t, 2, HUB_FOREVER), 0);
    ck_assert_int_lt(event_index("poll start", 0), event_index("write", 0));
    ck_assert_int_lt(event_index("write", 0), event_index("poll done", 0));
    hub_task_free(t[0]);
    hub_task_free(t[1]);
    hub_event_free(poll_started);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(l);
}
END_TEST

/* ---- names ---- */

static void *resolve_names(void *arg)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char ip[INET_ADDRSTRLEN];
    (void)arg;
    ck_assert_int_eq(getaddrinfo("localhost", "80", &hints, &res), 0);
    ck_assert_ptr_nonnull(res);
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
    ck_assert_str_eq(ip, "127.0.0.1");
    ck_assert_int_eq(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 80);
    freeaddrinfo(res);

    ck_assert_int_eq(getaddrinfo("127.0.0.2", "8080", &hints, &res), 0);
    ck_assert_int_eq(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 8080);
    freeaddrinfo(res);

    ck_assert_int_eq(getaddrinfo("foo.localhost", NULL, &hints, &res), 0);
    freeaddrinfo(res);

    ck_assert_int_eq(getaddrinfo("no-such-host.invalid", "80", &hints, &res), EAI_NONAME);
    return NULL;
}

START_TEST(names_resolve_offline_through_evdns)
{
    hub_task *t;
    monkey_patch_all();
    t = hub_spawn(resolve_names, NULL);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_task_free(t);
}
END_TEST

static Suite *monkey_suite(void)
{
    Suite *s = suite_create("monkey");
    TCase *tc = tcase_create("patch");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, blocking_read_waits_on_the_hub, 0, 3);
    tcase_add_test(tc, nonblocking_sockets_still_get_eagain);
    tcase_add_test(tc, waitall_waits_for_everything);
    tcase_add_test(tc, unpatched_calls_block_the_thread);
    tcase_add_test(tc, other_threads_are_not_patched);
    tcase_add_test(tc, our_sockets_still_block_after_unpatching);
    tcase_add_loop_test(tc, concurrent_fetches_overlap, 0, 3);
    tcase_add_test(tc, main_greenlet_waits_on_the_hub);
    tcase_add_loop_test(tc, timeout_close_and_kill, 0, 3);
    tcase_add_loop_test(tc, poll_waits_on_the_hub, 0, 3);
    tcase_add_test(tc, names_resolve_offline_through_evdns);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(monkey_suite)
