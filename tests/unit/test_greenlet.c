/*
 * test_greenlet.c - layer 1 follows Python greenlet's rules: what the first
 * switch does, where return values and switches to dead greenlets go,
 * parents, threads, freeing, and the shared-stack (copying) greenlets
 * keeping every suspended greenlet's frames intact.
 *
 * Assertions are made in main where possible: with CK_FORK=no (valgrind)
 * a failing check longjmps, which must not happen from a greenlet's stack.
 */
#include "testutil.h"
#include "greenlet.h"

#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define P(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static char stop_token;
#define STOP ((void *)&stop_token)

static const greenlet_opts shared_opts = {.stack_kind = GREENLET_STACK_SHARED};

/* ---- the first switch, return values, values both ways ---- */

static void *seen_arg, *seen_value;
static greenlet *seen_current;

static void *double_it(void *arg, void *value)
{
    seen_arg = arg;
    seen_value = value;
    seen_current = greenlet_current();
    return P(N(value) * 2);
}

START_TEST(first_switch_calls_run_with_arg_and_value)
{
    int marker;
    greenlet *m = greenlet_main();
    ck_assert_ptr_eq(greenlet_current(), m);
    greenlet *g = greenlet_new(double_it, &marker, NULL);
    ck_assert_ptr_nonnull(g);
    ck_assert(!greenlet_started(g));
    ck_assert(!greenlet_dead(g));
    ck_assert_ptr_eq(greenlet_parent(g), m);

    void *r = greenlet_switch(g, P(21));
    ck_assert_ptr_eq(seen_arg, &marker);
    ck_assert_ptr_eq(seen_value, P(21));
    ck_assert_ptr_eq(seen_current, g);
    ck_assert_ptr_eq(r, P(42)); /* its return value came to its parent */
    ck_assert(greenlet_dead(g));
    ck_assert(greenlet_started(g));
    ck_assert_ptr_eq(greenlet_result(g), P(42));
    ck_assert_ptr_eq(greenlet_current(), m);
    ck_assert_int_eq(greenlet_free(g), 0);
}
END_TEST

static void *echo_plus_one(void *arg, void *value)
{
    greenlet *m = arg;
    while (value != STOP)
        value = greenlet_switch(m, P(N(value) + 1));
    return P(7);
}

START_TEST(values_pass_both_ways)
{
    greenlet *g = greenlet_new(echo_plus_one, greenlet_main(), NULL);
    for (uintptr_t i = 0; i < 1000; i++)
        ck_assert_ptr_eq(greenlet_switch(g, P(i)), P(i + 1));
    ck_assert(!greenlet_dead(g));
    ck_assert_ptr_eq(greenlet_switch(g, STOP), P(7));
    ck_assert(greenlet_dead(g));
    greenlet_free(g);
}
END_TEST

START_TEST(switch_to_self_returns_the_value)
{
    ck_assert_ptr_eq(greenlet_switch(greenlet_current(), P(5)), P(5));
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());
}
END_TEST

/* A child's return value starts its parent if the parent never ran. */
static void *parent_saw;

static void *plus_one_record(void *arg, void *value)
{
    (void)arg;
    parent_saw = value;
    return P(N(value) + 1);
}

static void *times_ten(void *arg, void *value)
{
    (void)arg;
    return P(N(value) * 10);
}

START_TEST(return_starts_an_unstarted_parent)
{
    greenlet *p = greenlet_new(plus_one_record, NULL, NULL);
    greenlet *c = greenlet_new(times_ten, NULL, p);
    ck_assert_ptr_eq(greenlet_parent(c), p);
    void *r = greenlet_switch(c, P(3));
    ck_assert_ptr_eq(parent_saw, P(30)); /* p.run(30) */
    ck_assert_ptr_eq(r, P(31));          /* and p's result came to main */
    ck_assert(greenlet_dead(c) && greenlet_dead(p));
    greenlet_free(c);
    greenlet_free(p);
}
END_TEST

/* ---- dead greenlets and the parent chain ---- */

/* Records every value it is switched with, then hands it to main. */
#define LOG_MAX 16
struct logger {
    void *got[LOG_MAX];
    int n;
};

static void *log_run(void *arg, void *value)
{
    struct logger *lg = arg;
    for (;;) {
        if (value == STOP)
            return P(99);
        if (lg->n < LOG_MAX)
            lg->got[lg->n++] = value;
        value = greenlet_switch(greenlet_main(), value);
    }
}

static void *return_value(void *arg, void *value)
{
    (void)value;
    return arg;
}

static void *bounce_then_return(void *arg, void *value)
{
    (void)value;
    greenlet_switch(greenlet_main(), P(1)); /* suspended until resumed */
    return arg;
}

START_TEST(switch_to_dead_goes_to_parent)
{
    struct logger lg = {0};
    greenlet *p = greenlet_new(log_run, &lg, NULL);
    greenlet *g = greenlet_new(return_value, P(11), p);
    greenlet *lone = greenlet_new(return_value, P(3), NULL);

    /* parent is main: switching to the dead one just returns the value */
    ck_assert_ptr_eq(greenlet_switch(lone, NULL), P(3));
    ck_assert_ptr_eq(greenlet_switch(lone, P(8)), P(8));
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());

    ck_assert_ptr_eq(greenlet_switch(p, P(1)), P(1)); /* p logs 1 */
    ck_assert_ptr_eq(greenlet_switch(g, NULL), P(11)); /* g dies into p */
    ck_assert(greenlet_dead(g));
    ck_assert_ptr_eq(greenlet_switch(g, P(12)), P(12)); /* dead: p gets it */
    ck_assert_int_eq(lg.n, 3);
    ck_assert_ptr_eq(lg.got[0], P(1));
    ck_assert_ptr_eq(lg.got[1], P(11));
    ck_assert_ptr_eq(lg.got[2], P(12));
    ck_assert_ptr_eq(greenlet_switch(p, STOP), P(99));
    greenlet_free(g);
    greenlet_free(p);
    greenlet_free(lone);
}
END_TEST

