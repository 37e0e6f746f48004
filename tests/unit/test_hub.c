/*
 * test_hub.c - layer 3, gevent's hub: the order greenlets run and timers
 * fire in, sleep(0), overlapping sleeps, join and its errors (timeout,
 * joining yourself, deadlock, blocking inside the hub), kill, spawn_later,
 * results and detached tasks, waiting on fds, Event and Queue (and what a
 * kill or a free does to their waiters), a crowd of shared-stack
 * greenlets, one hub per thread, and the poll/select backends.
 *
 * Timers are checked by the order they fire in, which the hub fixes by
 * (deadline, order set), never by how long they took; the one bound on
 * elapsed time (sleeps_overlap) is loose enough for valgrind.
 *
 * Greenlets only record what they see in globals; the assertions are made
 * in main: with CK_FORK=no (valgrind) a failing check longjmps, which must
 * not happen from a greenlet's stack. Every test ends with hub_shutdown()
 * so that valgrind, running all tests in one process, sees no leaks.
 */
#include "hubtest.h"
#include "cli.h"
#include "hub.h"
#include "sync.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- a frozen clock, for timers with exactly equal deadlines ----
 *
 * Deadlines are now + timeout in nanoseconds, so two timers set through
 * the API never tie. This definition of clock_gettime takes the place of
 * libc's in this program (hub.c is linked in statically): while
 * `clock_frozen` is set, CLOCK_MONOTONIC stands still, so timers set then
 * with the same timeout have the same deadline. The clock must be thawed
 * before the hub enters libevent's loop. */
static bool clock_frozen;
static struct timespec frozen_at;

int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (clock_frozen && id == CLOCK_MONOTONIC) {
        *ts = frozen_at;
        return 0;
    }
    return (int)syscall(SYS_clock_gettime, id, ts);
}

static void freeze_clock(void)
{
    clock_gettime(CLOCK_MONOTONIC, &frozen_at);
    clock_frozen = true;
}

static void *thaw_clock(void *arg)
{
    (void)arg;
    clock_frozen = false;
    return NULL;
}

/* ---- order ---- */

/* Logs id*10 + step around two sleep(0)s. */
static void *yield_twice(void *arg)
{
    int id = N(arg);
    log_int(id * 10);
    hub_sleep(0);
    log_int(id * 10 + 1);
    hub_sleep(0);
    log_int(id * 10 + 2);
    return NULL;
}

START_TEST(ready_greenlets_run_in_spawn_order)
{
    log_reset();
    hub_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(yield_twice, P(i + 1));
    ck_assert(!hub_task_started(t[0])); /* spawn only queues it */
    ck_assert_int_eq(hub_joinall(t, 3, HUB_FOREVER), 0);
    /* each sleep(0) lets the other two run once, then comes back */
    ck_assert_log(10, 20, 30, 11, 21, 31, 12, 22, 32);
    for (int i = 0; i < 3; i++)
        join_free(t[i]);
    hub_shutdown();
}
END_TEST

static void *log_arg(void *arg)
{
    log_int(N(arg));
    return NULL;
}

START_TEST(sleep0_in_main_runs_every_ready_greenlet_once)
{
    log_reset();
    hub_task *a = spawn_ok(log_arg, P(1));
    hub_task *b = spawn_ok(yield_twice, P(2));
    ck_assert_int_eq(hub_sleep(0), 0);
    /* a ran to its end, b up to its first sleep(0); then main came back */
    ck_assert_log(1, 20);
    ck_assert(hub_task_dead(a));
    ck_assert(!hub_task_dead(b));
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_log(1, 20, 21);
    join_free(a);
    join_free(b);
    ck_assert_log(1, 20, 21, 22);
    hub_shutdown();
}
END_TEST

/* Waits on the Event, logs its id once woken. */
static void *wait_event_log(void *arg)
{
    hub_event *e = *(hub_event **)arg;
    static int next_id;
    int id = ++next_id;
    if (hub_event_wait(e, HUB_FOREVER) == 0)
        log_int(id);
    return NULL;
}

START_TEST(woken_together_run_in_wait_order)
{
    log_reset();
    hub_event *e = hub_event_new();
    ck_assert_ptr_nonnull(e);
    hub_task *t[5];
    for (int i = 0; i < 5; i++)
        t[i] = spawn_ok(wait_event_log, &e);
    ck_assert_int_eq(hub_sleep(0), 0); /* all five now wait */
    ck_assert_int_eq(log_len, 0);
    int first = 0;
    hub_event_set(e);
    ck_assert_int_eq(hub_joinall(t, 5, HUB_FOREVER), 0);
    ck_assert_int_eq(log_len, 5);
    first = log_buf[0];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(log_buf[i], first + i);
    for (int i = 0; i < 5; i++)
        join_free(t[i]);
    hub_event_free(e);
    hub_shutdown();
}
END_TEST

/* Sleeps `arg` milliseconds, then logs them. */
static void *sleep_ms_log(void *arg)
{
    int ms = N(arg);
    if (hub_sleep(ms / 1000.0) == 0)
        log_int(ms);
    else
        log_int(-ms);
    return NULL;
}

/* A timer set no earlier than the last goes on the sorted list, others on
 * the heap: 100, 200, 201, 300 ms take the list; 150, 120, 250 the heap.
 * They must still fire by deadline, taking turns between the two. */
START_TEST(timers_fire_by_deadline_list_and_heap)
{
    static const int ms[] = {100, 200, 150, 201, 120, 300, 250};
    log_reset();
    hub_task *t[7];
    for (int i = 0; i < 7; i++)
        t[i] = spawn_ok(sleep_ms_log, P(ms[i]));
    ck_assert_int_eq(hub_joinall(t, 7, HUB_FOREVER), 0);
    ck_assert_log(100, 120, 150, 200, 201, 250, 300);
    for (int i = 0; i < 7; i++)
        join_free(t[i]);
    hub_shutdown();
}
END_TEST

/* Same timeout, same (frozen) instant: the tie goes to the one set first,
 * on the list and on the heap alike, and spawn_later timers take their
 * turn among sleeps. Tags: ms*10 + n, n telling equal timeouts apart. */
static void *sleep_tag(void *arg)
{
    int tag = N(arg);
    hub_sleep(tag / 10 / 1000.0);
    log_int(tag);
    return NULL;
}

static void *spawn_later_tag(void *arg)
{
    int tag = N(arg);
    hub_task *t = hub_spawn_later(tag / 10 / 1000.0, log_arg, arg);
    if (t)
        hub_detach(t);
    else
        log_int(-1);
    return NULL;
}

START_TEST(equal_deadlines_fire_in_the_order_set)
{
    /* set in this order, all at one frozen instant */
    static const struct {
        hub_fn fn;
        int tag;
    } plan[] = {
        {sleep_tag, 501},       /* list */
        {sleep_tag, 502},       /* list, ties with 501 */
        {sleep_tag, 201},       /* heap */
        {spawn_later_tag, 202}, /* heap, ties with 201 */
        {sleep_tag, 203},       /* heap */
        {sleep_tag, 503},       /* list */
        {sleep_tag, 301},       /* heap */
        {sleep_tag, 204},       /* heap */
        {sleep_tag, 504},       /* list */
        {spawn_later_tag, 505}, /* list */
        {sleep_tag, 302},       /* heap */
    };
    enum { NPLAN = sizeof plan / sizeof plan[0] };
    hub_task *t[NPLAN + 1];

    log_reset();
    freeze_clock();
    for (int i = 0; i < NPLAN; i++)
        t[i] = spawn_ok(plan[i].fn, P(plan[i].tag));
    t[NPLAN] = spawn_ok(thaw_clock, NULL); /* runs last in this turn */
    ck_assert_int_eq(hub_run(), 0);
    ck_assert(!clock_frozen);
    ck_assert_log(201, 202, 203, 204, 301, 302, 501, 502, 503, 504, 505);
    for (int i = 0; i <= NPLAN; i++)
        join_free(t[i]);
    hub_shutdown();
}
END_TEST

