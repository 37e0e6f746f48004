/*
 * test_generator.c - layer 2 behaves like Python generators: next() runs
 * to the first yield, send(v) becomes the value of the paused yield,
 * returning is StopIteration (GEN_DONE), and the misuses Python rejects
 * (sending a value to a just-started generator, resuming a finished or a
 * running one, or another thread's) are errors, not crashes.
 */
#include "testutil.h"
#include "generator.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* def counter(n): for i in range(n): yield i */
static void counter(generator *gen, void *arg)
{
    (void)gen;
    for (int i = 0; i < GEN_TO_INT(arg); i++)
        generator_yield(GEN_INT(i));
}

START_TEST(next_yields_in_order_then_done)
{
    generator *g = generator_new(counter, GEN_INT(3));
    void *out = GEN_INT(-1);
    ck_assert_ptr_nonnull(g);
    ck_assert(!generator_finished(g));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(generator_next(g, &out), GEN_YIELDED);
        ck_assert_int_eq(GEN_TO_INT(out), i);
    }
    out = GEN_INT(-1);
    ck_assert_int_eq(generator_next(g, &out), GEN_DONE); /* StopIteration */
    ck_assert_int_eq(GEN_TO_INT(out), -1);               /* out untouched */
    ck_assert(generator_finished(g));
    /* Resuming a finished generator is an error, every time, not a crash. */
    for (int i = 0; i < 2; i++) {
        errno = 0;
        ck_assert_int_eq(generator_next(g, &out), -1);
        ck_assert_int_eq(errno, EPIPE);
        errno = 0;
        ck_assert_int_eq(generator_send(g, GEN_INT(5), &out), -1);
        ck_assert_int_eq(errno, EPIPE);
    }
    generator_free(g);
}
END_TEST

/* def averager():
 *     total = count = 0; avg = None
 *     while True:
 *         v = yield avg; total += v; count += 1; avg = total // count */
static void averager(generator *gen, void *arg)
{
    int total = 0, count = 0;
    void *avg = NULL;
    (void)gen, (void)arg;
    for (;;) {
        int v = GEN_TO_INT(generator_yield(avg));
        if (v < 0)
            return;
        total += v;
        count++;
        avg = GEN_INT(total / count);
    }
}

START_TEST(send_becomes_the_value_of_yield)
{
    generator *g = generator_new(averager, NULL);
    void *out = GEN_INT(-1);
    ck_assert_int_eq(generator_next(g, &out), GEN_YIELDED); /* to the first yield */
    ck_assert_ptr_null(out);
    ck_assert_int_eq(generator_send(g, GEN_INT(10), &out), GEN_YIELDED);
    ck_assert_int_eq(GEN_TO_INT(out), 10);
    ck_assert_int_eq(generator_send(g, GEN_INT(20), &out), GEN_YIELDED);
    ck_assert_int_eq(GEN_TO_INT(out), 15);
    ck_assert_int_eq(generator_send(g, GEN_INT(60), NULL), GEN_YIELDED); /* out may be NULL */
    ck_assert_int_eq(generator_next(g, &out), GEN_YIELDED); /* next() is send(None): 90/4 */
    ck_assert_int_eq(GEN_TO_INT(out), 22);
    ck_assert_int_eq(generator_send(g, GEN_INT(-1), &out), GEN_DONE);
    ck_assert(generator_finished(g));
    generator_free(g);
}
END_TEST

static int body_ran;

static void mark_and_yield(generator *gen, void *arg)
{
    (void)gen, (void)arg;
    body_ran++;
    generator_yield(GEN_INT(1));
}

