/*
 * test_stack.c - coroutine stacks: sizes, the per-thread pool, and the
 * guard page. A greenlet that recurses without bound must end the process
 * with status 70 and a message naming it and its stack size, rather than
 * run into whatever is mapped below; a fault that is not a stack overflow
 * must still kill the process the ordinary way.
 *
 * The crashing runs happen in a child this test forks itself, so they work
 * with CK_FORK=no too. They are skipped under valgrind (CL_UNDER_VALGRIND),
 * which reports the guard-page access itself instead of delivering it.
 */
#include "testutil.h"
#include "greenlet.h"
#include "sanitize.h" /* CL_ASAN */
#include "stack.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


START_TEST(default_stack_is_usable_and_pooled)
{
    size_t page = cl_page_size();
    ck_assert_uint_eq(page, (size_t)sysconf(_SC_PAGESIZE));
    cl_stack *st = cl_stack_get(0);
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_eq(st->size, CL_STACK_DEFAULT_SIZE);
    ck_assert_uint_eq((uintptr_t)st->base % page, 0);
    memset(st->base, 0xa5, st->size); /* every usable byte is writable */
    ck_assert_int_eq(st->base[st->size - 1], (char)0xa5);
    cl_stack_put(st);
    /* the pool hands the same stack back, for either way of asking */
    cl_stack *again = cl_stack_get(CL_STACK_DEFAULT_SIZE);
    ck_assert_ptr_eq(again, st);
    cl_stack *other = cl_stack_get(0);
    ck_assert_ptr_ne(other, again);
    cl_stack_put(other);
    cl_stack_put(again);
    cl_stack_put(NULL);
}
END_TEST

START_TEST(odd_sizes_round_up_to_whole_pages)
{
    size_t page = cl_page_size();
    size_t sizes[] = {1, 10000, 65536, 3 * 4096 + 1, 1024 * 1024};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cl_stack *st = cl_stack_get(sizes[i]);
        ck_assert_ptr_nonnull(st);
        ck_assert_uint_ge(st->size, sizes[i]);
        ck_assert_uint_lt(st->size, sizes[i] + page);
        ck_assert_uint_eq(st->size % page, 0);
        memset(st->base, 1, st->size);
        cl_stack_put(st);
    }
}
END_TEST

START_TEST(many_stacks_are_distinct)
{
    enum { K = 100 }; /* more than the pool keeps */
    cl_stack *sts[K];
    for (int i = 0; i < K; i++) {
        sts[i] = cl_stack_get(0);
        ck_assert_ptr_nonnull(sts[i]);
        memset(sts[i]->base + sts[i]->size - 64, i, 64);
    }
    for (int i = 0; i < K; i++) {
        for (int j = 0; j < i; j++) /* no overlap */
            ck_assert(sts[i]->base + sts[i]->size <= sts[j]->base ||
                      sts[j]->base + sts[j]->size <= sts[i]->base);
        ck_assert_int_eq(sts[i]->base[sts[i]->size - 1], (char)i);
    }
    for (int i = 0; i < K; i++)
        cl_stack_put(sts[i]);
}
END_TEST

/* A greenlet that fills a few KB of its stack, then waits to be resumed
 * (or freed unresumed, its frames dropped with their redzones). */
static void *fill_and_wait(void *arg, void *value)
{
    volatile char buf[6000];
    (void)value;
    memset((char *)buf, (int)(intptr_t)arg, sizeof buf);
    greenlet_switch(greenlet_parent(greenlet_current()), NULL);
    return (void *)(intptr_t)buf[sizeof buf - 1];
}

/* More guarded greenlets alive at once than the pool keeps: the stacks
 * beyond it are unmapped when they end, and the kernel hands the same
 * addresses to the next ones mapped. Under ASan those must not inherit
 * the shadow of the frames that died there (it reported bogus overflows,
 * or failed a CHECK of its own, in the first big frame of a new greenlet). */