/* Many timers, many ties, both structures, and removals from the middle of
 * the heap (kills). Fired order must be a stable sort by timeout. */
enum { CROWD = 300 };
static int crowd_ms(int i)
{
    return 300 + (i * 7919 % 10) * 10;
}

static void *crowd_sleeper(void *arg)
{
    int i = N(arg);
    if (hub_sleep(crowd_ms(i) / 1000.0) == 0)
        log_int(i);
    return NULL;
}

START_TEST(many_timers_with_ties_and_removals)
{
    hub_task *t[CROWD + 1];
    log_reset();
    freeze_clock();
    for (int i = 0; i < CROWD; i++)
        t[i] = spawn_ok(crowd_sleeper, P(i));
    t[CROWD] = spawn_ok(thaw_clock, NULL);
    ck_assert_int_eq(hub_sleep(0), 0); /* all sleep now (>= 300 ms) */
    ck_assert(!clock_frozen);
    for (int i = 0; i < CROWD; i += 7)
        ck_assert_int_eq(hub_kill(t[i], 0), 0); /* takes its timer out */
    ck_assert_int_eq(hub_run(), 0);

    int want[CROWD], n = 0;
    for (int ms = 300; ms < 400; ms += 10)
        for (int i = 0; i < CROWD; i++)
            if (crowd_ms(i) == ms && i % 7 != 0)
                want[n++] = i;
    ck_assert_int_eq(log_len, n);
    for (int k = 0; k < n; k++)
        ck_assert_msg(log_buf[k] == want[k], "fired %d as #%d, want %d",
                      log_buf[k], k, want[k]);
    for (int i = 0; i <= CROWD; i++) {
        ck_assert(hub_task_killed(t[i]) == (i < CROWD && i % 7 == 0));
        join_free(t[i]);
    }
    hub_shutdown();
}
END_TEST

START_TEST(spawn_later_starts_in_deadline_order)
{
    log_reset();
    /* The deadlines are counted from one instant, however slowly a loaded
     * machine makes these calls. */
    freeze_clock();
    hub_task *t[4] = {
        hub_spawn_later(0.06, log_arg, P(3)),
        hub_spawn_later(0.02, log_arg, P(1)),
        hub_spawn(log_arg, P(0)),
        hub_spawn_later(0.04, log_arg, P(2)),
    };
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(t[i]);
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_log(0); /* the later ones wait for their timers */
    ck_assert(!hub_task_started(t[1]));
    thaw_clock(NULL); /* before the hub's loop waits */
    ck_assert_int_eq(hub_joinall(t, 4, HUB_FOREVER), 0);
    ck_assert_log(0, 1, 2, 3);
    for (int i = 0; i < 4; i++)
        join_free(t[i]);
    hub_shutdown();
}
END_TEST

/* ---- sleeps overlap ---- */

static void *sleep_arg_ms(void *arg)
{
    hub_sleep(N(arg) / 1000.0);
    return NULL;
}

START_TEST(sleeps_overlap)
{
    enum { NT = 20 };
    hub_task *t[NT];
    double t0 = cl_now();
    for (int i = 0; i < NT; i++)
        t[i] = spawn_ok(sleep_arg_ms, P(100));
    ck_assert_int_eq(hub_joinall(t, NT, HUB_FOREVER), 0);
    double took = cl_now() - t0;
    /* one after another it would be 2 s; together about 0.1 s. The bound
     * is deliberately loose (valgrind, a busy machine). */
    ck_assert_msg(took < NT * 0.1 * 0.8, "20 sleeps of 0.1 s took %.2f s", took);
    ck_assert_msg(took >= 0.099, "a 0.1 s sleep ended after %.3f s", took);
    for (int i = 0; i < NT; i++)
        join_free(t[i]);
    hub_shutdown();
}
END_TEST

/* ---- join, results, errors ---- */

static void *twice(void *arg)
{
    hub_sleep(0.01);
    return P(N(arg) * 2);
}

START_TEST(join_returns_and_result_is_kept)
{
    hub_task *t = spawn_ok(twice, P(21));
    ck_assert_ptr_eq(hub_current(), NULL); /* main */
    ck_assert(!hub_killed());
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    ck_assert(hub_task_dead(t));
    ck_assert(hub_task_started(t));
    ck_assert(!hub_task_killed(t));
    ck_assert_ptr_eq(hub_task_result(t), P(42));
    ck_assert_int_eq(hub_join(t, 0), 0); /* joining the dead: at once */
    ck_assert_int_eq(hub_task_free(t), 0);
    ck_assert_int_eq(hub_task_free(NULL), 0);
    hub_shutdown();
}
END_TEST

START_TEST(join_timeout_then_the_task_still_finishes)
{
    /* 0.5 s: far more than the timeouts below, even on a stalled machine */
    hub_task *t = spawn_ok(sleep_arg_ms, P(500));
    ck_assert_fails(hub_join(t, 0.02), ETIMEDOUT);
    ck_assert(hub_task_started(t));
    ck_assert(!hub_task_dead(t));
    errno = 0;
    ck_assert_int_eq(hub_join(t, 0), -1); /* 0: do not wait at all */
    ck_assert_int_eq(errno, ETIMEDOUT);
    errno = 0;
    ck_assert_int_eq(hub_task_free(t), -1); /* still running */
    ck_assert_int_eq(errno, EBUSY);
    hub_task *ts[] = {t};
    ck_assert_fails(hub_joinall(ts, 1, 0.01), ETIMEDOUT);
    ck_assert_int_eq(hub_join(t, 5.0), 0);
    ck_assert(hub_task_dead(t));
    ck_assert_int_eq(hub_task_free(t), 0);
    hub_shutdown();
}
END_TEST

static struct outcome self_join;
static hub_task *seen_current;

static void *join_myself(void *arg)
{
    (void)arg;
    seen_current = hub_current();
    CALL(self_join, hub_join(hub_current(), HUB_FOREVER));
    return NULL;
}

START_TEST(join_on_itself_is_edeadlk)
{
    self_join = (struct outcome){0, 0};
    hub_task *t = spawn_ok(join_myself, NULL);
    join_free(t);
    ck_assert_ptr_eq(seen_current, t);
    ck_assert_int_eq(self_join.rc, -1);
    ck_assert_int_eq(self_join.err, EDEADLK);
    hub_shutdown();
}
END_TEST

static struct outcome forever_wait;

static void *wait_forever(void *arg)
{
    CALL(forever_wait, hub_event_wait(arg, HUB_FOREVER));
    return NULL;
}