START_TEST(send_value_to_just_started_is_einval)
{
    generator *g = generator_new(mark_and_yield, NULL);
    void *out = NULL;
    body_ran = 0;
    errno = 0;
    /* TypeError: can't send non-None value to a just-started generator */
    ck_assert_int_eq(generator_send(g, GEN_INT(7), &out), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(body_ran, 0); /* and nothing changed */
    ck_assert(!generator_finished(g));
    ck_assert_int_eq(generator_send(g, NULL, &out), GEN_YIELDED); /* send(None) starts it */
    ck_assert_int_eq(body_ran, 1);
    ck_assert_int_eq(GEN_TO_INT(out), 1);
    ck_assert_int_eq(generator_send(g, GEN_INT(7), &out), GEN_DONE);
    generator_free(g);
}
END_TEST

static void returns_at_once(generator *gen, void *arg)
{
    (void)gen;
    *(int *)arg += 1;
}

START_TEST(generator_that_returns_at_once)
{
    int ran = 0;
    generator *g = generator_new(returns_at_once, &ran);
    ck_assert_int_eq(generator_next(g, NULL), GEN_DONE);
    ck_assert_int_eq(ran, 1);
    errno = 0;
    ck_assert_int_eq(generator_next(g, NULL), -1);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_int_eq(ran, 1);
    generator_free(g);
}
END_TEST

/* ValueError: generator already executing */
static int self_rc, self_errno;

static void resumes_itself(generator *gen, void *arg)
{
    (void)arg;
    errno = 0;
    self_rc = generator_next(gen, NULL);
    self_errno = errno;
    generator_yield(GEN_INT(3));
}

START_TEST(resuming_a_running_generator_is_ebusy)
{
    generator *g = generator_new(resumes_itself, NULL);
    void *out = NULL;
    ck_assert_int_eq(generator_next(g, &out), GEN_YIELDED);
    ck_assert_int_eq(self_rc, -1);
    ck_assert_int_eq(self_errno, EBUSY);
    ck_assert_int_eq(GEN_TO_INT(out), 3);
    ck_assert_int_eq(generator_next(g, NULL), GEN_DONE);
    generator_free(g);
}
END_TEST

/* A generator yields to whoever resumed it: here another generator that
 * drives an inner one (like `for x in inner: yield x * 10`). */
static void outer(generator *gen, void *arg)
{
    generator *inner = arg;
    void *v;
    (void)gen;
    while (generator_next(inner, &v) == GEN_YIELDED)
        generator_yield(GEN_INT(GEN_TO_INT(v) * 10));
}

START_TEST(yield_goes_back_to_whoever_resumed)
{
    generator *in = generator_new(counter, GEN_INT(4));
    generator *out_gen = generator_new(outer, in);
    void *v;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(generator_next(out_gen, &v), GEN_YIELDED);
        ck_assert_int_eq(GEN_TO_INT(v), i * 10);
    }
    ck_assert_int_eq(generator_next(out_gen, &v), GEN_DONE);
    ck_assert(generator_finished(in));
    /* the inner one can now also be driven from main: finished is finished */
    errno = 0;
    ck_assert_int_eq(generator_next(in, &v), -1);
    ck_assert_int_eq(errno, EPIPE);
    generator_free(out_gen);
    generator_free(in);
}
END_TEST

/* The lesson 01 producer/consumer, with the prints collected in a buffer. */
static char trace[512];

static void say(const char *fmt, int n, const char *name)
{
    size_t len = strlen(trace);
    snprintf(trace + len, sizeof trace - len, fmt, name, n);
}

static void consumer(generator *gen, void *name)
{
    (void)gen;
    say("%s start;", 0, name);
    for (;;) {
        int baozi = GEN_TO_INT(generator_yield(NULL));
        say("%s eats %d;", baozi, name);
    }
}

START_TEST(producer_consumer_interleaving)
{
    generator *c1 = generator_new(consumer, "c1");
    generator *c2 = generator_new(consumer, "c2");
    trace[0] = '\0';
    ck_assert_int_eq(generator_next(c1, NULL), GEN_YIELDED);
    ck_assert_int_eq(generator_next(c2, NULL), GEN_YIELDED);
    for (int n = 1; n <= 2; n++) {
        ck_assert_int_eq(generator_send(c1, GEN_INT(n), NULL), GEN_YIELDED);
        ck_assert_int_eq(generator_send(c2, GEN_INT(n), NULL), GEN_YIELDED);
        say("%sproducer makes %d;", n, "");
    }
    ck_assert_str_eq(trace, "c1 start;c2 start;c1 eats 1;c2 eats 1;producer makes 1;"
                            "c1 eats 2;c2 eats 2;producer makes 2;");
    /* Suspended generators are freed with their frames dropped. */
    generator_free(c1);
    generator_free(c2);
}
END_TEST

