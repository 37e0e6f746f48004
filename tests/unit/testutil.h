/* testutil.h - what the Check unit tests share. */
#ifndef CL_TESTUTIL_H
#define CL_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "greenlet.h"

/* One suite per test program: main() runs it and exits non-zero on any
 * failure. CK_FORK etc. are honoured as Check documents. */
#define CL_TEST_MAIN(suite_fn)                                   \
    int main(void)                                               \
    {                                                            \
        SRunner *sr = srunner_create(suite_fn());                \
        int failed;                                              \
        srunner_run_all(sr, CK_NORMAL);                          \
        failed = srunner_ntests_failed(sr);                      \
        srunner_free(sr);                                        \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;             \
    }

/* A trace hook (greenlet_set_switch_hook) that spoils errno: a switch
 * must keep the errno the hub set for the greenlet it resumes. */
static inline void cl_test_hook_spoiling_errno(greenlet *from, greenlet *to)
{
    (void)from;
    (void)to;
    errno = EIO;
}

#endif
