/*
 * test_sync.c - sync.h: BoundedSemaphore (permits, the order waiters get
 * them, timeouts, EOVERFLOW, killed and freed waiters, a release handing
 * its permit to the first waiter), and that Event and Queue waiters are
 * served in the order they came. (Event and Queue basics: test_hub.c.)
 *
 * As in test_hub.c, greenlets only record what they see; main asserts.
 * Order is checked, never time.
 */
#include "hubtest.h"
#include "sync.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- BoundedSemaphore ---- */

static hub_sem *sem;
static int sem_errs[8];

/* Takes a permit (logging id), holds it over one yield, gives it back. */
static void *sem_user(void *arg)
{
    int id = N(arg);
    if (hub_sem_acquire(sem, HUB_FOREVER) != 0) {
        sem_errs[id] = errno;
        log_int(-id);
        return NULL;
    }
    log_int(id);
    hub_sleep(0);
    log_int(id + 100);
    hub_sem_release(sem);
    return NULL;
}

START_TEST(sem_counts_permits_and_refuses_overflow)
{
    sem = hub_sem_new(2);
    ck_assert_ptr_nonnull(sem);
    ck_assert_uint_eq(hub_sem_value(sem), 2);
    ck_assert_int_eq(hub_sem_try_acquire(sem), 0);
    ck_assert_int_eq(hub_sem_acquire(sem, 0), 0);
    ck_assert_uint_eq(hub_sem_value(sem), 0);
    ck_assert_fails(hub_sem_try_acquire(sem), EAGAIN);
    ck_assert_fails(hub_sem_acquire(sem, 0), ETIMEDOUT);
    ck_assert_fails(hub_sem_acquire(sem, 0.01), ETIMEDOUT);
    ck_assert_fails(hub_sem_acquire(sem, NAN), EINVAL);
    /* main waiting forever with nobody to release: EDEADLK, not a hang */
    ck_assert_fails(hub_sem_acquire(sem, HUB_FOREVER), EDEADLK);
    ck_assert_int_eq(hub_sem_release(sem), 0);
    ck_assert_int_eq(hub_sem_release(sem), 0);
    ck_assert_uint_eq(hub_sem_value(sem), 2);
    errno = 0;
    ck_assert_int_eq(hub_sem_release(sem), -1); /* bounded */
    ck_assert_int_eq(errno, EOVERFLOW);
    ck_assert_uint_eq(hub_sem_value(sem), 2);
    hub_sem_free(sem);
    hub_sem_free(NULL);

    sem = hub_sem_new(0); /* a semaphore that starts empty cannot grow */
    ck_assert_fails(hub_sem_release(sem), EOVERFLOW);
    hub_sem_free(sem);
    hub_shutdown();
}
END_TEST

START_TEST(sem_waiters_get_permits_in_the_order_they_came)
{
    sem = hub_sem_new(1);
    log_reset();
    hub_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = spawn_ok(sem_user, P(i + 1));
    for (int i = 0; i < 4; i++)
        join_free(t[i]);
    /* one at a time, in spawn order */
    ck_assert_log(1, 101, 2, 102, 3, 103, 4, 104);
    ck_assert_uint_eq(hub_sem_value(sem), 1);
    hub_sem_free(sem);
    hub_shutdown();
}
END_TEST

/* A release with a waiter hands the permit over: a greenlet that comes
 * later and does not wait (try_acquire) cannot take it first. */
static int late_try;
static void *late_trier(void *arg)
{
    (void)arg;
    late_try = hub_sem_try_acquire(sem) == 0 ? 1 : errno;
    return NULL;
}

START_TEST(sem_release_hands_the_permit_to_the_first_waiter)
{
    sem = hub_sem_new(1);
    ck_assert_int_eq(hub_sem_acquire(sem, 0), 0);
    log_reset();
    hub_task *waiter = spawn_ok(sem_user, P(1));
    ck_assert_int_eq(hub_sleep(0), 0); /* it waits now */
    ck_assert_int_eq(log_len, 0);
    ck_assert_int_eq(hub_sem_release(sem), 0);
    ck_assert_uint_eq(hub_sem_value(sem), 0); /* handed over, not freed */
    late_try = 0;
    hub_task *late = spawn_ok(late_trier, NULL);
    join_free(late);
    ck_assert_int_eq(late_try, EAGAIN);
    join_free(waiter);
    ck_assert_log(1, 101);
    ck_assert_uint_eq(hub_sem_value(sem), 1);
    hub_sem_free(sem);
    hub_shutdown();
}
END_TEST