START_TEST(parent_chain_skips_dead_parents)
{
    struct logger lg = {0};
    greenlet *a = greenlet_new(log_run, &lg, NULL);
    greenlet *b = greenlet_new(return_value, P(20), a);
    greenlet *c = greenlet_new(bounce_then_return, P(30), b);

    ck_assert_ptr_eq(greenlet_switch(a, P(10)), P(10)); /* a waits */
    ck_assert_ptr_eq(greenlet_switch(c, NULL), P(1));   /* c waits */
    ck_assert_ptr_eq(greenlet_switch(b, NULL), P(20));  /* b dies into a */
    ck_assert(greenlet_dead(b));
    /* c's parent b is dead: its return goes to b's parent, a */
    ck_assert_ptr_eq(greenlet_switch(c, NULL), P(30));
    ck_assert(greenlet_dead(c));
    ck_assert_int_eq(lg.n, 3);
    ck_assert_ptr_eq(lg.got[1], P(20));
    ck_assert_ptr_eq(lg.got[2], P(30));

    /* once a is dead too, the chain ends at main */
    ck_assert_ptr_eq(greenlet_switch(a, STOP), P(99));
    greenlet *d = greenlet_new(return_value, P(40), c); /* c -> b -> a -> main */
    ck_assert_ptr_eq(greenlet_switch(d, NULL), P(40));
    ck_assert_ptr_eq(greenlet_switch(c, P(41)), P(41)); /* dead all the way */
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());
    greenlet_free(a);
    greenlet_free(b);
    greenlet_free(c);
    greenlet_free(d);
}
END_TEST

