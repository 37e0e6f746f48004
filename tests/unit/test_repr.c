/*
 * test_repr.c - common/repr.c prints bytes as Python's repr() does. Each
 * expected string below is what CPython 3 prints for the same bytes.
 */
#include "testutil.h"
#include "repr.h"

#include <stdio.h>
#include <string.h>

static const char *repr(const void *p, size_t n, size_t max_shown)
{
    static char buf[CL_REPR_SIZE(300)];
    size_t need = cl_repr_bytes(buf, sizeof buf, p, n, max_shown);
    ck_assert_uint_eq(need, strlen(buf));
    return buf;
}

#define S(lit) lit, sizeof lit - 1

START_TEST(like_python)
{
    ck_assert_str_eq(repr(S(""), 0), "b''");
    ck_assert_str_eq(repr(S("hello 0"), 0), "b'hello 0'");
    ck_assert_str_eq(repr(S("a\tb\nc\rd"), 0), "b'a\\tb\\nc\\rd'");
    ck_assert_str_eq(repr(S("\x00\x01\x1f\x7f\x80\xff"), 0), "b'\\x00\\x01\\x1f\\x7f\\x80\\xff'");
    ck_assert_str_eq(repr(S("back\\slash"), 0), "b'back\\\\slash'");
    /* Quotes: ' alone switches to "; both keep ' and escape it. */
    ck_assert_str_eq(repr(S("it's"), 0), "b\"it's\"");
    ck_assert_str_eq(repr(S("say \"hi\""), 0), "b'say \"hi\"'");
    ck_assert_str_eq(repr(S("it's \"x\""), 0), "b'it\\'s \"x\"'");
    ck_assert_str_eq(repr(S(" ~"), 0), "b' ~'");
}
END_TEST

START_TEST(cut_long)
{
    char big[100];
    memset(big, 'a', sizeof big);
    ck_assert_str_eq(repr(big, sizeof big, 4), "b'aaaa'... (100 bytes)");
    ck_assert_str_eq(repr(big, 4, 4), "b'aaaa'"); /* exactly max_shown: not cut */
    ck_assert_uint_eq(strlen(repr(big, sizeof big, 0)), 103);
}
END_TEST

START_TEST(like_snprintf)
{
    char small[6];
    unsigned char all[256];
    /* b'hello 0' needs 10; 5 fit with the NUL. */
    ck_assert_uint_eq(cl_repr_bytes(small, sizeof small, "hello 0", 7, 0), 10);
    ck_assert_str_eq(small, "b'hel");
    ck_assert_uint_eq(cl_repr_bytes(NULL, 0, "hello 0", 7, 0), 10);
    /* The worst case fits CL_REPR_SIZE. */
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    ck_assert_uint_lt(cl_repr_bytes(NULL, 0, all, sizeof all, 64), CL_REPR_SIZE(64));
    memset(all, 0xff, sizeof all);
    ck_assert_uint_lt(cl_repr_bytes(NULL, 0, all, sizeof all, 0), CL_REPR_SIZE(sizeof all));
}
END_TEST

START_TEST(to_a_file)
{
    char *text = NULL;
    size_t len = 0;
    char big[5000];
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(cl_fputs_repr_bytes(f, "x'\n", 3, 0), 0);
    memset(big, '\\', sizeof big);
    ck_assert_int_ge(cl_fputs_repr_bytes(f, big, sizeof big, 0), 0); /* past its stack buffer */
    fclose(f);
    ck_assert_uint_eq(len, 7 + 3 + 2 * sizeof big); /* b"x'\n" b'\\...' */
    ck_assert(strncmp(text, "b\"x'\\n\"b'\\\\\\\\", 13) == 0);
    free(text);
}
END_TEST

static Suite *repr_suite(void)
{
    Suite *s = suite_create("repr");
    TCase *tc = tcase_create("repr");
    tcase_add_test(tc, like_python);
    tcase_add_test(tc, cut_long);
    tcase_add_test(tc, like_snprintf);
    tcase_add_test(tc, to_a_file);
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(repr_suite)