START_TEST(sem_killed_and_freed_waiters)
{
    sem = hub_sem_new(1);
    ck_assert_int_eq(hub_sem_acquire(sem, 0), 0);
    log_reset();
    memset(sem_errs, 0, sizeof sem_errs);
    hub_task *a = spawn_ok(sem_user, P(1));
    hub_task *b = spawn_ok(sem_user, P(2));
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_int_eq(hub_kill(a, HUB_FOREVER), 0);
    ck_assert_int_eq(sem_errs[1], ECANCELED);
    ck_assert_int_eq(hub_task_free(a), 0);
    /* the killed waiter left the list: the permit goes to b */
    ck_assert_int_eq(hub_sem_release(sem), 0);
    join_free(b);
    ck_assert_log(-1, 2, 102);

    ck_assert_int_eq(hub_sem_acquire(sem, 0), 0);
    log_reset();
    a = spawn_ok(sem_user, P(3));
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_sem_free(sem);
    join_free(a);
    ck_assert_int_eq(sem_errs[3], EBADF);
    ck_assert_log(-3);
    hub_shutdown();
}
END_TEST

/* ---- Event and Queue serve waiters in order ---- */

static hub_event *event;
static void *event_waiter(void *arg)
{
    if (hub_event_wait(event, HUB_FOREVER) == 0)
        log_int(N(arg));
    return NULL;
}

static hub_queue *queue;
static void *queue_getter(void *arg)
{
    void *item;
    if (hub_queue_get(queue, &item, HUB_FOREVER) == 0)
        log_int(N(arg) * 10 + N(item));
    return NULL;
}

START_TEST(event_and_queue_wake_in_wait_order)
{
    event = hub_event_new();
    log_reset();
    hub_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(event_waiter, P(i + 1));
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_event_set(event);
    for (int i = 0; i < 3; i++)
        join_free(t[i]);
    ck_assert_log(1, 2, 3);
    errno = 0;
    hub_event_clear(event);
    ck_assert_int_eq(hub_event_wait(event, NAN), -1);
    ck_assert_int_eq(errno, EINVAL);
    hub_event_free(event);

    queue = hub_queue_new(4);
    log_reset();
    for (int i = 0; i < 3; i++)
        t[i] = spawn_ok(queue_getter, P(i + 1));
    ck_assert_int_eq(hub_sleep(0), 0);
    for (int i = 1; i <= 3; i++)
        ck_assert_int_eq(hub_queue_put(queue, P(i), 0), 0);
    for (int i = 0; i < 3; i++)
        join_free(t[i]);
    ck_assert_log(11, 22, 33); /* first come, first item */
    ck_assert_fails(hub_queue_put(queue, P(1), NAN), EINVAL);
    hub_queue_free(queue);
    hub_shutdown();
}
END_TEST

static Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    TCase *sem_tc = tcase_create("BoundedSemaphore");
    tcase_set_timeout(sem_tc, 60);
    tcase_add_test(sem_tc, sem_counts_permits_and_refuses_overflow);
    tcase_add_test(sem_tc, sem_waiters_get_permits_in_the_order_they_came);
    tcase_add_test(sem_tc, sem_release_hands_the_permit_to_the_first_waiter);
    tcase_add_test(sem_tc, sem_killed_and_freed_waiters);
    suite_add_tcase(s, sem_tc);
    TCase *order = tcase_create("Event and Queue order");
    tcase_set_timeout(order, 60);
    tcase_add_test(order, event_and_queue_wake_in_wait_order);
    suite_add_tcase(s, order);
    return s;
}

CL_TEST_MAIN(sync_suite)