START_TEST(main_waiting_on_a_deadlock_gets_edeadlk)
{
    hub_event *e = hub_event_new();
    forever_wait = (struct outcome){7, 7};
    hub_task *t = spawn_ok(wait_forever, e);
    errno = 0;
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), -1); /* not a hang */
    ck_assert_int_eq(errno, EDEADLK);
    ck_assert(!hub_task_dead(t));
    /* the same for main waiting on the event itself */
    ck_assert_fails(hub_event_wait(e, HUB_FOREVER), EDEADLK);
    ck_assert_str_eq(hub_strerror(EDEADLK),
                     "would wait forever (joining itself, or nothing left to wake it)");
    hub_event_set(e); /* now the task can end */
    join_free(t);
    ck_assert_int_eq(forever_wait.rc, 0);
    hub_event_free(e);
    hub_shutdown();
}
END_TEST

static struct outcome in_callback;
static int callbacks;

static void sleep_in_callback(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    callbacks++;
    CALL(in_callback, hub_sleep(0.01));
}

START_TEST(blocking_inside_an_event_callback_is_eperm)
{
    struct event_base *base = hub_event_base();
    ck_assert_ptr_nonnull(base);
    struct event *ev = evtimer_new(base, sleep_in_callback, NULL);
    struct timeval tv = {0, 10000};
    callbacks = 0;
    in_callback = (struct outcome){0, 0};
    ck_assert_int_eq(evtimer_add(ev, &tv), 0);
    ck_assert_int_eq(hub_sleep(0.05), 0); /* the hub runs the callback */
    ck_assert_int_eq(callbacks, 1);
    ck_assert_int_eq(in_callback.rc, -1);
    ck_assert_int_eq(in_callback.err, EPERM);
    event_free(ev);
    hub_shutdown();
}
END_TEST

/* A greenlet the hub did not spawn has nobody to switch back to it. */
static void *raw_greenlet_sleeps(void *arg, void *value)
{
    (void)value;
    CALL(*(struct outcome *)arg, hub_sleep(0.01));
    return NULL;
}

START_TEST(blocking_in_a_foreign_greenlet_is_eperm)
{
    struct outcome o = {0, 0};
    ck_assert_ptr_nonnull(hub_event_base()); /* the hub exists */
    greenlet *g = greenlet_new(raw_greenlet_sleeps, &o, NULL);
    ck_assert_ptr_nonnull(g);
    greenlet_switch(g, NULL);
    ck_assert(greenlet_dead(g));
    ck_assert_int_eq(o.rc, -1);
    ck_assert_int_eq(o.err, EPERM);
    greenlet_free(g);
    hub_shutdown();
}
END_TEST

/* ---- kill ---- */

static struct outcome killed_sleep, killed_later, killed_yield;
static bool saw_killed;

/* Far longer than any run of the suite: a kill that waited for it would
 * hit the test case's timeout long before. */
#define LONG_SLEEP 3600.0

static void *sleep_long_then_more(void *arg)
{
    (void)arg;
    CALL(killed_sleep, hub_sleep(LONG_SLEEP));
    saw_killed = hub_killed();
    CALL(killed_later, hub_sleep(0.01));
    CALL(killed_yield, hub_sleep(0));
    return P(5);
}

START_TEST(kill_a_sleeping_task)
{
    saw_killed = false;
    hub_task *t = spawn_ok(sleep_long_then_more, NULL);
    ck_assert_int_eq(hub_sleep(0), 0); /* it starts its hour-long sleep */
    ck_assert(hub_task_started(t) && !hub_task_dead(t));
    double slept_until = cl_now() + LONG_SLEEP;
    ck_assert_int_eq(hub_kill(t, HUB_FOREVER), 0);
    /* an ordering, not a speed: the kill ended the sleep before its end */
    ck_assert_msg(cl_now() < slept_until, "kill waited for the sleep");
    ck_assert(hub_task_dead(t));
    ck_assert(hub_task_killed(t));
    ck_assert_int_eq(killed_sleep.rc, -1);
    ck_assert_int_eq(killed_sleep.err, ECANCELED);
    ck_assert(saw_killed);
    ck_assert_int_eq(killed_later.rc, -1);
    ck_assert_int_eq(killed_later.err, ECANCELED);
    ck_assert_int_eq(killed_yield.rc, -1);
    ck_assert_int_eq(killed_yield.err, ECANCELED);
    ck_assert_ptr_eq(hub_task_result(t), P(5)); /* it returned normally */
    ck_assert_int_eq(hub_kill(t, 0), 0);        /* killing the dead: no-op */
    ck_assert_int_eq(hub_task_free(t), 0);
    hub_shutdown();
}
END_TEST

static int ran;
static void *mark_ran(void *arg)
{
    (void)arg;
    ran++;
    return P(1);
}