START_TEST(stacks_beyond_the_pool_are_reused_clean)
{
    enum { K = 100 };
    greenlet *gs[K];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < K; i++) {
            gs[i] = greenlet_new(fill_and_wait, (void *)(intptr_t)(i + 1), NULL);
            ck_assert_ptr_nonnull(gs[i]);
            ck_assert_ptr_null(greenlet_switch(gs[i], NULL)); /* now waits */
        }
        for (int i = 0; i < K; i++) {
            if (i % 2) { /* ends normally */
                ck_assert_ptr_eq(greenlet_switch(gs[i], NULL),
                                 (void *)(intptr_t)(i + 1));
                ck_assert(greenlet_dead(gs[i]));
            }
            ck_assert_int_eq(greenlet_free(gs[i]), 0); /* or dropped mid-run */
        }
    }
}
END_TEST

START_TEST(guard_is_64k_by_default_and_configurable)
{
    size_t page = cl_page_size();
    cl_stack *st = cl_stack_get(0);
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_eq(st->guard, CL_STACK_DEFAULT_GUARD);
    ck_assert_uint_ge(CL_STACK_DEFAULT_GUARD, 64 * 1024);
    cl_stack *big = cl_stack_get_guarded(0, 1024 * 1024 + 1);
    ck_assert_ptr_nonnull(big);
    ck_assert_uint_ge(big->guard, 1024 * 1024 + 1);
    ck_assert_uint_eq(big->guard % page, 0);
    ck_assert_ptr_ne(big, st);
    cl_stack_put(big); /* not the pool's kind: unmapped */
    cl_stack_put(st);
}
END_TEST

START_TEST(thread_init_is_idempotent)
{
    ck_assert_int_eq(cl_stack_thread_init(), 0);
    ck_assert_int_eq(cl_stack_thread_init(), 0);
}
END_TEST

/* ---- the handler never enters an interposed write() ----
 *
 * A program that defines write() (the monkey patch does) must not be
 * entered from the overflow handler, on a broken stack: the handler makes
 * the system call itself. This test program interposes write() the same
 * way; every overflow test below fails with status 42 if the handler's
 * message comes through here. */
ssize_t write(int fd, const void *buf, size_t n)
{
    if (n >= 9 && memcmp(buf, "corolab: ", 9) == 0)
        _exit(42);
    return syscall(SYS_write, fd, buf, n);
}

/* ---- crashing children ---- */

struct child {
    int status;
    char err[8192]; /* the start of its stderr */
};

/* Run fn(arg) in a forked child with stderr captured; it must not return. */
static void run_child(void (*fn)(void *), void *arg, struct child *c)
{
    int fd[2];
    char sink[4096];
    size_t n = 0;
    ssize_t k;
    pid_t pid;

    ck_assert_int_eq(pipe(fd), 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], STDERR_FILENO);
        close(fd[1]);
        fn(arg);
        _exit(3); /* it was supposed to crash */
    }
    close(fd[1]);
    while ((k = read(fd[0], n < sizeof c->err - 1 ? c->err + n : sink,
                     n < sizeof c->err - 1 ? sizeof c->err - 1 - n : sizeof sink)) > 0)
        if (n < sizeof c->err - 1)
            n += (size_t)k;
    c->err[n] = '\0';
    close(fd[0]);
    ck_assert_int_eq(waitpid(pid, &c->status, 0), pid);
}

static bool skip_under_valgrind(void)
{
    if (getenv("CL_UNDER_VALGRIND")) {
        fprintf(stderr, "skipped under valgrind: it reports guard-page "
                        "accesses itself\n");
        return true;
    }
    return false;
}

/* Deep enough to overflow any stack; the bound only keeps the compiler
 * from calling the recursion infinite. The frame stays live across the
 * call, so this cannot become a loop. */
static volatile unsigned long depth_limit = ~0UL;

static __attribute__((noinline)) unsigned long recurse(unsigned long n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    pad[511] = (char)n;
    if (n >= depth_limit)
        return n;
    return recurse(n + 1) + (unsigned long)pad[0] + (unsigned long)pad[511];
}