START_TEST(set_parent_rejects_cycles)
{
    struct logger lg = {0};
    greenlet *m = greenlet_main();
    greenlet *a = greenlet_new(log_run, &lg, NULL);
    greenlet *b = greenlet_new(return_value, P(5), a);
    greenlet *c = greenlet_new(return_value, P(6), b);

    errno = 0;
    ck_assert_int_eq(greenlet_set_parent(a, c), -1); /* a <- b <- c <- a */
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(greenlet_set_parent(a, a), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(greenlet_set_parent(m, a), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(greenlet_set_parent(a, NULL), -1);
    ck_assert_ptr_eq(greenlet_parent(a), m); /* failures changed nothing */
    ck_assert_ptr_eq(greenlet_parent(m), m);

    /* a legal re-parent takes effect: c's return now goes to a */
    ck_assert_int_eq(greenlet_set_parent(c, a), 0);
    ck_assert_ptr_eq(greenlet_parent(c), a);
    ck_assert_ptr_eq(greenlet_switch(a, P(1)), P(1));
    ck_assert_ptr_eq(greenlet_switch(c, NULL), P(6));
    ck_assert_int_eq(lg.n, 2);
    ck_assert_ptr_eq(lg.got[1], P(6));
    ck_assert(!greenlet_started(b));
    ck_assert_ptr_eq(greenlet_switch(a, STOP), P(99));
    greenlet_free(a);
    greenlet_free(b);
    greenlet_free(c);
}
END_TEST

/* ---- freeing, names, hook, errors ---- */

static int free_self_rc, free_self_errno;

static void *free_self(void *arg, void *value)
{
    (void)arg, (void)value;
    errno = 0;
    free_self_rc = greenlet_free(greenlet_current());
    free_self_errno = errno;
    greenlet_switch(greenlet_main(), NULL);
    return NULL;
}

/* The argument and the result share a field: the result of a greenlet
 * that has not returned (not started, suspended, or freed before it
 * returned) is NULL, never its argument. */
static void *back_to_main_then_double(void *arg, void *value)
{
    (void)value;
    greenlet_switch(greenlet_main(), NULL);
    return P(N(arg) * 2);
}

START_TEST(result_is_null_until_run_returns)
{
    greenlet a, b;
    ck_assert_int_eq(greenlet_init(&a, back_to_main_then_double, P(21), NULL, NULL), 0);
    ck_assert_int_eq(greenlet_init(&b, back_to_main_then_double, P(5), NULL, NULL), 0);
    ck_assert_ptr_null(greenlet_result(&a)); /* not started */
    greenlet_switch(&a, NULL);
    ck_assert_ptr_null(greenlet_result(&a)); /* suspended */
    greenlet_switch(&a, NULL);
    ck_assert(greenlet_dead(&a));
    ck_assert_ptr_eq(greenlet_result(&a), P(42));
    greenlet_switch(&b, NULL);
    ck_assert_int_eq(greenlet_free(&b), 0); /* freed while suspended */
    ck_assert(greenlet_dead(&b));
    ck_assert_ptr_null(greenlet_result(&b));
    ck_assert_int_eq(greenlet_free(&a), 0);
    ck_assert_ptr_eq(greenlet_result(&a), P(42)); /* kept */
}
END_TEST

START_TEST(free_rules)
{
    greenlet *running = greenlet_new(free_self, NULL, NULL);
    greenlet *fresh = greenlet_new(return_value, NULL, NULL);
    greenlet *done = greenlet_new(return_value, NULL, NULL);
    greenlet *susp = greenlet_new_opts(free_self, NULL, NULL, &shared_opts);

    greenlet_switch(running, NULL);
    ck_assert_int_eq(free_self_rc, -1); /* the running greenlet: EBUSY */
    ck_assert_int_eq(free_self_errno, EBUSY);
    errno = 0;
    ck_assert_int_eq(greenlet_free(greenlet_main()), -1);
    ck_assert_int_eq(errno, EBUSY);
    greenlet_switch(done, NULL);
    greenlet_switch(susp, NULL);
    /* fresh, suspended (both stack kinds) and dead ones all free */
    ck_assert_int_eq(greenlet_free(fresh), 0);
    ck_assert_int_eq(greenlet_free(running), 0);
    ck_assert_int_eq(greenlet_free(susp), 0);
    ck_assert_int_eq(greenlet_free(done), 0);
    ck_assert_int_eq(greenlet_free(NULL), 0);
    /* the shared stack is usable after its owner was freed mid-run */
    greenlet *next = greenlet_new_opts(double_it, NULL, NULL, &shared_opts);
    ck_assert_ptr_eq(greenlet_switch(next, P(4)), P(8));
    greenlet_free(next);
}
END_TEST

START_TEST(names)
{
    char buf[64], want[64];
    static const greenlet_opts named = {.name = "worker-1"};
    greenlet *a = greenlet_new_opts(return_value, NULL, NULL, &named);
    greenlet *b = greenlet_new(return_value, NULL, NULL);
    greenlet *c = greenlet_new(return_value, NULL, NULL);
    ck_assert_str_eq(greenlet_name(a, buf, sizeof buf), "worker-1");
    ck_assert_str_eq(greenlet_name(greenlet_main(), buf, sizeof buf), "main");
    /* unnamed ones are numbered in the order they were made */
    ck_assert_uint_eq(c->id, b->id + 1);
    snprintf(want, sizeof want, "greenlet-%u", b->id);
    ck_assert_str_eq(greenlet_name(b, buf, sizeof buf), want);
    greenlet_set_name(b, "later");
    ck_assert_str_eq(greenlet_name(b, buf, sizeof buf), "later");
    ck_assert_int_eq(greenlet_set_name(b, NULL), 0);
    ck_assert_str_eq(greenlet_name(b, buf, sizeof buf), want);
    greenlet_free(a);
    greenlet_free(b);
    greenlet_free(c);
}
END_TEST

/* A greenlet owns its name: the caller's buffer may be freed at once
 * (lesson 06 names a connection's greenlet from a record it frees). Under
 * SAN=1 the old code's read is a heap-use-after-free; without it, the
 * scribble shows. */
START_TEST(names_are_copied)
{
    char buf[64];
    char *name = strdup("conn-7");
    greenlet_opts opts = {.name = name};
    greenlet *g = greenlet_new_opts(return_value, NULL, NULL, &opts);
    ck_assert_ptr_nonnull(g);
    memset(name, 'x', strlen(name));
    free(name);
    ck_assert_str_eq(greenlet_name(g, buf, sizeof buf), "conn-7");
    name = strdup("conn-8");
    ck_assert_int_eq(greenlet_set_name(g, name), 0);
    memset(name, 'y', strlen(name));
    free(name);
    ck_assert_str_eq(greenlet_name(g, buf, sizeof buf), "conn-8");
    /* embedded ones too */
    greenlet e;
    name = strdup("task-3");
    opts.name = name;
    ck_assert_int_eq(greenlet_init(&e, return_value, NULL, NULL, &opts), 0);
    free(name);
    ck_assert_str_eq(greenlet_name(&e, buf, sizeof buf), "task-3");
    greenlet_free(&e);
    greenlet_free(g);
}
END_TEST

static int hook_calls;
static greenlet *hook_from, *hook_to;

static void count_hook(greenlet *from, greenlet *to)
{
    hook_calls++;
    hook_from = from;
    hook_to = to;
}

START_TEST(switch_hook_sees_every_switch)
{
    greenlet *g = greenlet_new(echo_plus_one, greenlet_main(), NULL);
    greenlet *s = greenlet_new_opts(echo_plus_one, greenlet_main(), NULL,
                                    &shared_opts);
    hook_calls = 0;
    greenlet_set_switch_hook(count_hook);
    greenlet_switch(g, P(1));
    ck_assert_int_eq(hook_calls, 2);
    ck_assert_ptr_eq(hook_from, g);
    ck_assert_ptr_eq(hook_to, greenlet_main());
    greenlet_switch(s, P(1));
    ck_assert_int_eq(hook_calls, 4);
    ck_assert_ptr_eq(hook_from, s);
    greenlet_set_switch_hook(NULL);
    greenlet_switch(g, STOP);
    greenlet_switch(s, STOP);
    ck_assert_int_eq(hook_calls, 4);
    greenlet_free(g);
    greenlet_free(s);
}
END_TEST

/* Running out of stacks is said when the greenlet is made, not found out
 * at its first switch (where the hub used to end it silently). */
START_TEST(no_stack_fails_greenlet_new)
{
    greenlet_opts huge = {.stack_size = (size_t)1 << 62, .name = "huge"};
    greenlet emb;
    errno = 0;
    ck_assert_ptr_null(greenlet_new_opts(double_it, NULL, NULL, &huge));
    ck_assert_int_eq(errno, ENOMEM);
    /* embedded: made but never startable, and freeable */
    errno = 0;
    ck_assert_int_eq(greenlet_init(&emb, double_it, NULL, NULL, &huge), -1);
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_eq(greenlet_switch(&emb, P(1)), GREENLET_ERROR);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert(!greenlet_started(&emb)); /* nothing happened */
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());
    ck_assert_int_eq(greenlet_free(&emb), 0);
    /* and the next one is fine */
    greenlet *g = greenlet_new(double_it, NULL, NULL);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_eq(greenlet_switch(g, P(2)), P(4));
    greenlet_free(g);
}
END_TEST

/* ---- freeing a parent ---- */

static greenlet *orphan;

/* Makes a child (its parent: us), runs it until it suspends in main. */
static void *make_child_then_wait(void *arg, void *value)
{
    (void)arg, (void)value;
    orphan = greenlet_new(echo_plus_one, greenlet_main(), NULL);
    greenlet_switch(orphan, P(1)); /* it switches to main, not back here */
    return P(99); /* never reached: freed while suspended */
}

/* Python's rule when a parent dies, kept when it is freed: the child's
 * result goes to the nearest living ancestor. Under SAN=1 this is where
 * the old code read the freed parent. */
START_TEST(freeing_a_parent_hands_children_up)
{
    greenlet *parent = greenlet_new(make_child_then_wait, NULL, NULL);
    ck_assert_ptr_eq(greenlet_switch(parent, NULL), P(2)); /* orphan's 1+1 */
    ck_assert_ptr_eq(greenlet_parent(orphan), parent);
    ck_assert_int_eq(greenlet_free(parent), 0); /* suspended, with a child */
    ck_assert_ptr_eq(greenlet_parent(orphan), greenlet_main());
    ck_assert_ptr_eq(greenlet_switch(orphan, P(5)), P(6));
    /* the child ends: its result comes to main, past the freed parent */
    ck_assert_ptr_eq(greenlet_switch(orphan, STOP), P(7));
    ck_assert(greenlet_dead(orphan));
    ck_assert_int_eq(greenlet_free(orphan), 0); /* and the parent's record */
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());
}
END_TEST

/* An embedded greenlet's record is its caller's: it cannot be kept for its
 * children, so freeing it fails until they are gone or moved. */
START_TEST(embedded_parent_with_children_is_busy)
{
    greenlet parent;
    ck_assert_int_eq(greenlet_init(&parent, return_value, NULL, NULL, NULL), 0);
    greenlet *a = greenlet_new(return_value, P(1), &parent);
    greenlet *b = greenlet_new(return_value, P(2), &parent);
    errno = 0;
    ck_assert_int_eq(greenlet_free(&parent), -1);
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_int_eq(greenlet_free(a), 0);
    ck_assert_int_eq(greenlet_set_parent(b, greenlet_main()), 0);
    ck_assert_int_eq(greenlet_free(&parent), 0);
    ck_assert_int_eq(greenlet_free(&parent), 0); /* twice is harmless */
    ck_assert_ptr_eq(greenlet_switch(b, NULL), P(2)); /* to main now */
    greenlet_free(b);
}
END_TEST

