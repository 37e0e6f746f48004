/* testutil.h - what the Check unit tests share. */
#ifndef CL_TESTUTIL_H
#define CL_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

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

#endif