static void *recurse_run(void *arg, void *value)
{
    (void)arg, (void)value;
    return (void *)recurse(0);
}

struct overflow_case {
    greenlet_opts opts;
};

static void overflow_child(void *arg)
{
    struct overflow_case *oc = arg;
    greenlet *g = greenlet_new_opts(recurse_run, NULL, NULL, &oc->opts);
    if (!g)
        _exit(4);
    greenlet_switch(g, NULL);
}

static void assert_overflow_report(const struct child *c, const char *name,
                                   const char *size)
{
    ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 70,
                  "child status %#x, stderr: %s", c->status, c->err);
    ck_assert_msg(strstr(c->err, "stack overflow") != NULL, "stderr: %s", c->err);
    ck_assert_msg(strstr(c->err, name) != NULL, "no '%s' in: %s", name, c->err);
    if (size)
        ck_assert_msg(strstr(c->err, size) != NULL, "no '%s' in: %s", size,
                      c->err);
}

START_TEST(overflow_in_named_greenlet_is_reported)
{
    static struct child c;
    struct overflow_case oc = {
        .opts = {.stack_size = 64 * 1024, .name = "deep-diver"}};
    if (skip_under_valgrind())
        return;
    run_child(overflow_child, &oc, &c);
    assert_overflow_report(&c, "greenlet 'deep-diver'", "stack size 65536 bytes");
}
END_TEST

START_TEST(overflow_with_default_stack_is_reported)
{
    static struct child c;
    char size[64];
    struct overflow_case oc = {.opts = {.name = "default-diver"}};
    if (skip_under_valgrind())
        return;
    run_child(overflow_child, &oc, &c);
    snprintf(size, sizeof size, "stack size %d bytes", CL_STACK_DEFAULT_SIZE);
    assert_overflow_report(&c, "default-diver", size);
}
END_TEST

START_TEST(overflow_in_shared_greenlet_is_reported)
{
    static struct child c;
    struct overflow_case oc = {
        .opts = {.stack_kind = GREENLET_STACK_SHARED, .name = "shared-diver"}};
    if (skip_under_valgrind())
        return;
    run_child(overflow_child, &oc, &c);
    assert_overflow_report(&c, "greenlet 'shared-diver'", "stack size ");
}
END_TEST

START_TEST(overflow_in_unnamed_greenlet_is_reported)
{
    static struct child c;
    struct overflow_case oc = {.opts = {.stack_size = 32 * 1024}};
    if (skip_under_valgrind())
        return;
    run_child(overflow_child, &oc, &c);
    assert_overflow_report(&c, "greenlet-", "stack size 32768 bytes");
}
END_TEST

/* A stray access to a guard page while no greenlet runs on that stack is
 * an ordinary crash: the handler must pass it on, not call it overflow. */
static void touch_idle_guard(void *arg)
{
    (void)arg;
    greenlet_main(); /* installs the handler */
    cl_stack *st = cl_stack_get(0);
    ((volatile char *)st->base)[-1] = 1;
}

START_TEST(other_faults_are_passed_on)
{
    static struct child c;
    if (skip_under_valgrind())
        return;
    run_child(touch_idle_guard, NULL, &c);
    ck_assert_msg(strstr(c.err, "stack overflow") == NULL, "stderr: %s", c.err);
#ifdef CL_ASAN
    /* ASan's own SEGV handler was installed first: it reports and exits */
    ck_assert_msg(!(WIFEXITED(c.status) && (WEXITSTATUS(c.status) == 0 ||
                                            WEXITSTATUS(c.status) == 70 ||
                                            WEXITSTATUS(c.status) == 3)),
                  "child status %#x", c.status);
#else
    ck_assert_msg(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSEGV,
                  "child status %#x, stderr: %s", c.status, c.err);
#endif
}
END_TEST

static bool skip_under_asan(const char *why)
{
#ifdef CL_ASAN
    fprintf(stderr, "skipped under AddressSanitizer: %s\n", why);
    return true;
#else
    (void)why;
    return false;
#endif
}