START_TEST(kill_before_start_never_runs)
{
    ran = 0;
    hub_task *a = spawn_ok(mark_ran, P(7)); /* its result is not its arg */
    hub_task *b = spawn_ok(mark_ran, NULL);
    hub_task *c = hub_spawn_later(0.01, mark_ran, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(hub_kill(a, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_kill(b, 0), 0);
    ck_assert_int_eq(hub_kill(c, 0), 0);
    ck_assert(hub_task_dead(a) && hub_task_killed(a) && !hub_task_started(a));
    ck_assert_int_eq(hub_join(a, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_task_free(b), 0); /* freed while still queued */
    ck_assert_int_eq(hub_sleep(0.03), 0);  /* past c's timer */
    ck_assert_int_eq(ran, 0);
    ck_assert_ptr_eq(hub_task_result(a), NULL);
    ck_assert_int_eq(hub_task_free(a), 0);
    ck_assert_int_eq(hub_task_free(c), 0);
    hub_shutdown();
}
END_TEST

/* ---- detached tasks, hub_run ---- */

static int finished;
static void *sleep_then_count(void *arg)
{
    hub_sleep(N(arg) / 1000.0);
    finished++;
    return NULL;
}

static void spawn_detached_batch(int n)
{
    hub_spawn_opts opts = {.detached = true};
    for (int i = 0; i < n; i++) {
        if (i % 2) {
            ck_assert_ptr_nonnull(hub_spawn_with(sleep_then_count, P(i % 5), &opts));
        } else {
            hub_task *t = spawn_ok(sleep_then_count, P(i % 5));
            hub_detach(t); /* before it ends */
        }
    }
}

START_TEST(detached_tasks_are_freed_by_the_hub)
{
    enum { BATCH = 1000 };
    finished = 0;
    spawn_detached_batch(BATCH); /* warms up pools and the hub's arrays */
    ck_assert_int_eq(hub_run(), 0);
    ck_assert_int_eq(finished, BATCH);

    struct mallinfo2 before = mallinfo2();
    spawn_detached_batch(BATCH);
    ck_assert_int_eq(hub_run(), 0);
    struct mallinfo2 after = mallinfo2();
    ck_assert_int_eq(finished, 2 * BATCH);
    /* A task record is a few hundred bytes: a thousand kept would show.
     * (Under valgrind or ASan malloc is not glibc's and this says nothing;
     * valgrind's leak check covers it there.) */
    ck_assert_msg(after.uordblks < before.uordblks + BATCH * 64,
                  "heap grew by %zu bytes over %d detached tasks",
                  after.uordblks - before.uordblks, BATCH);

    /* detaching one that has already ended frees it at once */
    hub_task *t = spawn_ok(mark_ran, NULL);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    hub_detach(t);
    hub_shutdown();
}
END_TEST

START_TEST(hub_run_returns_when_nothing_is_left)
{
    ck_assert_int_eq(hub_run(), 0); /* nothing at all */
    finished = 0;
    hub_spawn_opts opts = {.detached = true};
    for (int i = 0; i < 5; i++)
        ck_assert_ptr_nonnull(hub_spawn_with(sleep_then_count, P(10 * (5 - i)), &opts));
    hub_task *later = hub_spawn_later(0.06, mark_ran, NULL);
    hub_detach(later);
    ran = 0;
    ck_assert_int_eq(hub_run(), 0);
    ck_assert_int_eq(finished, 5);
    ck_assert_int_eq(ran, 1);
    hub_shutdown();
}
END_TEST

/* ---- file descriptors ---- */

static void nonblocking_pipe(int p[2])
{
    ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void close_pipe(int p[2])
{
    hub_fd_forget(p[0]);
    hub_fd_forget(p[1]);
    close(p[0]);
    close(p[1]);
}

static int pipe_fds[2];
static struct outcome reader_wait;
static char reader_got;

static void *pipe_reader(void *arg)
{
    double timeout = arg ? *(double *)arg : HUB_FOREVER;
    CALL(reader_wait, hub_wait_fd(pipe_fds[0], HUB_READ, timeout));
    log_int(1);
    if (reader_wait.rc == 0 && read(pipe_fds[0], &reader_got, 1) != 1)
        reader_got = '?';
    return NULL;
}

static void *pipe_writer(void *arg)
{
    (void)arg;
    hub_sleep(0.02);
    log_int(2);
    if (write(pipe_fds[1], "x", 1) != 1)
        log_int(-2);
    return NULL;
}

/* What reader/writer do on whatever backend the calling thread's hub has;
 * 0 if all went as it should, else a line number. Runs in test threads
 * too, so it reports rather than asserts. */
static int pipe_exercise(void)
{
    log_reset();
    reader_got = 0;
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return __LINE__;
    hub_task *r = hub_spawn(pipe_reader, NULL);
    hub_task *w = hub_spawn(pipe_writer, NULL);
    hub_task *ts[] = {r, w};
    if (!r || !w || hub_joinall(ts, 2, 5.0) != 0)
        return __LINE__;
    /* the reader waited until the writer wrote */
    if (log_len != 2 || log_buf[0] != 2 || log_buf[1] != 1)
        return __LINE__;
    if (reader_wait.rc != 0 || reader_got != 'x')
        return __LINE__;
    /* nothing more to read: a timeout, then a write wakes it again */
    if (hub_wait_fd(pipe_fds[0], HUB_READ, 0.01) != -1 || errno != ETIMEDOUT)
        return __LINE__;
    if (write(pipe_fds[1], "y", 1) != 1 ||
        hub_wait_fd(pipe_fds[0], HUB_READ, 5.0) != 0 ||
        read(pipe_fds[0], &reader_got, 1) != 1 || reader_got != 'y')
        return __LINE__;
    /* an empty pipe is writable */
    if (hub_wait_fd(pipe_fds[1], HUB_WRITE, 5.0) != 0)
        return __LINE__;
    hub_task_free(r);
    hub_task_free(w);
    close_pipe(pipe_fds);
    return 0;
}

START_TEST(wait_fd_reader_wakes_when_written)
{
    ck_assert_int_eq(pipe_exercise(), 0);
    hub_shutdown();
}
END_TEST

START_TEST(wait_fd_timeout_busy_and_forget)
{
    nonblocking_pipe(pipe_fds);
    double timeout = 0.02;

    /* a timeout */
    hub_task *r = spawn_ok(pipe_reader, &timeout);
    join_free(r);
    ck_assert_int_eq(reader_wait.rc, -1);
    ck_assert_int_eq(reader_wait.err, ETIMEDOUT);
    ck_assert_fails(hub_wait_fd(pipe_fds[0], HUB_READ, 0), ETIMEDOUT);

    /* a second reader of the same fd: EBUSY at once, as in gevent */
    r = spawn_ok(pipe_reader, NULL);
    ck_assert_int_eq(hub_sleep(0), 0); /* r waits now */
    ck_assert_fails(hub_wait_fd(pipe_fds[0], HUB_READ, 1.0), EBUSY);
    /* the other direction is free: an empty pipe's write end is writable */
    ck_assert_int_eq(hub_wait_fd(pipe_fds[1], HUB_WRITE, 1.0), 0);

    /* forgetting the fd wakes the reader with EBADF */
    hub_fd_forget(pipe_fds[0]);
    join_free(r);
    ck_assert_int_eq(reader_wait.rc, -1);
    ck_assert_int_eq(reader_wait.err, EBADF);

    ck_assert_fails(hub_wait_fd(-1, HUB_READ, 1.0), EINVAL);
    ck_assert_fails(hub_wait_fd(pipe_fds[0], HUB_READ | HUB_WRITE, 1.0), EINVAL);
    close_pipe(pipe_fds);
    hub_shutdown();
}
END_TEST

/* A greenlet still waiting on an fd when the hub is shut down. */
START_TEST(shutdown_with_a_greenlet_waiting_on_an_fd)
{
    nonblocking_pipe(pipe_fds);
    hub_task *r = spawn_ok(pipe_reader, NULL);
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert(hub_task_started(r) && !hub_task_dead(r));
    hub_shutdown(); /* frees r, its fd record, the lot */
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}
END_TEST

/* ---- Event ---- */

static struct outcome ev_waits[3];

static void *event_waiter(void *arg)
{
    hub_event **e = arg;
    static int next;
    int i = next++ % 3;
    CALL(ev_waits[i], hub_event_wait(*e, i == 2 ? 0.02 : HUB_FOREVER));
    log_int(i);
    return NULL;
}

START_TEST(event_set_clear_wait)
{
    hub_event *e = hub_event_new();
    ck_assert_ptr_nonnull(e);
    ck_assert(!hub_event_is_set(e));
    ck_assert_fails(hub_event_wait(e, 0.01), ETIMEDOUT);
    ck_assert_fails(hub_event_wait(e, 0), ETIMEDOUT);

    log_reset();
    hub_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(event_waiter, &e);
    /* the third gives up after 0.02 s; the others wait on */
    ck_assert_int_eq(hub_join(t[2], HUB_FOREVER), 0);
    ck_assert_int_eq(ev_waits[2].rc, -1);
    ck_assert_int_eq(ev_waits[2].err, ETIMEDOUT);
    ck_assert_log(2);
    hub_event_set(e);
    ck_assert(hub_event_is_set(e));
    ck_assert_int_eq(hub_joinall(t, 2, HUB_FOREVER), 0);
    ck_assert_log(2, 0, 1);
    ck_assert_int_eq(ev_waits[0].rc, 0);
    ck_assert_int_eq(ev_waits[1].rc, 0);
    ck_assert_int_eq(hub_event_wait(e, 0), 0); /* set: at once */
    ck_assert_int_eq(hub_event_wait(e, HUB_FOREVER), 0);
    hub_event_clear(e);
    ck_assert(!hub_event_is_set(e));
    ck_assert_fails(hub_event_wait(e, 0.01), ETIMEDOUT);
    for (int i = 0; i < 3; i++)
        join_free(t[i]);
    hub_event_free(e);
    hub_event_free(NULL);
    hub_shutdown();
}
END_TEST

/* ---- Queue ---- */

static hub_queue *queue;

static void *producer(void *arg)
{
    for (int i = 1; i <= N(arg); i++)
        if (hub_queue_put(queue, P(i), HUB_FOREVER) == 0)
            log_int(100 + i);
    return NULL;
}

static void *consumer(void *arg)
{
    for (int i = 1; i <= N(arg); i++) {
        void *item = NULL;
        if (hub_queue_get(queue, &item, HUB_FOREVER) == 0)
            log_int(200 + N(item));
    }
    return NULL;
}

static int ticks;
static void *ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++, ticks++)
        hub_sleep(0);
    return NULL;
}

START_TEST(queue_blocks_the_greenlet_not_the_thread)
{
    queue = hub_queue_new(2);
    ck_assert_ptr_nonnull(queue);
    log_reset();
    ticks = 0;
    hub_task *t[] = {spawn_ok(producer, P(6)), spawn_ok(consumer, P(6)),
                     spawn_ok(ticker, NULL)};
    ck_assert_int_eq(hub_joinall(t, 3, HUB_FOREVER), 0);
    /* the producer fills the queue (2), blocks; the consumer empties it,
     * blocks; and so on, two at a time */
    ck_assert_log(101, 102, 201, 202, 103, 104, 203, 204, 105, 106, 205, 206);
    ck_assert_int_eq(ticks, 3); /* others ran while they were blocked */
    ck_assert_uint_eq(hub_queue_size(queue), 0);
    for (int i = 0; i < 3; i++)
        join_free(t[i]);

    /* timeouts, from main */
    void *item = P(9);
    ck_assert_fails(hub_queue_get(queue, &item, 0.01), ETIMEDOUT);
    ck_assert_ptr_eq(item, P(9));
    ck_assert_int_eq(hub_queue_put(queue, P(1), 0), 0);
    ck_assert_int_eq(hub_queue_put(queue, P(2), 0), 0);
    ck_assert_uint_eq(hub_queue_size(queue), 2);
    ck_assert_fails(hub_queue_put(queue, P(3), 0), ETIMEDOUT);
    ck_assert_fails(hub_queue_put(queue, P(3), 0.01), ETIMEDOUT);
    ck_assert_int_eq(hub_queue_get(queue, &item, 0), 0);
    ck_assert_ptr_eq(item, P(1)); /* FIFO */
    ck_assert_int_eq(hub_queue_get(queue, &item, 0), 0);
    ck_assert_ptr_eq(item, P(2));
    hub_queue_free(queue);
    queue = NULL;

    errno = 0;
    ck_assert_ptr_null(hub_queue_new(0));
    ck_assert_int_eq(errno, EINVAL);
    hub_queue_free(NULL);
    hub_shutdown();
}
END_TEST

/* A greenlet that only ever yields (sleep(0)) is stopped by a kill too. */
static long spins;
static void *spin_until_killed(void *arg)
{
    (void)arg;
    while (hub_sleep(0) == 0)
        spins++;
    return NULL;
}

START_TEST(kill_a_yielding_loop)
{
    spins = 0;
    hub_task *t = spawn_ok(spin_until_killed, NULL);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_int_ge(spins, 4);
    ck_assert_int_eq(hub_kill(t, 5.0), 0);
    ck_assert(hub_task_dead(t) && hub_task_killed(t));
    long seen = spins;
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_int_eq(spins, seen);
    ck_assert_int_eq(hub_task_free(t), 0);
    hub_shutdown();
}
END_TEST

/* A killed waiter leaves the Event's list and the fd's slot: a later set
 * must not touch the freed task, a later reader must not get EBUSY. */
static struct outcome killed_wait;
static void *wait_on_event(void *arg)
{
    CALL(killed_wait, hub_event_wait(arg, HUB_FOREVER));
    return NULL;
}

START_TEST(killed_waiters_are_unlinked)
{
    hub_event *e = hub_event_new();
    hub_task *t = spawn_ok(wait_on_event, e);
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_int_eq(hub_kill(t, HUB_FOREVER), 0);
    ck_assert_int_eq(killed_wait.rc, -1);
    ck_assert_int_eq(killed_wait.err, ECANCELED);
    ck_assert_int_eq(hub_task_free(t), 0);
    hub_event_set(e); /* valgrind/ASan: no use of the freed task */
    hub_event_free(e);

    nonblocking_pipe(pipe_fds);
    t = spawn_ok(pipe_reader, NULL);
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_int_eq(hub_kill(t, HUB_FOREVER), 0);
    ck_assert_int_eq(reader_wait.rc, -1);
    ck_assert_int_eq(reader_wait.err, ECANCELED);
    ck_assert_int_eq(hub_task_free(t), 0);
    ck_assert_int_eq(write(pipe_fds[1], "z", 1), 1);
    ck_assert_int_eq(hub_wait_fd(pipe_fds[0], HUB_READ, 5.0), 0); /* not EBUSY */
    close_pipe(pipe_fds);
    hub_shutdown();
}
END_TEST

/* Freeing an Event or a Queue someone waits on wakes them with EBADF. */
static struct outcome freed_wait;
static void *get_from_queue(void *arg)
{
    void *item;
    CALL(freed_wait, hub_queue_get(arg, &item, HUB_FOREVER));
    return NULL;
}

START_TEST(freeing_what_they_wait_on_wakes_with_ebadf)
{
    hub_event *e = hub_event_new();
    hub_task *t = spawn_ok(wait_on_event, e);
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_event_free(e);
    join_free(t);
    ck_assert_int_eq(killed_wait.rc, -1);
    ck_assert_int_eq(killed_wait.err, EBADF);

    hub_queue *q = hub_queue_new(1);
    t = spawn_ok(get_from_queue, q);
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_queue_free(q);
    join_free(t);
    ck_assert_int_eq(freed_wait.rc, -1);
    ck_assert_int_eq(freed_wait.err, EBADF);
    hub_shutdown();
}
END_TEST

/* ---- a crowd of shared-stack greenlets ---- */

enum { SHARED_N = 10000 };
static unsigned char shared_ok[SHARED_N];

static unsigned checksum(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Its locals live on the shared stack while it runs and in a heap copy
 * while it sleeps: they must come back intact. */
static void *shared_sleeper(void *arg)
{
    int id = N(arg);
    volatile unsigned char local[96];
    for (size_t i = 0; i < sizeof local; i++)
        local[i] = (unsigned char)(id * 31 + (int)i);
    unsigned before = checksum((const unsigned char *)local, sizeof local);
    if (hub_sleep(0.01 + (id % 3) * 0.01) != 0)
        return NULL;
    if (hub_sleep(0) != 0)
        return NULL;
    unsigned after = checksum((const unsigned char *)local, sizeof local);
    shared_ok[id] = before == after && local[0] == (unsigned char)(id * 31);
    return arg;
}

START_TEST(ten_thousand_shared_stack_greenlets)
{
    hub_task **t = calloc(SHARED_N, sizeof *t);
    ck_assert_ptr_nonnull(t);
    memset(shared_ok, 0, sizeof shared_ok);
    for (int i = 0; i < SHARED_N; i++) {
        /* every hundredth on a guarded stack, to mix the two kinds */
        hub_spawn_opts opts = {.stack_kind = i % 100 ? GREENLET_STACK_SHARED
                                                     : GREENLET_STACK_GUARDED};
        t[i] = hub_spawn_with(shared_sleeper, P(i), &opts);
        ck_assert_ptr_nonnull(t[i]);
    }
    ck_assert_int_eq(hub_joinall(t, SHARED_N, HUB_FOREVER), 0);
    int bad = 0;
    for (int i = 0; i < SHARED_N; i++) {
        if (!shared_ok[i] || hub_task_result(t[i]) != P(i))
            bad++;
        ck_assert_int_eq(hub_task_free(t[i]), 0);
    }
    ck_assert_int_eq(bad, 0);
    free(t);
    hub_shutdown();
}
END_TEST

/* A SHARED greenlet parked in hub_sleep has no code left between its
 * switch and hub_sleep's caller: the hub hands it its return value and
 * errno as it resumes it, and no switch on the way (the restorer's copy,
 * a trace hook) may change errno. */
static struct outcome shared_slept[4];

static void *shared_sleep_maybe_long(void *arg)
{
    CALL(shared_slept[N(arg)], hub_sleep(N(arg) % 2 ? LONG_SLEEP : 0.01));
    return arg;
}

START_TEST(killed_shared_stack_sleepers_get_ecanceled)
{
    for (int hooked = 0; hooked < 2; hooked++) {
        hub_task *t[4];
        hub_spawn_opts opts = {.stack_kind = GREENLET_STACK_SHARED};
        memset(shared_slept, 0, sizeof shared_slept);
        greenlet_set_switch_hook(hooked ? cl_test_hook_spoiling_errno : NULL);
        for (int i = 0; i < 4; i++)
            ck_assert_ptr_nonnull(t[i] = hub_spawn_with(shared_sleep_maybe_long,
                                                        P(i), &opts));
        ck_assert_int_eq(hub_sleep(0), 0); /* they all start sleeping */
        ck_assert_int_eq(hub_kill(t[1], 0), 0);
        ck_assert_int_eq(hub_kill(t[3], HUB_FOREVER), 0);
        ck_assert_int_eq(hub_joinall(t, 4, HUB_FOREVER), 0);
        greenlet_set_switch_hook(NULL);
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(shared_slept[i].rc, i % 2 ? -1 : 0);
            if (i % 2)
                ck_assert_int_eq(shared_slept[i].err, ECANCELED);
            ck_assert_ptr_eq(hub_task_result(t[i]), P(i));
            ck_assert_int_eq(hub_task_free(t[i]), 0);
        }
    }
    hub_shutdown();
}
END_TEST

/* ---- threads and backends ---- */

struct thread_run {
    const char *backend; /* to ask for, or NULL */
    int set_rc;
    const char *got_backend;
    struct event_base *base;
    int pipe_result; /* 0 or the line that failed */
    int joined;
};

static void *thread_sleeps(void *arg)
{
    (void)arg;
    hub_sleep(0.1);
    return P(1);
}

static void *thread_main(void *arg)
{
    struct thread_run *tr = arg;
    tr->set_rc = tr->backend ? hub_set_backend(tr->backend) : 0;
    tr->base = hub_event_base();
    tr->got_backend = hub_backend();
    hub_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = hub_spawn(thread_sleeps, NULL);
    tr->joined = hub_joinall(t, 3, 10.0) == 0;
    for (int i = 0; i < 3; i++)
        hub_task_free(t[i]);
    tr->pipe_result = tr->backend ? pipe_exercise() : 0;
    hub_shutdown();
    hub_set_backend(NULL);
    return NULL;
}

START_TEST(each_thread_has_its_own_hub)
{
    struct thread_run tr[2] = {{0}, {0}};
    pthread_t th[2];
    struct event_base *mine = hub_event_base();
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &tr[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert(tr[i].joined);
        ck_assert_ptr_nonnull(tr[i].base);
        ck_assert_ptr_ne(tr[i].base, mine);
    }
    ck_assert_ptr_ne(tr[0].base, tr[1].base);
    hub_shutdown();
}
END_TEST

static void check_backend(const char *name)
{
    struct thread_run tr = {.backend = name};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, thread_main, &tr), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(tr.set_rc, 0);
    ck_assert_str_eq(tr.got_backend, name);
    ck_assert(tr.joined);
    ck_assert_msg(tr.pipe_result == 0, "%s: pipe exercise failed at line %d",
                  name, tr.pipe_result);
}

START_TEST(poll_and_select_backends)
{
    check_backend("poll");
    check_backend("select");
    /* and the default, for comparison */
    check_backend(hub_backend());
    hub_shutdown();
}
END_TEST

START_TEST(unknown_backend_and_too_late)
{
    hub_shutdown(); /* no hub on this thread */
    ck_assert_fails(hub_set_backend("carrier-pigeon"), EINVAL);
    ck_assert_int_eq(hub_set_backend(NULL), 0);
    ck_assert_ptr_nonnull(hub_event_base()); /* the hub exists now */
    ck_assert_fails(hub_set_backend("poll"), EBUSY);
    hub_shutdown();
}
END_TEST

START_TEST(strerror_words)
{
    ck_assert_str_eq(hub_strerror(ETIMEDOUT), "timed out");
    ck_assert_str_eq(hub_strerror(ECANCELED), "greenlet was killed");
    ck_assert_str_eq(hub_strerror(ENOENT), strerror(ENOENT));
}
END_TEST

/* ---- issue 11: nonsense times, closed fds, I/O against timeouts,
 * other threads, tasks without a stack ---- */

static const char *const backends[] = {"epoll", "poll", "select"};

/* Run fn on each backend this libevent has, on main's hub. */
static void on_each_backend(void (*fn)(const char *backend))
{
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++) {
        hub_shutdown();
        if (hub_set_backend(backends[i]) != 0)
            continue; /* not built into this libevent */
        ck_assert_str_eq(hub_backend(), backends[i]);
        fn(backends[i]);
        hub_shutdown();
    }
    ck_assert_int_eq(hub_set_backend(NULL), 0);
}

