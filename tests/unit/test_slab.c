/*
 * test_slab.c - the core's slab (slab.h): records are aligned, distinct
 * and keep what is written into them; freed ones come back last freed
 * first; many allocations span several chunks; freeing in random order
 * leaves exactly the others to cl_slab_foreach; the size classes give a
 * block at least as big as asked, and malloc past CL_SLABS_MAX.
 */
#include "testutil.h"
#include "slab.h"
#include "sanitize.h" /* CL_ASAN */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(records_are_aligned_distinct_and_hold_their_bytes)
{
    cl_slab s;
    unsigned char *p[64];
    cl_slab_init(&s, 37); /* rounded up to 40: 8-aligned records */
    ck_assert_uint_eq(s.size, 40);
    for (int i = 0; i < 64; i++) {
        p[i] = cl_slab_alloc(&s);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq((uintptr_t)p[i] % 8, 0);
        memset(p[i], i, 40);
    }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 40; j++)
            ck_assert_uint_eq(p[i][j], (unsigned)i); /* no overlap */
    ck_assert_uint_eq(s.live, 64);
    cl_slab_fini(&s);
    ck_assert_uint_eq(s.live, 0);
    ck_assert_uint_eq(s.size, 40); /* usable again */
    cl_slab_init(&s, 48); /* a multiple of 16: 16-aligned records */
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq((uintptr_t)cl_slab_alloc(&s) % 16, 0);
    cl_slab_fini(&s);
}
END_TEST

START_TEST(freed_records_come_back_last_freed_first)
{
    cl_slab s;
    cl_slab_init(&s, 32);
    void *a = cl_slab_alloc(&s), *b = cl_slab_alloc(&s), *c = cl_slab_alloc(&s);
    cl_slab_free(&s, a);
    cl_slab_free(&s, c);
    ck_assert_ptr_eq(cl_slab_alloc(&s), c);
    ck_assert_ptr_eq(cl_slab_alloc(&s), a);
    void *d = cl_slab_alloc(&s); /* the list is empty: a new one */
    ck_assert_ptr_ne(d, a);
    ck_assert_ptr_ne(d, b);
    ck_assert_ptr_ne(d, c);
    cl_slab_free(&s, NULL); /* nothing */
    ck_assert_uint_eq(s.live, 4);
    cl_slab_fini(&s);
}
END_TEST

static void count_and_check(void *rec, void *arg)
{
    size_t *seen = arg;
    /* each live record still holds its own address */
    ck_assert_ptr_eq(*(void **)rec, rec);
    seen[0]++;
}

static void free_it(void *rec, void *arg)
{
    cl_slab_free(arg, rec);
}

/* More records than one chunk holds, freed in a random order: the
 * survivors, and only they, are visited; then all are reused. */
START_TEST(many_records_freed_in_random_order)
{
    enum { N = 150000 }; /* 150,000 x 32 B: three chunks */
    cl_slab s;
    void **p = malloc(N * sizeof *p);
    size_t seen = 0, kept = 0;
    ck_assert_ptr_nonnull(p);
    cl_slab_init(&s, 32);
    for (size_t i = 0; i < N; i++) {
        p[i] = cl_slab_alloc(&s);
        ck_assert_ptr_nonnull(p[i]);
        *(void **)p[i] = p[i];
    }
    ck_assert_uint_ge(s.nchunks, 3);
    srand(12);
    for (size_t i = N - 1; i > 0; i--) { /* shuffle */
        size_t j = (size_t)rand() % (i + 1);
        void *x = p[i];
        p[i] = p[j];
        p[j] = x;
    }
    for (size_t i = 0; i < N; i++) {
        if (i % 3 == 0) {
            kept++;
            continue;
        }
        cl_slab_free(&s, p[i]);
        p[i] = NULL;
    }
    ck_assert_uint_eq(s.live, kept);
    cl_slab_foreach(&s, count_and_check, &seen);
    ck_assert_uint_eq(seen, kept);
    /* the freed ones are reused before any new chunk is mapped */
    unsigned chunks = s.nchunks;
    for (size_t i = 0; i < N - kept; i++)
        ck_assert_ptr_nonnull(cl_slab_alloc(&s));
    ck_assert_uint_eq(s.nchunks, chunks);
    /* foreach may free the record it is given */
    cl_slab_foreach(&s, free_it, &s);
    ck_assert_uint_eq(s.live, 0);
    seen = 0;
    cl_slab_foreach(&s, count_and_check, &seen);
    ck_assert_uint_eq(seen, 0);
    cl_slab_fini(&s);
    free(p);
}
END_TEST

START_TEST(size_classes_fit_and_big_blocks_use_malloc)
{
    cl_slabs *z = calloc(1, sizeof *z);
    size_t cap;
    ck_assert_ptr_nonnull(z);
    for (size_t n = 1; n <= CL_SLABS_MAX + 100; n += 37) {
        char *p = cl_slabs_alloc(z, n, &cap);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_ge(cap, n);
        if (n <= CL_SLABS_MAX)
            ck_assert_uint_lt(cap, n + 16); /* the nearest class */
        else
            ck_assert_uint_eq(cap, n);
        memset(p, 0x5a, n);
        cl_slabs_free(z, p, cap);
    }
    /* the same class hands a freed block back */
    char *a = cl_slabs_alloc(z, 300, &cap);
    cl_slabs_free(z, a, cap);
    ck_assert_ptr_eq(cl_slabs_alloc(z, 290, &cap), a);
    cl_slabs_free(z, a, cap);
    cl_slabs_fini(z);
    free(z);
}
END_TEST

#ifdef CL_ASAN
/* Under AddressSanitizer a freed record is poisoned (a use after free is
 * reported) and a record handed out, fresh or reused, is not. */
START_TEST(asan_sees_freed_records_as_poisoned)
{
    cl_slab s;
    cl_slab_init(&s, 64);
    char *a = cl_slab_alloc(&s), *b = cl_slab_alloc(&s);
    ck_assert(!__asan_region_is_poisoned(a, 64));
    ck_assert(__asan_address_is_poisoned(b + 64)); /* never handed out */
    cl_slab_free(&s, a);
    ck_assert(__asan_address_is_poisoned(a));
    ck_assert(__asan_address_is_poisoned(a + 63));
    ck_assert(!__asan_region_is_poisoned(b, 64)); /* its neighbour */
    ck_assert_ptr_eq(cl_slab_alloc(&s), a);
    ck_assert(!__asan_region_is_poisoned(a, 64));
    cl_slab_fini(&s);
}
END_TEST
#endif

static Suite *slab_suite(void)
{
    Suite *s = suite_create("slab");
    TCase *tc = tcase_create("slab");
    tcase_set_timeout(tc, 60); /* valgrind */
    tcase_add_test(tc, records_are_aligned_distinct_and_hold_their_bytes);
    tcase_add_test(tc, freed_records_come_back_last_freed_first);
    tcase_add_test(tc, many_records_freed_in_random_order);
    tcase_add_test(tc, size_classes_fit_and_big_blocks_use_malloc);
#ifdef CL_ASAN
    tcase_add_test(tc, asan_sees_freed_records_as_poisoned);
#endif
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(slab_suite)
