/*
 * test_pool.c - pool.h, gevent's Pool: the size limit (spawn waits while
 * full, in the order the spawners came), count and full, wait_available
 * and join with timeouts, killall (started and never-started tasks),
 * spawners killed while they wait, and freeing a pool with live tasks.
 *
 * As in test_hub.c, greenlets only record what they see; main asserts.
 */
#include "hubtest.h"
#include "pool.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static hub_pool *pool;

/* Logs id, yields `id % 10` times, logs id + 100. */
static void *worker(void *arg)
{
    int id = N(arg);
    log_int(id);
    for (int i = 0; i < id % 10; i++)
        if (hub_sleep(0) != 0) {
            log_int(-id);
            return NULL;
        }
    log_int(id + 100);
    return NULL;
}

/* Sleeps until killed. */
static void *sleeper(void *arg)
{
    if (hub_sleep(3600) != 0)
        log_int(-N(arg));
    return NULL;
}

START_TEST(spawn_waits_while_full_and_join_waits_for_all)
{
    pool = hub_pool_new(2);
    ck_assert_ptr_nonnull(pool);
    log_reset();
    ck_assert(!hub_pool_full(pool));
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(1), NULL));
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(2), NULL));
    ck_assert_uint_eq(hub_pool_count(pool), 2);
    ck_assert(hub_pool_full(pool));
    ck_assert_fails(hub_pool_wait_available(pool, 0), ETIMEDOUT);
    /* full: main waits until 1 (one yield) ends, then spawns 3 */
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(3), NULL));
    ck_assert_log(1, 2, 101);
    ck_assert_uint_eq(hub_pool_count(pool), 2);
    ck_assert_int_eq(hub_pool_join(pool, HUB_FOREVER), 0);
    ck_assert_uint_eq(hub_pool_count(pool), 0);
    ck_assert(!hub_pool_full(pool));
    ck_assert_log(1, 2, 101, 102, 3, 103);
    ck_assert_int_eq(hub_pool_wait_available(pool, 0), 0);
    ck_assert_int_eq(hub_pool_join(pool, 0), 0); /* empty: at once */
    hub_pool_free(pool);
    hub_pool_free(NULL);
    hub_shutdown();
}
END_TEST

/* Greenlets that spawn into a full pool get their slots in the order
 * they came. */
static void *spawner(void *arg)
{
    if (!hub_pool_spawn(pool, worker, arg, NULL))
        log_int(-1000 - errno);
    return NULL;
}

START_TEST(spawners_get_slots_in_the_order_they_came)
{
    pool = hub_pool_new(1);
    log_reset();
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(2), NULL));
    hub_task *s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = hub_spawn(spawner, P(11 + i * 10));
        ck_assert_ptr_nonnull(s[i]);
    }
    ck_assert_int_eq(hub_joinall(s, 3, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_pool_join(pool, HUB_FOREVER), 0);
    /* never two at once; spawners in order */
    ck_assert_log(2, 102, 11, 111, 21, 121, 31, 131);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(hub_task_free(s[i]), 0);
    hub_pool_free(pool);
    hub_shutdown();
}
END_TEST

START_TEST(no_limit_timeouts_and_nan)
{
    pool = hub_pool_new(0);
    log_reset();
    for (int i = 0; i < 50; i++)
        ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(i), NULL));
    ck_assert_uint_eq(hub_pool_count(pool), 50);
    ck_assert(!hub_pool_full(pool));
    ck_assert_fails(hub_pool_join(pool, 0.01), ETIMEDOUT);
    ck_assert_fails(hub_pool_join(pool, NAN), EINVAL);
    ck_assert_int_eq(hub_pool_killall(pool, HUB_FOREVER), 0);
    ck_assert_uint_eq(hub_pool_count(pool), 0);
    ck_assert_int_eq(log_len, 50);
    hub_pool_free(pool);

    pool = hub_pool_new(1);
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(1), NULL));
    ck_assert_fails(hub_pool_wait_available(pool, 0.01), ETIMEDOUT);
    ck_assert_int_eq(hub_pool_killall(pool, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_pool_wait_available(pool, HUB_FOREVER), 0);
    hub_pool_free(pool);
    hub_shutdown();
}
END_TEST