/* ---- threads ---- */

struct thread_case {
    greenlet *other_main;  /* main thread's main greenlet */
    greenlet *own_main, *own_current;
    void *switch_result;
    int foreign_errno;
    void *foreign_result;
    greenlet *fresh, *suspended; /* made by the thread, for main to poke */
    int free_result, free_errno;
    pthread_barrier_t made, poked;
};

static void *thread_uses_greenlets(void *p)
{
    struct thread_case *tc = p;
    tc->own_main = greenlet_main();
    tc->own_current = greenlet_current();
    greenlet *g = greenlet_new(double_it, NULL, NULL);
    tc->switch_result = greenlet_switch(g, P(50));
    greenlet_free(g);
    /* a greenlet of the main thread cannot be entered from here */
    errno = 0;
    tc->foreign_result = greenlet_switch(tc->other_main, NULL);
    tc->foreign_errno = errno;
    return NULL;
}

START_TEST(each_thread_has_its_own_main)
{
    struct thread_case tc = {.other_main = greenlet_main()};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, thread_uses_greenlets, &tc), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_ptr_nonnull(tc.own_main);
    ck_assert_ptr_ne(tc.own_main, greenlet_main());
    ck_assert_ptr_eq(tc.own_current, tc.own_main);
    ck_assert_ptr_eq(tc.switch_result, P(100));
    ck_assert_ptr_eq(tc.foreign_result, GREENLET_ERROR);
    ck_assert_int_eq(tc.foreign_errno, EPERM);
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());
}
END_TEST

static void *thread_offers_greenlets(void *p)
{
    struct thread_case *tc = p;
    tc->fresh = greenlet_new(double_it, NULL, NULL);
    tc->suspended = greenlet_new(echo_plus_one, greenlet_main(), NULL);
    greenlet_switch(tc->suspended, P(1));
    pthread_barrier_wait(&tc->made);
    pthread_barrier_wait(&tc->poked); /* main tries to use them meanwhile */
    /* still intact and usable here */
    tc->switch_result = greenlet_switch(tc->suspended, P(9));
    greenlet_switch(tc->suspended, STOP);
    tc->own_current = greenlet_started(tc->fresh) ? NULL : greenlet_current();
    greenlet_free(tc->fresh);
    greenlet_free(tc->suspended);
    return NULL;
}

START_TEST(other_threads_greenlets_are_off_limits)
{
    struct thread_case tc = {0};
    pthread_t th;
    greenlet *mine = greenlet_new(return_value, NULL, NULL);
    pthread_barrier_init(&tc.made, NULL, 2);
    pthread_barrier_init(&tc.poked, NULL, 2);
    ck_assert_int_eq(pthread_create(&th, NULL, thread_offers_greenlets, &tc), 0);
    pthread_barrier_wait(&tc.made);

    errno = 0;
    void *r1 = greenlet_switch(tc.fresh, P(1));
    int e1 = errno;
    errno = 0;
    void *r2 = greenlet_switch(tc.suspended, P(1));
    int e2 = errno;
    errno = 0;
    int r3 = greenlet_set_parent(mine, tc.suspended);
    int e3 = errno;
    errno = 0;
    int r4 = greenlet_set_parent(tc.fresh, greenlet_main());
    int e4 = errno;
    errno = 0;
    greenlet *r5 = greenlet_new(double_it, NULL, tc.suspended);
    int e5 = errno;
    errno = 0;
    int r6 = greenlet_free(tc.fresh);
    int e6 = errno;
    errno = 0;
    int r7 = greenlet_free(tc.suspended);
    int e7 = errno;
    pthread_barrier_wait(&tc.poked);
    ck_assert_int_eq(pthread_join(th, NULL), 0);

    ck_assert_ptr_eq(r1, GREENLET_ERROR);
    ck_assert_int_eq(e1, EPERM);
    ck_assert_ptr_eq(r2, GREENLET_ERROR);
    ck_assert_int_eq(e2, EPERM);
    ck_assert_int_eq(r3, -1);
    ck_assert_int_eq(e3, EPERM);
    ck_assert_int_eq(r4, -1);
    ck_assert_int_eq(e4, EPERM);
    ck_assert_ptr_null(r5);
    ck_assert_int_eq(e5, EPERM);
    ck_assert_int_eq(r6, -1); /* frees are refused too, not done */
    ck_assert_int_eq(e6, EPERM);
    ck_assert_int_eq(r7, -1);
    ck_assert_int_eq(e7, EPERM);
    ck_assert_ptr_eq(tc.switch_result, P(10)); /* the thread's own use worked */
    ck_assert_ptr_nonnull(tc.own_current);
    ck_assert_ptr_eq(greenlet_current(), greenlet_main());
    ck_assert_ptr_eq(greenlet_parent(mine), greenlet_main());
    greenlet_free(mine);
    pthread_barrier_destroy(&tc.made);
    pthread_barrier_destroy(&tc.poked);
}
END_TEST

/* A thread that never touched greenlets gets EPERM too, not a crash. */
static void *thread_never_used_greenlets(void *p)
{
    struct thread_case *tc = p;
    errno = 0;
    tc->foreign_result = greenlet_switch(tc->other_main, NULL);
    tc->foreign_errno = errno;
    errno = 0;
    tc->free_result = greenlet_free(tc->other_main);
    tc->free_errno = errno;
    return NULL;
}

START_TEST(fresh_thread_switching_in_gets_eperm)
{
    struct thread_case tc = {.other_main = greenlet_new(double_it, NULL, NULL)};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, thread_never_used_greenlets, &tc), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_ptr_eq(tc.foreign_result, GREENLET_ERROR);
    ck_assert_int_eq(tc.foreign_errno, EPERM);
    ck_assert_int_eq(tc.free_result, -1);
    ck_assert_int_eq(tc.free_errno, EPERM);
    ck_assert(!greenlet_started(tc.other_main));
    greenlet_free(tc.other_main);
}
END_TEST

/* ---- shared-stack greenlets keep their frames ---- */

#define LOCALS 48