START_TEST(nan_and_nonsense_times_are_einval)
{
    static const double bad_sleeps[] = {NAN, -NAN, -1.0, -1e-9, INFINITY,
                                        -INFINITY};
    for (size_t i = 0; i < sizeof bad_sleeps / sizeof *bad_sleeps; i++) {
        errno = 0;
        ck_assert_int_eq(hub_sleep(bad_sleeps[i]), -1);
        ck_assert_msg(errno == EINVAL, "hub_sleep(%g): errno %d", bad_sleeps[i],
                      errno);
    }
    hub_task *t = spawn_ok(yield_twice, P(1));
    ck_assert_fails(hub_join(t, NAN), EINVAL);
    hub_task *ts[] = {t};
    ck_assert_fails(hub_joinall(ts, 1, NAN), EINVAL);
    ck_assert_fails(hub_kill(t, NAN), EINVAL);
    errno = 0;
    ck_assert_ptr_null(hub_spawn_later(NAN, yield_twice, P(2)));
    ck_assert_int_eq(errno, EINVAL);
    nonblocking_pipe(pipe_fds);
    ck_assert_fails(hub_wait_fd(pipe_fds[0], HUB_READ, NAN), EINVAL);
    close_pipe(pipe_fds);
    /* HUB_FOREVER and +infinity are "no timeout", not errors */
    ck_assert_int_eq(hub_join(t, INFINITY), 0);
    ck_assert_int_eq(hub_task_free(t), 0);
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_shutdown();
}
END_TEST