/* ---- big frames: the guard cannot be stepped over ----
 *
 * Built with stack-clash protection (corolab.mk's default flags; for gcc
 * the attribute below makes sure of it), a frame or alloca bigger than a
 * page touches each page on the way down, so the first touch below the
 * stack lands in its guard, not in whatever is mapped below. */
#if defined(__GNUC__) && !defined(__clang__)
#define CLASH_PROTECTED __attribute__((noinline, optimize("stack-clash-protection")))
#else
#define CLASH_PROTECTED __attribute__((noinline))
#endif

static volatile size_t big_index = 1;

static CLASH_PROTECTED int big_local_array(void)
{
    volatile char big[300 * 1024];
    big[big_index] = 1;
    big[sizeof big - 1] = 2;
    return big[big_index] + big[sizeof big - 1];
}

static volatile size_t alloca_size = 267000;

static CLASH_PROTECTED int big_alloca(void)
{
    char *p = __builtin_alloca(alloca_size);
    memset(p, 0x5a, alloca_size);
    return ((volatile char *)p)[alloca_size / 2];
}

static void *big_frame_run(void *arg, void *value)
{
    (void)value;
    int (*fn)(void) = (int (*)(void))arg;
    return (void *)(intptr_t)fn();
}

static char victim_top[64]; /* what the victim left at the top of its stack */

static void *victim_run(void *arg, void *value)
{
    (void)arg, (void)value;
    volatile char mark[64];
    memset((char *)mark, 'v', sizeof mark);
    greenlet_switch(greenlet_main(), NULL);
    memcpy(victim_top, (char *)mark, sizeof victim_top);
    return NULL;
}

/* The diver is made first, its victim second: mmap places the victim's
 * stack just below the diver's guard, where the old one-page guard let an
 * alloca write silently. */
static void big_frame_child(void *arg)
{
    greenlet_opts d = {.name = "big-frame"};
    greenlet *diver = greenlet_new_opts(big_frame_run, arg, NULL, &d);
    greenlet *victim = greenlet_new(victim_run, NULL, NULL);
    if (!diver || !victim)
        _exit(4);
    greenlet_switch(victim, NULL);
    greenlet_switch(diver, NULL);
    greenlet_switch(victim, NULL); /* only reached if nothing faulted */
    fprintf(stderr, "victim's frame %s\n",
            memchr(victim_top, 'v', 1) ? "intact" : "overwritten");
}

START_TEST(big_local_array_overflow_is_reported)
{
    static struct child c;
    if (skip_under_valgrind() ||
        skip_under_asan("it gives big frames redzones and fake stacks"))
        return;
    run_child(big_frame_child, (void *)big_local_array, &c);
    assert_overflow_report(&c, "greenlet 'big-frame'", "stack size 262144 bytes");
}
END_TEST

START_TEST(alloca_overflow_is_reported)
{
    static struct child c;
    if (skip_under_valgrind() ||
        skip_under_asan("it gives alloca redzones of its own"))
        return;
    run_child(big_frame_child, (void *)big_alloca, &c);
    assert_overflow_report(&c, "greenlet 'big-frame'", "stack size 262144 bytes");
}
END_TEST

/* A fault anywhere in a greenlet's guard, and in the guard of a greenlet
 * that is not the one running, names the greenlet the guard belongs to. */
static greenlet *deep_guard_g;

static void *poke_guard_run(void *arg, void *value)
{
    (void)value;
    greenlet *target = arg ? arg : greenlet_current();
    cl_stack *st = target->stack;
    ((volatile char *)st->base)[-(ptrdiff_t)st->guard + 100] = 1;
    return NULL;
}

static void deep_guard_child(void *arg)
{
    greenlet_opts wide = {.name = "wide-guard", .guard_size = 1024 * 1024};
    deep_guard_g = greenlet_new_opts(poke_guard_run, NULL, NULL, &wide);
    greenlet *other = greenlet_new_opts(poke_guard_run, deep_guard_g, NULL,
                                        &(greenlet_opts){.name = "poker"});
    if (!deep_guard_g || !other)
        _exit(4);
    greenlet_switch(arg ? other : deep_guard_g, NULL);
}