/* The contents a greenlet's local array should hold after `step` changes. */
static uint64_t fill(uint64_t id, int i)
{
    uint64_t x = id * 0x9e3779b97f4a7c15ULL + (uint64_t)i * 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

struct keeper {
    int id;
    int resumed;
    int errors;
    greenlet *g;
    greenlet *next;  /* ring tests: whom to hand the token to */
};

/* Keep the compiler from keeping the array in registers or dropping it. */
#define TOUCH(p) __asm__ volatile("" : : "r"(p) : "memory")

static uint64_t sum_of(const uint64_t *a)
{
    uint64_t s = 0;
    for (int i = 0; i < LOCALS; i++)
        s = s * 31 + a[i];
    return s;
}

/* Suspends to main until told to STOP, checking its locals each time it
 * wakes up and changing one of them (so writes must survive too). */
static void *keeper_run(void *arg, void *value)
{
    struct keeper *k = arg;
    uint64_t local[LOCALS];
    (void)value;
    for (int i = 0; i < LOCALS; i++)
        local[i] = fill((uint64_t)k->id, i);
    uint64_t want = sum_of(local);
    TOUCH(local);
    while (greenlet_switch(greenlet_main(), k) != STOP) {
        TOUCH(local);
        if (sum_of(local) != want)
            k->errors++;
        k->resumed++;
        local[k->resumed % LOCALS] += 1;
        want = sum_of(local);
    }
    TOUCH(local);
    return P(want & 0xffffffff);
}

static uint64_t keeper_final(int id, int resumed)
{
    uint64_t local[LOCALS];
    for (int i = 0; i < LOCALS; i++)
        local[i] = fill((uint64_t)id, i);
    for (int r = 1; r <= resumed; r++)
        local[r % LOCALS] += 1;
    return sum_of(local) & 0xffffffff;
}

#define MANY_SHARED 10000
#define MANY_GUARDED 100
#define MANY_ROUNDS 3

START_TEST(many_shared_interleaved_with_guarded)
{
    const int n = MANY_SHARED + MANY_GUARDED;
    struct keeper *ks = calloc((size_t)n, sizeof *ks);
    ck_assert_ptr_nonnull(ks);
    /* every 101st greenlet is a guarded one, the rest share the stack */
    for (int i = 0; i < n; i++) {
        ks[i].id = i;
        ks[i].g = greenlet_new_opts(keeper_run, &ks[i], NULL,
                                    i % 101 == 0 ? NULL : &shared_opts);
        ck_assert_ptr_nonnull(ks[i].g);
    }
    int bad_returns = 0;
    for (int i = 0; i < n; i++) /* start them all */
        bad_returns += greenlet_switch(ks[i].g, NULL) != &ks[i];
    for (int r = 0; r < MANY_ROUNDS; r++) {
        /* a different order each round: 7919 is prime, so a permutation */
        for (int j = 0; j < n; j++) {
            int i = (int)(((long)j * 7919 + r * 13) % n);
            bad_returns += greenlet_switch(ks[i].g, NULL) != &ks[i];
        }
    }
    int errors = 0, wrong_resumed = 0, wrong_final = 0, alive = 0;
    for (int i = 0; i < n; i++) {
        void *res = greenlet_switch(ks[i].g, STOP);
        errors += ks[i].errors;
        wrong_resumed += ks[i].resumed != MANY_ROUNDS;
        wrong_final += N(res) != keeper_final(i, MANY_ROUNDS);
        alive += !greenlet_dead(ks[i].g);
        greenlet_free(ks[i].g);
    }
    free(ks);
    ck_assert_int_eq(bad_returns, 0);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(wrong_resumed, 0);
    ck_assert_int_eq(wrong_final, 0);
    ck_assert_int_eq(alive, 0);
}
END_TEST

/* A token goes round a ring of shared greenlets, each switching straight
 * to the next (shared -> shared: the stack is swapped on every hop). */
#define RING 500
#define RING_LAPS 4

static void *ring_run(void *arg, void *value)
{
    struct keeper *k = arg;
    uint64_t local[LOCALS];
    for (int i = 0; i < LOCALS; i++)
        local[i] = fill((uint64_t)k->id + 1000, i);
    uint64_t want = sum_of(local);
    TOUCH(local);
    for (;;) {
        uintptr_t token = N(value);
        TOUCH(local);
        if (sum_of(local) != want)
            k->errors++;
        k->resumed++;
        if (token == (uintptr_t)RING * RING_LAPS)
            value = greenlet_switch(greenlet_main(), P(token));
        else
            value = greenlet_switch(k->next, P(token + 1));
        if (value == STOP)
            return P(k->resumed);
    }
}

START_TEST(shared_to_shared_ring)
{
    static struct keeper ks[RING];
    memset(ks, 0, sizeof ks);
    for (int i = 0; i < RING; i++) {
        ks[i].id = i;
        ks[i].g = greenlet_new_opts(ring_run, &ks[i], NULL, &shared_opts);
    }
    for (int i = 0; i < RING; i++)
        ks[i].next = ks[(i + 1) % RING].g;
    void *r = greenlet_switch(ks[0].g, P(1));
    ck_assert_ptr_eq(r, P(RING * RING_LAPS));
    int errors = 0, wrong = 0;
    for (int i = 0; i < RING; i++) {
        errors += ks[i].errors;
        wrong += N(greenlet_switch(ks[i].g, STOP)) != RING_LAPS;
        greenlet_free(ks[i].g);
    }
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(wrong, 0);
}
END_TEST

/* Shared greenlets die in between others that stay suspended, including a
 * shared child dying into a suspended shared parent, and one dying into a
 * dead shared parent (so into the grandparent). */
static void *child_returns(void *arg, void *value)
{
    uint64_t local[LOCALS];
    for (int i = 0; i < LOCALS; i++)
        local[i] = fill(77, i);
    TOUCH(local);
    (void)value;
    return P(N(arg) + (sum_of(local) & 0xff));
}

START_TEST(shared_greenlets_die_while_others_wait)
{
    enum { K = 200 };
    static struct keeper ks[K];
    memset(ks, 0, sizeof ks);
    for (int i = 0; i < K; i++) {
        ks[i].id = i;
        ks[i].g = greenlet_new_opts(keeper_run, &ks[i], NULL, &shared_opts);
        greenlet_switch(ks[i].g, NULL);
    }
    /* the even ones end, one by one, between wake-ups of odd ones */
    int wrong_final = 0;
    for (int i = 0; i < K; i += 2) {
        wrong_final += N(greenlet_switch(ks[i].g, STOP)) != keeper_final(i, 0);
        greenlet_switch(ks[i + 1].g, NULL);
    }
    /* a shared child of a suspended shared keeper dies into it */
    greenlet *child = greenlet_new_opts(child_returns, P(1000), ks[1].g,
                                        &shared_opts);
    /* the child's return wakes keeper 1, which yields to main */
    ck_assert_ptr_eq(greenlet_switch(child, NULL), &ks[1]);
    ck_assert_int_eq(ks[1].resumed, 2);
    /* and one whose shared parent is dead goes on to the grandparent */
    greenlet *orphan = greenlet_new_opts(child_returns, P(2000), child,
                                         &shared_opts);
    ck_assert_int_eq(greenlet_set_parent(child, ks[3].g), 0);
    ck_assert_ptr_eq(greenlet_switch(orphan, NULL), &ks[3]);
    ck_assert_int_eq(ks[3].resumed, 2);

    int errors = 0;
    for (int i = 1; i < K; i += 2) {
        int want = i == 1 || i == 3 ? 2 : 1;
        wrong_final += N(greenlet_switch(ks[i].g, STOP)) != keeper_final(i, want);
        errors += ks[i].errors;
    }
    for (int i = 0; i < K; i++) {
        errors += !greenlet_dead(ks[i].g);
        greenlet_free(ks[i].g);
    }
    greenlet_free(child);
    greenlet_free(orphan);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(wrong_final, 0);
}
END_TEST

/* Direct hops across kinds: shared A -> guarded B -> shared C -> shared A,
 * each from a few frames deep, each checking its locals when resumed. */
static greenlet *hop_a, *hop_b, *hop_c;
static int hop_errors;

static __attribute__((noinline)) void hop_from_depth(int depth, greenlet *to,
                                                     uint64_t seed)
{
    uint64_t local[LOCALS];
    for (int i = 0; i < LOCALS; i++)
        local[i] = fill(seed + (uint64_t)depth, i);
    uint64_t want = sum_of(local);
    TOUCH(local);
    if (depth > 0)
        hop_from_depth(depth - 1, to, seed);
    else
        greenlet_switch(to, NULL);
    TOUCH(local);
    if (sum_of(local) != want)
        hop_errors++;
}

static void *hop_run(void *arg, void *value)
{
    (void)value;
    uintptr_t which = N(arg);
    greenlet *to = which == 0 ? hop_b : which == 1 ? hop_c : hop_a;
    hop_from_depth(10 + (int)which * 5, to, which * 100);
    if (which == 0) /* A, resumed by C, goes on round once more */
        hop_from_depth(3, hop_b, 7);
    return P(which);
}

START_TEST(shared_guarded_direct_hops)
{
    hop_errors = 0;
    hop_a = greenlet_new_opts(hop_run, P(0), NULL, &shared_opts);
    hop_b = greenlet_new(hop_run, P(1), NULL);
    hop_c = greenlet_new_opts(hop_run, P(2), NULL, &shared_opts);
    /* A->B->C->A->B(done)->main: B returns 1 to main */
    ck_assert_ptr_eq(greenlet_switch(hop_a, NULL), P(1));
    ck_assert(greenlet_dead(hop_b));
    ck_assert_ptr_eq(greenlet_switch(hop_c, NULL), P(2)); /* C ends */
    ck_assert_ptr_eq(greenlet_switch(hop_a, NULL), P(0)); /* A ends */
    ck_assert_int_eq(hop_errors, 0);
    greenlet_free(hop_a);
    greenlet_free(hop_b);
    greenlet_free(hop_c);
}
END_TEST

/* A GUARDED greenlet that dies returns into its SHARED parent, both when
 * the parent still holds the shared stack and when another SHARED greenlet
 * took it meanwhile: the parent's frames are intact, the value arrives,
 * and the dead one's stack has been released by the time the parent runs
 * (a SHARED greenlet does nothing on arrival: the restorer releases it). */
static greenlet *usurper;

static void *usurper_run(void *arg, void *value)
{
    (void)arg;
    greenlet_switch(value, NULL); /* back to the child that started us */
    return NULL;
}

static void *child_dies_into_shared(void *arg, void *value)
{
    if (arg) { /* let another SHARED greenlet take the stack first */
        usurper = greenlet_new_opts(usurper_run, NULL, NULL, &shared_opts);
        greenlet_switch(usurper, greenlet_current());
    }
    return P(N(value) + 1);
}

static void *shared_parent_run(void *arg, void *value)
{
    volatile uint64_t pad[8];
    uintptr_t errors = 0;
    (void)arg, (void)value;
    for (int i = 0; i < 8; i++)
        pad[i] = fill(7, i);
    for (int round = 0; round < 40; round++) {
        greenlet *c = greenlet_new(child_dies_into_shared, P(round % 2), NULL);
        if (!c || greenlet_switch(c, P(round)) != P(round + 1))
            errors++;
        if (!c || !greenlet_dead(c) || c->stack != NULL) /* released */
            errors++;
        greenlet_free(c);
        greenlet_free(usurper);
        usurper = NULL;
        for (int i = 0; i < 8; i++)
            if (pad[i] != fill(7, i))
                errors++;
    }
    return P(errors);
}

START_TEST(guarded_child_dies_into_shared_parent)
{
    greenlet *s = greenlet_new_opts(shared_parent_run, NULL, NULL, &shared_opts);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_eq(greenlet_switch(s, NULL), P(0));
    ck_assert(greenlet_dead(s));
    greenlet_free(s);
}
END_TEST

/* Deep frames on the shared stack: tens of KiB copied out and back. */
#define DEEP 150

static __attribute__((noinline)) uint64_t deep_run_rec(int depth, uint64_t seed,
                                                      int *errors)
{
    uint64_t pad[32];
    for (int i = 0; i < 32; i++)
        pad[i] = fill(seed, depth * 32 + i);
    TOUCH(pad);
    uint64_t below = 0;
    if (depth == 0)
        greenlet_switch(greenlet_main(), NULL);
    else
        below = deep_run_rec(depth - 1, seed, errors);
    TOUCH(pad);
    for (int i = 0; i < 32; i++)
        if (pad[i] != fill(seed, depth * 32 + i))
            (*errors)++;
    return below + pad[depth % 32];
}

static void *deep_run(void *arg, void *value)
{
    struct keeper *k = arg;
    (void)value;
    return P(deep_run_rec(DEEP, (uint64_t)k->id, &k->errors));
}

START_TEST(shared_deep_stacks_interleaved)
{
    enum { K = 8 };
    struct keeper ks[K];
    memset(ks, 0, sizeof ks);
    for (int i = 0; i < K; i++) {
        ks[i].id = i + 1;
        ks[i].g = greenlet_new_opts(deep_run, &ks[i], NULL, &shared_opts);
        greenlet_switch(ks[i].g, NULL); /* down to the bottom, suspended */
    }
    int errors = 0, wrong = 0;
    for (int i = K - 1; i >= 0; i--) {
        uint64_t want = 0;
        for (int d = 0; d <= DEEP; d++)
            want += fill((uint64_t)ks[i].id, d * 32 + d % 32);
        wrong += N(greenlet_switch(ks[i].g, NULL)) != (uintptr_t)want;
        errors += ks[i].errors;
        greenlet_free(ks[i].g);
    }
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(wrong, 0);
}
END_TEST

/* Each greenlet keeps its own rounding mode, across both kinds of stack
 * (shared -> shared switches go through the restorer context). */
static greenlet *fpu_gu, *fpu_gs, *fpu_gg;
static int fpu_log[16][2], fpu_n;

static void fpu_rec(int who)
{
    if (fpu_n < 16) {
        fpu_log[fpu_n][0] = who;
        fpu_log[fpu_n][1] = fegetround();
        fpu_n++;
    }
}

static void *fpu_up_run(void *arg, void *value) /* shared */
{
    (void)arg, (void)value;
    fesetround(FE_UPWARD);
    fpu_rec(1);
    greenlet_switch(greenlet_main(), NULL);
    fpu_rec(1);             /* resumed straight from gs */
    greenlet_switch(fpu_gs, NULL);
    fpu_rec(1);
    return NULL;
}

static void *fpu_plain_run(void *arg, void *value) /* shared, and guarded */
{
    (void)value;
    int who = (int)N(arg);
    fpu_rec(who);
    greenlet_switch(greenlet_main(), NULL);
    fpu_rec(who);
    if (who == 2) {
        greenlet_switch(fpu_gu, NULL); /* shared -> shared */
        fpu_rec(who);
    }
    return NULL;
}

START_TEST(fpu_mode_per_greenlet)
{
    fpu_n = 0;
    fpu_gu = greenlet_new_opts(fpu_up_run, NULL, NULL, &shared_opts);
    fpu_gs = greenlet_new_opts(fpu_plain_run, P(2), NULL, &shared_opts);
    fpu_gg = greenlet_new(fpu_plain_run, P(3), NULL);
    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    greenlet_switch(fpu_gu, NULL);
    fpu_rec(0);
    greenlet_switch(fpu_gs, NULL);
    fpu_rec(0);
    greenlet_switch(fpu_gg, NULL);
    fpu_rec(0);
    greenlet_switch(fpu_gs, NULL); /* gs -> gu -> gs -> (dies) main */
    fpu_rec(0);
    greenlet_switch(fpu_gu, NULL);
    fpu_rec(0);
    greenlet_switch(fpu_gg, NULL);
    fpu_rec(0);
    static const int order[] = {1, 0, 2, 0, 3, 0, 2, 1, 2, 0, 1, 0, 3, 0};
    ck_assert_int_eq(fpu_n, (int)(sizeof order / sizeof order[0]));
    for (int i = 0; i < fpu_n; i++) {
        ck_assert_int_eq(fpu_log[i][0], order[i]);
        ck_assert_msg(fpu_log[i][1] == (order[i] == 1 ? FE_UPWARD : FE_TONEAREST),
                      "step %d: greenlet %d has rounding mode %d", i, order[i],
                      fpu_log[i][1]);
    }
    greenlet_free(fpu_gu);
    greenlet_free(fpu_gs);
    greenlet_free(fpu_gg);
}
END_TEST

/* Many live values across greenlet_switch (inlined into its caller on
 * x86-64): the two sides run the same arithmetic with different seeds. */
static uint64_t live_across_switches(greenlet *other, uint64_t seed, int rounds)
{
    uint64_t a = seed * 3 + 1, b = seed ^ 0x5555, c = seed << 3, d = seed + 77;
    uint64_t e = ~seed, f = seed * seed, g = seed >> 2, h = seed * 1000003;
    uint64_t i = seed + 11, j = seed ^ 0xdeadbeef, k = seed * 7, l = seed + 5;
    double x = (double)seed * 0.5, y = (double)seed + 0.25, z = 1.0 / (double)(seed + 1);
    double u = (double)seed * 3.0, v = 2.0, w = (double)seed - 9.0;
    for (int r = 0; r < rounds; r++) {
        if (other)
            greenlet_switch(other, NULL);
        else
            __asm__ volatile("" ::: "memory");
        a += b; b ^= c + (uint64_t)r; c += d * 3; d ^= e >> 1;
        e += f; f ^= g << 1; g += h; h ^= i * 5;
        i += j; j ^= k + 1; k += l; l ^= a;
        x += y; y = y * 0.5 + z; z += u; u -= v * 0.25; v += w * 0.125; w = w * 0.75 + x;
    }
    double fsum = x + y + z + u + v + w;
    uint64_t fbits;
    memcpy(&fbits, &fsum, sizeof fbits);
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k ^ l ^ fbits;
}

#define LIVE_ROUNDS 300

struct live_side {
    uint64_t seed;
    greenlet *peer;
};

static void *live_run(void *arg, void *value)
{
    struct live_side *ls = arg;
    (void)value;
    return P(live_across_switches(ls->peer, ls->seed, LIVE_ROUNDS) & 0xffffffffu);
}

START_TEST(live_values_survive_greenlet_switch)
{
    /* guarded <-> guarded (the inline fast path), then shared <-> guarded */
    for (int kind = 0; kind < 2; kind++) {
        uintptr_t want_a = live_across_switches(NULL, 1111, LIVE_ROUNDS) & 0xffffffffu;
        uintptr_t want_b = live_across_switches(NULL, 2222, LIVE_ROUNDS) & 0xffffffffu;
        struct live_side sa = {1111, NULL}, sb = {2222, NULL};
        greenlet *a = greenlet_new_opts(live_run, &sa, NULL,
                                        kind ? &shared_opts : NULL);
        greenlet *b = greenlet_new(live_run, &sb, NULL);
        sa.peer = b;
        sb.peer = a;
        /* a and b alternate, one switch each per round; a's run returns
         * first (to main), then b is resumed for its last round */
        uintptr_t got_a = N(greenlet_switch(a, NULL));
        ck_assert(greenlet_dead(a));
        ck_assert(!greenlet_dead(b));
        uintptr_t got_b = N(greenlet_switch(b, NULL));
        ck_assert(greenlet_dead(b));
        ck_assert_msg(got_a == want_a, "a (%s) lost live values",
                      kind ? "shared" : "guarded");
        ck_assert_msg(got_b == want_b, "b (guarded) lost live values with a %s",
                      kind ? "shared" : "guarded");
        greenlet_free(a);
        greenlet_free(b);
    }
}
END_TEST

/* A greenlet made with fpu_fixed (as the hub is) runs with the FPU state
 * it was started with, and hands the other side its own state back. */
static int fixed_seen[2];

static void *fixed_fpu_run(void *arg, void *value)
{
    (void)arg, (void)value;
    fixed_seen[0] = fegetround();
    greenlet_switch(greenlet_main(), NULL);
    fixed_seen[1] = fegetround();
    return NULL;
}

START_TEST(fpu_fixed_greenlet)
{
    static const greenlet_opts fixed = {.fpu_fixed = true, .name = "fixed"};
    greenlet *g = greenlet_new_opts(fixed_fpu_run, NULL, NULL, &fixed);
    greenlet_switch(g, NULL);      /* started rounding to nearest */
    fesetround(FE_UPWARD);
    greenlet_switch(g, NULL);
    int main_after = fegetround();
    fesetround(FE_TONEAREST);
    ck_assert_int_eq(fixed_seen[0], FE_TONEAREST);
    ck_assert_int_eq(fixed_seen[1], FE_TONEAREST);
    ck_assert_int_eq(main_after, FE_UPWARD);
    ck_assert(greenlet_dead(g));
    greenlet_free(g);
}
END_TEST

/* greenlet_switch_int_: resumed with an int sent as a pointer, and errno
 * as the resumer left it (the hub's sleeps return that way, with nothing
 * of theirs left to run after the switch); from a SHARED greenlet through
 * the tail call into the switch, from a GUARDED one through the usual
 * switch. */
struct int_parker {
    int got[3];
    int err[3];
};

static void *park_for_ints(void *arg, void *value)
{
    struct int_parker *k = arg;
    (void)value;
    for (int i = 0; i < 3; i++) {
        k->got[i] = greenlet_switch_int_(greenlet_main(), P(i));
        k->err[i] = errno;
    }
    return NULL;
}

START_TEST(switch_int_returns_the_int_and_keeps_errno)
{
    static const int sent[3] = {0, -1, 12345};
    struct int_parker k[3] = {{{0}, {0}}};
    greenlet *g[3];
    for (int j = 0; j < 3; j++) {
        g[j] = greenlet_new_opts(park_for_ints, &k[j], NULL,
                                 j < 2 ? &shared_opts : NULL);
        ck_assert_ptr_nonnull(g[j]);
    }
    for (int i = 0; i < 3; i++) {
        /* the second round with a hook that spoils errno, if anything
         * on the way let it */
        greenlet_set_switch_hook(i == 1 ? cl_test_hook_spoiling_errno : NULL);
        for (int j = 0; j < 3; j++) {
            errno = ERANGE + j;
            ck_assert_ptr_eq(greenlet_switch(g[j], i ? P((intptr_t)sent[i - 1])
                                                     : NULL),
                             P(i));
        }
    }
    greenlet_set_switch_hook(NULL);
    for (int j = 0; j < 3; j++) {
        errno = ERANGE + j;
        ck_assert_ptr_eq(greenlet_switch(g[j], P((intptr_t)sent[2])), NULL);
        ck_assert(greenlet_dead(g[j]));
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(k[j].got[i], sent[i]);
            ck_assert_int_eq(k[j].err[i], ERANGE + j);
        }
        greenlet_free(g[j]);
    }
}
END_TEST