static void closed_fd_is_ebadf(const char *backend)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    close(p[1]);
    errno = 0;
    ck_assert_int_eq(hub_wait_fd(p[0], HUB_READ, 1.0), -1);
    ck_assert_msg(errno == EBADF, "%s: errno %d (%s)", backend, errno,
                  strerror(errno));
}

START_TEST(wait_fd_on_a_closed_fd_is_ebadf)
{
    on_each_backend(closed_fd_is_ebadf);
}
END_TEST

/* The reader's data is written before its deadline, but the hub gets to
 * run only after the deadline (main keeps the CPU): the data must win. */
static void data_wins_over_an_expired_timeout(const char *backend)
{
    double timeout = 0.05, until;
    nonblocking_pipe(pipe_fds);
    log_reset();
    hub_task *r = spawn_ok(pipe_reader, &timeout);
    ck_assert_int_eq(hub_sleep(0), 0); /* it waits now */
    ck_assert_int_eq(write(pipe_fds[1], "d", 1), 1);
    until = cl_now() + 2 * timeout;
    while (cl_now() < until) /* past its deadline, without yielding */
        ;
    ck_assert_int_eq(hub_join(r, HUB_FOREVER), 0);
    ck_assert_msg(reader_wait.rc == 0, "%s: the reader got errno %d (%s)",
                  backend, reader_wait.err, strerror(reader_wait.err));
    ck_assert_int_eq(reader_got, 'd');
    ck_assert_int_eq(hub_task_free(r), 0);
    close_pipe(pipe_fds);
}