START_TEST(free_in_any_state)
{
    generator *fresh = generator_new(counter, GEN_INT(5));
    generator *paused = generator_new(counter, GEN_INT(5));
    generator *done = generator_new(counter, GEN_INT(0));
    ck_assert_int_eq(generator_next(paused, NULL), GEN_YIELDED);
    ck_assert_int_eq(generator_next(done, NULL), GEN_DONE);
    generator_free(fresh);
    generator_free(paused);
    generator_free(done);
    generator_free(NULL);
}
END_TEST

/* A generator freeing itself while it runs must not pull its own record
 * and stack away: nothing is freed, and it carries on. */
static void frees_itself(generator *gen, void *arg)
{
    (void)arg;
    generator_free(gen);
    generator_yield(GEN_INT(8)); /* still has its record and stack */
}

START_TEST(free_while_running_frees_nothing)
{
    generator *g = generator_new(frees_itself, NULL);
    void *v = NULL;
    ck_assert_int_eq(generator_next(g, &v), GEN_YIELDED);
    ck_assert_int_eq(GEN_TO_INT(v), 8);
    ck_assert(!generator_finished(g));
    ck_assert_int_eq(generator_next(g, NULL), GEN_DONE);
    generator_free(g);
}
END_TEST

/* Many generators alive at once, advanced in turn. */
START_TEST(many_generators_interleaved)
{
    enum { K = 300, STEPS = 5 };
    generator *gs[K];
    int wrong = 0;
    for (int i = 0; i < K; i++)
        gs[i] = generator_new(counter, GEN_INT(STEPS));
    for (int s = 0; s < STEPS; s++)
        for (int i = 0; i < K; i++) {
            void *v = NULL;
            wrong += generator_next(gs[i], &v) != GEN_YIELDED || GEN_TO_INT(v) != s;
        }
    for (int i = 0; i < K; i++) {
        wrong += generator_next(gs[i], NULL) != GEN_DONE;
        generator_free(gs[i]);
    }
    ck_assert_int_eq(wrong, 0);
}
END_TEST

struct foreign {
    generator *gen;
    int rc, err;
};

static void *send_from_thread(void *p)
{
    struct foreign *f = p;
    errno = 0;
    f->rc = generator_next(f->gen, NULL);
    f->err = errno;
    return NULL;
}

START_TEST(another_threads_generator_is_eperm)
{
    struct foreign f = {.gen = generator_new(counter, GEN_INT(2))};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, send_from_thread, &f), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_int_eq(f.rc, -1);
    ck_assert_int_eq(f.err, EPERM);
    void *v = NULL;
    ck_assert_int_eq(generator_next(f.gen, &v), GEN_YIELDED); /* still fresh */
    ck_assert_int_eq(GEN_TO_INT(v), 0);
    generator_free(f.gen);
}
END_TEST

START_TEST(strerror_says_what_python_says)
{
    ck_assert_ptr_nonnull(strstr(generator_strerror(EINVAL), "just-started"));
    ck_assert_ptr_nonnull(strstr(generator_strerror(EPIPE), "StopIteration"));
    ck_assert_ptr_nonnull(strstr(generator_strerror(EBUSY), "already executing"));
    ck_assert_ptr_nonnull(strstr(generator_strerror(EPERM), "thread"));
    ck_assert_str_eq(generator_strerror(ENOMEM), strerror(ENOMEM));
}
END_TEST

static Suite *generator_suite(void)
{
    Suite *s = suite_create("generator (" CL_SWITCH_NAME ")");
    TCase *tc = tcase_create("semantics");
    tcase_add_test(tc, next_yields_in_order_then_done);
    tcase_add_test(tc, send_becomes_the_value_of_yield);
    tcase_add_test(tc, send_value_to_just_started_is_einval);
    tcase_add_test(tc, generator_that_returns_at_once);
    tcase_add_test(tc, resuming_a_running_generator_is_ebusy);
    tcase_add_test(tc, yield_goes_back_to_whoever_resumed);
    tcase_add_test(tc, producer_consumer_interleaving);
    tcase_add_test(tc, free_in_any_state);
    tcase_add_test(tc, free_while_running_frees_nothing);
    tcase_add_test(tc, many_generators_interleaved);
    tcase_add_test(tc, another_threads_generator_is_eperm);
    tcase_add_test(tc, strerror_says_what_python_says);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(generator_suite)