static Suite *greenlet_suite(void)
{
    Suite *s = suite_create("greenlet (" CL_SWITCH_NAME ")");
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, first_switch_calls_run_with_arg_and_value);
    tcase_add_test(rules, values_pass_both_ways);
    tcase_add_test(rules, switch_to_self_returns_the_value);
    tcase_add_test(rules, return_starts_an_unstarted_parent);
    tcase_add_test(rules, switch_to_dead_goes_to_parent);
    tcase_add_test(rules, parent_chain_skips_dead_parents);
    tcase_add_test(rules, set_parent_rejects_cycles);
    tcase_add_test(rules, free_rules);
    tcase_add_test(rules, result_is_null_until_run_returns);
    tcase_add_test(rules, names);
    tcase_add_test(rules, switch_hook_sees_every_switch);
    tcase_add_test(rules, names_are_copied);
    tcase_add_test(rules, no_stack_fails_greenlet_new);
    tcase_add_test(rules, freeing_a_parent_hands_children_up);
    tcase_add_test(rules, embedded_parent_with_children_is_busy);
    tcase_add_test(rules, fpu_mode_per_greenlet);
    tcase_add_test(rules, fpu_fixed_greenlet);
    tcase_add_test(rules, live_values_survive_greenlet_switch);
    suite_add_tcase(s, rules);

    TCase *threads = tcase_create("threads");
    tcase_add_test(threads, each_thread_has_its_own_main);
    tcase_add_test(threads, other_threads_greenlets_are_off_limits);
    tcase_add_test(threads, fresh_thread_switching_in_gets_eperm);
    suite_add_tcase(s, threads);

    TCase *shared = tcase_create("shared stack");
    tcase_set_timeout(shared, 120); /* generous for SAN=1 and qemu */
    tcase_add_test(shared, many_shared_interleaved_with_guarded);
    tcase_add_test(shared, shared_to_shared_ring);
    tcase_add_test(shared, shared_greenlets_die_while_others_wait);
    tcase_add_test(shared, shared_guarded_direct_hops);
    tcase_add_test(shared, guarded_child_dies_into_shared_parent);
    tcase_add_test(shared, shared_deep_stacks_interleaved);
    tcase_add_test(shared, switch_int_returns_the_int_and_keeps_errno);
    suite_add_tcase(s, shared);
    return s;
}

CL_TEST_MAIN(greenlet_suite)