/* killall reaches tasks that never started (they never run) and tasks
 * blocked in a call (it returns ECANCELED). */
START_TEST(killall_started_and_never_started)
{
    pool = hub_pool_new(4);
    log_reset();
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(1), NULL));
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(2), NULL));
    ck_assert_int_eq(hub_sleep(0), 0); /* 1 and 2 sleep */
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(3), NULL));
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(4), NULL));
    ck_assert_uint_eq(hub_pool_count(pool), 4);
    ck_assert_int_eq(hub_pool_killall(pool, HUB_FOREVER), 0);
    ck_assert_uint_eq(hub_pool_count(pool), 0);
    ck_assert_log(-1, -2); /* 3 and 4 never ran */
    ck_assert_int_eq(hub_sleep(0), 0);
    ck_assert_int_eq(log_len, 2);
    hub_pool_free(pool);
    hub_shutdown();
}
END_TEST

/* A greenlet killed while it waits to spawn into a full pool gets NULL/
 * ECANCELED and leaves the queue of spawners: the next one gets the slot. */
START_TEST(killed_spawner_leaves_the_queue)
{
    pool = hub_pool_new(1);
    log_reset();
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(1), NULL));
    hub_task *a = hub_spawn(spawner, P(5));
    hub_task *b = hub_spawn(spawner, P(6));
    ck_assert_int_eq(hub_sleep(0), 0); /* both wait for room */
    ck_assert_int_eq(hub_kill(a, HUB_FOREVER), 0);
    ck_assert_log(-1000 - ECANCELED);
    ck_assert_int_eq(hub_pool_killall(pool, HUB_FOREVER), 0); /* frees 1 */
    ck_assert_int_eq(hub_join(b, HUB_FOREVER), 0);
    ck_assert_int_eq(hub_pool_join(pool, HUB_FOREVER), 0);
    ck_assert_log(-1000 - ECANCELED, -1, 6, 106);
    ck_assert_int_eq(hub_task_free(a), 0);
    ck_assert_int_eq(hub_task_free(b), 0);
    hub_pool_free(pool);
    hub_shutdown();
}
END_TEST

/* Freeing a pool kills nothing: its tasks go on; waiters get EBADF. */
static int join_err;
static void *pool_joiner(void *arg)
{
    (void)arg;
    join_err = hub_pool_join(pool, HUB_FOREVER) == 0 ? 0 : errno;
    return NULL;
}

START_TEST(free_with_live_tasks_kills_nothing)
{
    pool = hub_pool_new(2);
    log_reset();
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, worker, P(3), NULL));
    hub_task *j = hub_spawn(pool_joiner, NULL);
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_pool_free(pool);
    pool = NULL;
    ck_assert_int_eq(hub_join(j, HUB_FOREVER), 0);
    ck_assert_int_eq(join_err, EBADF);
    ck_assert_int_eq(hub_task_free(j), 0);
    ck_assert_int_eq(hub_run(), 0); /* the worker finishes, outside a pool */
    ck_assert_log(3, 103);
    hub_shutdown();
}
END_TEST

/* hub_shutdown frees tasks still in a pool: the pool learns of it. */
START_TEST(shutdown_with_tasks_in_a_pool)
{
    pool = hub_pool_new(3);
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(1), NULL));
    ck_assert_ptr_nonnull(hub_pool_spawn(pool, sleeper, P(2), NULL));
    ck_assert_int_eq(hub_sleep(0), 0);
    hub_shutdown();
    ck_assert_uint_eq(hub_pool_count(pool), 0);
    hub_pool_free(pool);
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("Pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, spawn_waits_while_full_and_join_waits_for_all);
    tcase_add_test(tc, spawners_get_slots_in_the_order_they_came);
    tcase_add_test(tc, no_limit_timeouts_and_nan);
    tcase_add_test(tc, killall_started_and_never_started);
    tcase_add_test(tc, killed_spawner_leaves_the_queue);
    tcase_add_test(tc, free_with_live_tasks_kills_nothing);
    tcase_add_test(tc, shutdown_with_tasks_in_a_pool);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(pool_suite)