START_TEST(ready_io_wins_over_an_expired_timeout)
{
    on_each_backend(data_wins_over_an_expired_timeout);
}
END_TEST

/* select's fd_set has FD_SETSIZE bits: the hub refuses a higher fd with
 * ERANGE instead of letting libevent write past the set. */
static int high_fd(void)
{
    struct rlimit rl;
    int fd = FD_SETSIZE + 10;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur <= (rlim_t)fd) {
        if (rl.rlim_max <= (rlim_t)fd)
            return -1;
        rl.rlim_cur = (rlim_t)fd + 1;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -1;
    }
    nonblocking_pipe(pipe_fds);
    if (dup2(pipe_fds[0], fd) != fd)
        return -1;
    return fd;
}

START_TEST(select_refuses_fds_past_fd_setsize)
{
    hub_shutdown();
    int fd = high_fd();
    if (fd < 0) {
        /* RLIMIT_NOFILE's hard limit is too low here: nothing to test */
        close_pipe(pipe_fds);
        return;
    }
    ck_assert_int_eq(hub_set_backend("select"), 0);
    ck_assert_fails(hub_wait_fd(fd, HUB_READ, 1.0), ERANGE);
    ck_assert_ptr_nonnull(strstr(hub_strerror(ERANGE), "FD_SETSIZE"));
    ck_assert_int_eq(hub_wait_fd(pipe_fds[0], HUB_READ, 0.01), -1);
    ck_assert_int_eq(errno, ETIMEDOUT); /* low fds still work */
    hub_shutdown();
    ck_assert_int_eq(hub_set_backend("poll"), 0); /* poll has no such limit */
    ck_assert_fails(hub_wait_fd(fd, HUB_READ, 0.01), ETIMEDOUT);
    hub_fd_forget(fd);
    close(fd);
    close_pipe(pipe_fds);
    hub_shutdown();
    ck_assert_int_eq(hub_set_backend(NULL), 0);
}
END_TEST

/* A task belongs to its thread's hub: calls about it from another thread
 * are refused with EPERM, not a crash or a hang. */
static pthread_barrier_t foreign_barrier;
static hub_task *foreign_task;
static int foreign_result;

static void *sleep_long(void *arg)
{
    (void)arg;
    hub_sleep(3600);
    return NULL;
}

static void *foreign_thread(void *arg)
{
    (void)arg;
    foreign_task = hub_spawn(sleep_long, NULL);
    hub_sleep(0); /* it sleeps now */
    pthread_barrier_wait(&foreign_barrier); /* main tries its calls */
    pthread_barrier_wait(&foreign_barrier);
    foreign_result = hub_kill(foreign_task, HUB_FOREVER) == 0 &&
                     hub_task_killed(foreign_task) &&
                     hub_task_free(foreign_task) == 0;
    hub_shutdown();
    return NULL;
}

START_TEST(calls_about_another_threads_task_are_eperm)
{
    pthread_t th;
    ck_assert_int_eq(pthread_barrier_init(&foreign_barrier, NULL, 2), 0);
    ck_assert_int_eq(pthread_create(&th, NULL, foreign_thread, NULL), 0);
    pthread_barrier_wait(&foreign_barrier);
    hub_task *t = foreign_task;
    ck_assert_ptr_nonnull(t);
    for (int with_hub = 0; with_hub < 2; with_hub++) {
        if (with_hub)
            ck_assert_ptr_nonnull(hub_event_base()); /* main's own hub */
        else
            hub_shutdown();
        ck_assert_fails(hub_kill(t, 1.0), EPERM);
        ck_assert_fails(hub_join(t, 1.0), EPERM);
        ck_assert_fails(hub_joinall(&t, 1, 1.0), EPERM);
        ck_assert_fails(hub_task_free(t), EPERM);
        hub_detach(t); /* ignored */
        ck_assert(!hub_task_dead(t));
    }
    pthread_barrier_wait(&foreign_barrier);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(foreign_result, 1);
    pthread_barrier_destroy(&foreign_barrier);
    hub_shutdown();
}
END_TEST

/* ---- a task that cannot get a stack ----
 *
 * This definition of mmap takes the place of libc's in this program (as
 * clock_gettime's does above): while `fail_big_maps` is set, mappings of
 * a megabyte or more fail with ENOMEM, as when the address space or the
 * kernel's mapping count runs out. The greenlets below ask for 2 MiB
 * stacks (default-size stacks could come from the stack pool instead). */
