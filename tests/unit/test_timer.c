/*
 * test_timer.c - timer.c on its own, with no hub and no clock: timers
 * come out in (deadline, order set) order whichever of its two structures
 * (the sorted list for timers set in deadline order, the heap for the
 * others) holds them; removal from either; a random workload checked
 * against a plain reference.
 */
#include "testutil.h"
#include "timer.h"

#include <stdint.h>
#include <string.h>

enum { MANY = 2000 };
static struct hub_timer tm[MANY];

static int index_of(struct hub_timer *t)
{
    return t ? (int)(t - tm) : -1;
}

/* Remove timers one by one from the front; their indexes, in order. */
static int drain(struct hub_timers *ts, int *out, int max)
{
    int n = 0;
    struct hub_timer *t;
    while ((t = hub_timers_first(ts)) != NULL && n < max) {
        out[n++] = index_of(t);
        hub_timers_remove(ts, t);
        ck_assert(!hub_timer_pending(t));
    }
    return n;
}

START_TEST(empty_and_idle)
{
    struct hub_timers ts;
    hub_timers_init(&ts);
    ck_assert_ptr_null(hub_timers_first(&ts));
    hub_timer_init(&tm[0]);
    ck_assert(!hub_timer_pending(&tm[0]));
    hub_timers_remove(&ts, &tm[0]); /* idle: a no-op */
    ck_assert_ptr_null(hub_timers_first(&ts));
    hub_timers_fini(&ts);
}
END_TEST

START_TEST(in_order_timers_use_the_sorted_list)
{
    struct hub_timers ts;
    int out[8];
    hub_timers_init(&ts);
    for (int i = 0; i < 5; i++) {
        hub_timer_init(&tm[i]);
        ck_assert_int_eq(hub_timers_add(&ts, &tm[i], 100 + (uint64_t)i / 2), 0);
        ck_assert_uint_eq(tm[i].slot, HUB_TIMER_SORTED);
    }
    ck_assert_uint_eq(ts.heap_len, 0);
    ck_assert_int_eq(drain(&ts, out, 8), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(out[i], i); /* ties in the order set */
    hub_timers_fini(&ts);
}
END_TEST

START_TEST(out_of_order_timers_go_on_the_heap)
{
    struct hub_timers ts;
    /* deadlines set: 50 60 10 55 10 5 60 ; want order by (deadline, seq) */
    static const uint64_t d[] = {50, 60, 10, 55, 10, 5, 60};
    static const int want[] = {5, 2, 4, 0, 3, 1, 6};
    int out[8];
    hub_timers_init(&ts);
    for (int i = 0; i < 7; i++) {
        hub_timer_init(&tm[i]);
        ck_assert_int_eq(hub_timers_add(&ts, &tm[i], d[i]), 0);
    }
    ck_assert_uint_gt(ts.heap_len, 0);
    ck_assert_int_eq(index_of(hub_timers_first(&ts)), 5);
    ck_assert_int_eq(drain(&ts, out, 8), 7);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(out[i], want[i]);
    hub_timers_fini(&ts);
}
END_TEST

START_TEST(remove_from_the_middle_of_either)
{
    struct hub_timers ts;
    static const uint64_t d[] = {10, 20, 30, 5, 25, 15, 40};
    int out[8];
    hub_timers_init(&ts);
    for (int i = 0; i < 7; i++) {
        hub_timer_init(&tm[i]);
        ck_assert_int_eq(hub_timers_add(&ts, &tm[i], d[i]), 0);
    }
    hub_timers_remove(&ts, &tm[1]); /* sorted list, middle */
    hub_timers_remove(&ts, &tm[4]); /* heap */
    hub_timers_remove(&ts, &tm[3]); /* heap, its head */
    hub_timers_remove(&ts, &tm[3]); /* twice: a no-op */
    ck_assert_int_eq(drain(&ts, out, 8), 4);
    static const int want[] = {0, 5, 2, 6};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[i], want[i]);
    hub_timers_fini(&ts);
}
END_TEST

/* xorshift: the same sequence every run */
static uint32_t rng = 2463534242u;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* The reference: the pending timer with the least (deadline, seq). */
static int reference_first(const bool *pending)
{
    int best = -1;
    for (int i = 0; i < MANY; i++)
        if (pending[i] &&
            (best < 0 || tm[i].deadline < tm[best].deadline ||
             (tm[i].deadline == tm[best].deadline && (int32_t)(tm[i].seq - tm[best].seq) < 0)))
            best = i;
    return best;
}

START_TEST(random_adds_and_removes_match_a_reference)
{
    struct hub_timers ts;
    static bool pending[MANY];
    memset(pending, 0, sizeof pending);
    hub_timers_init(&ts);
    for (int i = 0; i < MANY; i++)
        hub_timer_init(&tm[i]);
    for (int step = 0; step < 20000; step++) {
        int i = (int)(next_rand() % MANY);
        uint32_t op = next_rand() % 4;
        if (!pending[i]) {
            ck_assert_int_eq(hub_timers_add(&ts, &tm[i], next_rand() % 500), 0);
            pending[i] = true;
        } else if (op == 0) {
            hub_timers_remove(&ts, &tm[i]);
            pending[i] = false;
        } else if (op == 1) { /* fire the first */
            int want = reference_first(pending);
            ck_assert_int_eq(index_of(hub_timers_first(&ts)), want);
            hub_timers_remove(&ts, &tm[want]);
            pending[want] = false;
        }
        ck_assert_int_eq(hub_timer_pending(&tm[i]), pending[i]);
    }
    for (int want; (want = reference_first(pending)) >= 0; pending[want] = false) {
        ck_assert_int_eq(index_of(hub_timers_first(&ts)), want);
        hub_timers_remove(&ts, &tm[want]);
    }
    ck_assert_ptr_null(hub_timers_first(&ts));
    hub_timers_fini(&ts);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("timers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, empty_and_idle);
    tcase_add_test(tc, in_order_timers_use_the_sorted_list);
    tcase_add_test(tc, out_of_order_timers_go_on_the_heap);
    tcase_add_test(tc, remove_from_the_middle_of_either);
    tcase_add_test(tc, random_adds_and_removes_match_a_reference);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(timer_suite)