START_TEST(fault_deep_in_a_wide_guard_is_reported)
{
    static struct child c;
    if (skip_under_valgrind())
        return;
    run_child(deep_guard_child, NULL, &c);
    assert_overflow_report(&c, "greenlet 'wide-guard'", NULL);
}
END_TEST

START_TEST(fault_in_another_greenlets_guard_names_it)
{
    static struct child c;
    if (skip_under_valgrind())
        return;
    run_child(deep_guard_child, (void *)1, &c);
    assert_overflow_report(&c, "greenlet 'wide-guard'", NULL);
}
END_TEST

/* ---- no stack: ENOMEM, not a dead greenlet ---- */

/* With the address space limited to what the process has, mapping a new
 * stack fails: the pool says ENOMEM, and so does greenlet_new. */
static void no_room_child(void *arg)
{
    (void)arg;
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    greenlet_opts odd = {.stack_size = 512 * 1024}; /* never pooled */
    greenlet_main();
    if (!f || fscanf(f, "%ld", &pages) != 1)
        _exit(5);
    fclose(f);
    struct rlimit rl = {.rlim_cur = (rlim_t)pages * cl_page_size() + 65536,
                        .rlim_max = RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        _exit(6);
    /* qemu-user keeps the guest's mappings inside its own reservation,
     * where the limit does not bite: nothing to test there. */
    void *probe = mmap(NULL, 1024 * 1024, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe != MAP_FAILED) {
        fprintf(stderr, "skipped: the address-space limit does not bite here\n");
        _exit(0);
    }
    errno = 0;
    if (cl_stack_get(512 * 1024) != NULL || errno != ENOMEM)
        _exit(7);
    errno = 0;
    if (greenlet_new_opts(big_frame_run, NULL, NULL, &odd) != NULL ||
        errno != ENOMEM)
        _exit(8);
    _exit(0);
}

START_TEST(no_address_space_is_enomem)
{
    static struct child c;
    if (skip_under_valgrind() ||
        skip_under_asan("its shadow memory does not fit an address-space limit"))
        return;
    run_child(no_room_child, NULL, &c);
    ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0,
                  "child status %#x, stderr: %s", c.status, c.err);
    if (strstr(c.err, "skipped"))
        fputs(c.err, stderr);
}
END_TEST

static Suite *stack_suite(void)
{
    Suite *s = suite_create("stack (" CL_SWITCH_NAME ")");
    TCase *tc = tcase_create("stacks");
    tcase_add_test(tc, default_stack_is_usable_and_pooled);
    tcase_add_test(tc, odd_sizes_round_up_to_whole_pages);
    tcase_add_test(tc, many_stacks_are_distinct);
    tcase_add_test(tc, stacks_beyond_the_pool_are_reused_clean);
    tcase_add_test(tc, guard_is_64k_by_default_and_configurable);
    tcase_add_test(tc, thread_init_is_idempotent);
    suite_add_tcase(s, tc);
    TCase *ov = tcase_create("overflow");
    tcase_set_timeout(ov, 60); /* ASan reports and qemu are slow */
    tcase_add_test(ov, overflow_in_named_greenlet_is_reported);
    tcase_add_test(ov, overflow_with_default_stack_is_reported);
    tcase_add_test(ov, overflow_in_shared_greenlet_is_reported);
    tcase_add_test(ov, overflow_in_unnamed_greenlet_is_reported);
    tcase_add_test(ov, other_faults_are_passed_on);
    tcase_add_test(ov, big_local_array_overflow_is_reported);
    tcase_add_test(ov, alloca_overflow_is_reported);
    tcase_add_test(ov, fault_deep_in_a_wide_guard_is_reported);
    tcase_add_test(ov, fault_in_another_greenlets_guard_names_it);
    tcase_add_test(ov, no_address_space_is_enomem);
    suite_add_tcase(s, ov);
    return s;
}

CL_TEST_MAIN(stack_suite)