static bool fail_big_maps;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (fail_big_maps && len >= (1u << 20)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static hub_task *spawn_big(hub_fn fn, void *arg, bool detached)
{
    hub_spawn_opts o = {.stack_size = 2u << 20, .name = "big",
                        .detached = detached};
    return hub_spawn_with(fn, arg, &o);
}

/* Loud either way the greenlet layer takes stacks: hub_spawn fails with
 * ENOMEM (stacks taken when the greenlet is made), or the task never runs
 * and hub_join / hub_joinall report ENOMEM (stacks taken at the first
 * switch). Never a task that silently did not run while join says 0. */
START_TEST(a_task_without_a_stack_fails_loudly)
{
    /* One task first, so that the hub and its slabs (2 MiB chunks, taken
     * at the first task: slab.h) are there before big mappings fail. */
    hub_task *warm = spawn_big(yield_twice, P(0), false);
    ck_assert_ptr_nonnull(warm);
    ck_assert_int_eq(hub_join(warm, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_task_free(warm), 0);
    log_reset();
    fail_big_maps = true;
    errno = 0;
    hub_task *t = spawn_big(yield_twice, P(1), false);
    ck_assert(t != NULL || errno == ENOMEM);
    hub_task *ok = spawn_ok(yield_twice, P(2)); /* default size: fine */
    if (t) {
        hub_task *ts[] = {t, ok};
        errno = 0; /* reports t's failure, after joining ok too */
        ck_assert_int_eq(hub_joinall(ts, 2, HUB_FOREVER), -1);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert(hub_task_dead(ok));
        ck_assert_int_eq(hub_task_error(ok), 0);
        ck_assert_fails(hub_join(t, HUB_FOREVER), ENOMEM);
        ck_assert_int_eq(hub_task_error(t), ENOMEM);
        ck_assert(hub_task_dead(t));
        ck_assert(!hub_task_killed(t));
        ck_assert_int_eq(hub_task_free(t), 0);
    } else {
        ck_assert_int_eq(hub_join(ok, HUB_FOREVER), 0);
    }
    ck_assert_log(20, 21, 22); /* only the one with a stack ran */
    ck_assert_int_eq(hub_task_free(ok), 0);
    /* a detached one: NULL, or nobody joins it and the hub says it on
     * stderr */
    errno = 0;
    ck_assert(spawn_big(yield_twice, P(3), true) != NULL || errno == ENOMEM);
    ck_assert_int_eq(hub_run(), 0);
    ck_assert_log(20, 21, 22);
    fail_big_maps = false;
    t = spawn_big(yield_twice, P(4), false); /* stacks are back */
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_task_error(t), 0);
    ck_assert_int_eq(hub_task_free(t), 0);
    ck_assert_log(20, 21, 22, 40, 41, 42);
    ck_assert_ptr_nonnull(strstr(hub_strerror(ENOMEM), "stack"));
    hub_shutdown();
}
END_TEST

/* hub_fd_drained / hub_fd_maybe_ready: after EAGAIN the hub knows, under
 * epoll, that there is nothing to read until a new edge comes; under poll
 * and select it does not know, and says "maybe". */
static void drained_until_the_next_edge(const char *backend)
{
    char c;
    bool edges = strcmp(backend, "epoll") == 0;
    nonblocking_pipe(pipe_fds);
    ck_assert(hub_fd_maybe_ready(pipe_fds[0], HUB_READ)); /* nothing known */
    ck_assert_int_eq(read(pipe_fds[0], &c, 1), -1);
    ck_assert_int_eq(errno, EAGAIN);
    hub_fd_drained(pipe_fds[0], HUB_READ);
    ck_assert_int_eq(hub_fd_maybe_ready(pipe_fds[0], HUB_READ), !edges);
    ck_assert(hub_fd_maybe_ready(pipe_fds[0], HUB_WRITE)); /* other way */
    ck_assert_fails(hub_wait_fd(pipe_fds[0], HUB_READ, 0.01), ETIMEDOUT);
    ck_assert_int_eq(hub_fd_maybe_ready(pipe_fds[0], HUB_READ), !edges);
    ck_assert_int_eq(write(pipe_fds[1], "e", 1), 1);
    ck_assert_int_eq(hub_wait_fd(pipe_fds[0], HUB_READ, 5.0), 0);
    ck_assert(hub_fd_maybe_ready(pipe_fds[0], HUB_READ)); /* the edge came */
    ck_assert_int_eq(read(pipe_fds[0], &c, 1), 1);
    hub_fd_drained(pipe_fds[0], HUB_READ);
    hub_fd_forget(pipe_fds[0]); /* forgetting forgets the hint too */
    ck_assert(hub_fd_maybe_ready(pipe_fds[0], HUB_READ));
    close_pipe(pipe_fds);
}

START_TEST(fd_drained_until_the_next_edge)
{
    on_each_backend(drained_until_the_next_edge);
}
END_TEST

static Suite *hub_suite(void)
{
    Suite *s = suite_create("hub");

    TCase *order = tcase_create("order");
    tcase_set_timeout(order, 60);
    tcase_add_test(order, ready_greenlets_run_in_spawn_order);
    tcase_add_test(order, sleep0_in_main_runs_every_ready_greenlet_once);
    tcase_add_test(order, woken_together_run_in_wait_order);
    tcase_add_test(order, timers_fire_by_deadline_list_and_heap);
    tcase_add_test(order, equal_deadlines_fire_in_the_order_set);
    tcase_add_test(order, many_timers_with_ties_and_removals);
    tcase_add_test(order, spawn_later_starts_in_deadline_order);
    tcase_add_test(order, sleeps_overlap);
    suite_add_tcase(s, order);

    TCase *join = tcase_create("join and kill");
    tcase_set_timeout(join, 60);
    tcase_add_test(join, join_returns_and_result_is_kept);
    tcase_add_test(join, join_timeout_then_the_task_still_finishes);
    tcase_add_test(join, join_on_itself_is_edeadlk);
    tcase_add_test(join, main_waiting_on_a_deadlock_gets_edeadlk);
    tcase_add_test(join, blocking_inside_an_event_callback_is_eperm);
    tcase_add_test(join, blocking_in_a_foreign_greenlet_is_eperm);
    tcase_add_test(join, kill_a_sleeping_task);
    tcase_add_test(join, kill_before_start_never_runs);
    tcase_add_test(join, detached_tasks_are_freed_by_the_hub);
    tcase_add_test(join, hub_run_returns_when_nothing_is_left);
    tcase_add_test(join, strerror_words);
    suite_add_tcase(s, join);

    TCase *io = tcase_create("fds, Event, Queue");
    tcase_set_timeout(io, 60);
    tcase_add_test(io, wait_fd_reader_wakes_when_written);
    tcase_add_test(io, wait_fd_timeout_busy_and_forget);
    tcase_add_test(io, shutdown_with_a_greenlet_waiting_on_an_fd);
    tcase_add_test(io, event_set_clear_wait);
    tcase_add_test(io, queue_blocks_the_greenlet_not_the_thread);
    tcase_add_test(io, kill_a_yielding_loop);
    tcase_add_test(io, killed_waiters_are_unlinked);
    tcase_add_test(io, freeing_what_they_wait_on_wakes_with_ebadf);
    suite_add_tcase(s, io);

    TCase *scale = tcase_create("shared stacks, threads, backends");
    tcase_set_timeout(scale, 180); /* generous for valgrind and SAN=1 */
    tcase_add_test(scale, ten_thousand_shared_stack_greenlets);
    tcase_add_test(scale, killed_shared_stack_sleepers_get_ecanceled);
    tcase_add_test(scale, each_thread_has_its_own_hub);
    tcase_add_test(scale, poll_and_select_backends);
    tcase_add_test(scale, unknown_backend_and_too_late);
    suite_add_tcase(s, scale);

    TCase *rel = tcase_create("reliability (issue 11)");
    tcase_set_timeout(rel, 60);
    tcase_add_test(rel, nan_and_nonsense_times_are_einval);
    tcase_add_test(rel, wait_fd_on_a_closed_fd_is_ebadf);
    tcase_add_test(rel, ready_io_wins_over_an_expired_timeout);
    tcase_add_test(rel, select_refuses_fds_past_fd_setsize);
    tcase_add_test(rel, calls_about_another_threads_task_are_eperm);
    tcase_add_test(rel, a_task_without_a_stack_fails_loudly);
    tcase_add_test(rel, fd_drained_until_the_next_edge);
    suite_add_tcase(s, rel);
    return s;
}

CL_TEST_MAIN(hub_suite)
