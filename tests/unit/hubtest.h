/* hubtest.h - what the hub-layer unit tests share (test_hub, test_sync,
 * test_pool): a log of what greenlets saw, asserted in main, and spawn and
 * join helpers that assert.
 *
 * Greenlets only record what they see; the assertions are made in main:
 * with CK_FORK=no (valgrind) a failing check longjmps, which must not
 * happen from a greenlet's stack. Each test program is one file, so the
 * static definitions here are its own. */
#ifndef CL_HUBTEST_H
#define CL_HUBTEST_H

#include "testutil.h"
#include "hub.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define P(n) ((void *)(intptr_t)(n))
#define N(p) ((int)(intptr_t)(p))

#define LOG_MAX 1024
static int log_buf[LOG_MAX];
static int log_len;

static inline void log_int(int v)
{
    if (log_len < LOG_MAX)
        log_buf[log_len++] = v;
}

static inline void log_reset(void)
{
    log_len = 0;
    memset(log_buf, 0, sizeof log_buf);
}

/* The log is exactly these values, in this order. */
#define ck_assert_log(...)                                                   \
    do {                                                                     \
        static const int want_[] = {__VA_ARGS__};                            \
        size_t n_ = sizeof want_ / sizeof want_[0];                          \
        ck_assert_int_eq(log_len, (int)n_);                                  \
        for (size_t i_ = 0; i_ < n_; i_++)                                   \
            ck_assert_msg(log_buf[i_] == want_[i_],                          \
                          "log[%zu] is %d, want %d", i_, log_buf[i_],        \
                          want_[i_]);                                        \
    } while (0)

/* rc and errno of a call made in a greenlet */
struct outcome {
    int rc, err;
};
#define CALL(o, expr)                                                        \
    do {                                                                     \
        errno = 0;                                                           \
        (o).rc = (expr);                                                     \
        (o).err = errno;                                                     \
    } while (0)

/* expr fails: -1 with errno err */
#define ck_assert_fails(expr, err)                                           \
    do {                                                                     \
        errno = 0;                                                           \
        ck_assert_int_eq((expr), -1);                                        \
        ck_assert_int_eq(errno, (err));                                      \
    } while (0)

static inline hub_task *spawn_ok(hub_fn fn, void *arg)
{
    hub_task *t = hub_spawn(fn, arg);
    ck_assert_ptr_nonnull(t);
    return t;
}

static inline void join_free(hub_task *t)
{
    ck_assert_int_eq(hub_join(t, HUB_FOREVER), 0);
    ck_assert(hub_task_dead(t));
    ck_assert_int_eq(hub_task_free(t), 0);
}

#endif
