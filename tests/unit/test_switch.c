/*
 * test_switch.c - layer 0, cl_ctx_make/cl_ctx_switch, with no greenlet
 * bookkeeping in the way: values travel both ways, callee-saved registers
 * survive, a fresh context starts on a 16-byte aligned stack, and each
 * context keeps its own FPU control state (rounding mode).
 *
 * Coroutines here never end (an entry must not return): each test leaves
 * them suspended and hands their stack back.
 */
#include "testutil.h"
#include "sanitize.h" /* CL_ASAN */
#include "stack.h"
#include "switch.h"

#include <fenv.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* Frames abandoned on a stack (these coroutines never return) leave
 * AddressSanitizer's redzone marks behind; clear them before reusing it. */
static void unpoison(cl_stack *st)
{
#ifdef CL_ASAN
    __asan_unpoison_memory_region(st->base, st->size);
#else
    (void)st;
#endif
}

/* One suspended-or-running context and the stack it runs on. */
typedef struct co {
    cl_ctx ctx;
    cl_stack *st;
} co;

static co main_co;

static void co_start(co *c, cl_ctx_entry entry, void *arg)
{
    c->st = cl_stack_get(0);
    ck_assert_ptr_nonnull(c->st);
    cl_ctx_make(&c->ctx, c->st->base, c->st->size, entry, arg);
}

static void co_drop(co *c)
{
    cl_stack_put(c->st);
    c->st = NULL;
}

/* ---- values both ways ---- */

static co echo_co;
static void *echo_arg_seen, *echo_first_seen;

/* Hands back every value it gets, plus one. */
static void echo_entry(void *arg, void *value)
{
    echo_arg_seen = arg;
    echo_first_seen = value;
    for (;;)
        value = cl_ctx_switch(&echo_co.ctx, &main_co.ctx,
                              (void *)((uintptr_t)value + 1));
}

START_TEST(values_pass_both_ways)
{
    int marker;
    co_start(&echo_co, echo_entry, &marker);
    void *r = cl_ctx_switch(&main_co.ctx, &echo_co.ctx, (void *)41);
    ck_assert_ptr_eq(echo_arg_seen, &marker);
    ck_assert_ptr_eq(echo_first_seen, (void *)41);
    ck_assert_ptr_eq(r, (void *)42);
    for (uintptr_t i = 100; i < 2100; i++) {
        r = cl_ctx_switch(&main_co.ctx, &echo_co.ctx, (void *)i);
        ck_assert_ptr_eq(r, (void *)(i + 1));
    }
    /* NULL and all-ones pointers travel unchanged too. */
    r = cl_ctx_switch(&main_co.ctx, &echo_co.ctx, (void *)UINTPTR_MAX);
    ck_assert_ptr_eq(r, NULL);
    co_drop(&echo_co);
}
END_TEST

/* ---- callee-saved registers ---- */

/* Many integer and floating-point values live across each hop: more than
 * there are callee-saved registers on either CPU, so the compiler keeps
 * some in rbx/rbp/r12-r15 (x19-x28, d8-d15 on aarch64). The other side of
 * the switch runs the same code with different values, so a register the
 * switch forgot to save comes back holding the other side's value. */
typedef void (*hop_fn)(int side);

/* One body, two functions: the hop through a function pointer, or (x86-64)
 * the inline switch right in the loop, where the compiler itself must save
 * whatever is live across it. */
#define LIVE_VALUES_BODY(HOP)                                                   \
    uint64_t a = seed * 3 + 1, b = seed ^ 0x5555, c = seed << 3, d = seed + 77; \
    uint64_t e = ~seed, f = seed * seed, g = seed >> 2, h = seed * 1000003;     \
    uint64_t i = seed + 11, j = seed ^ 0xdeadbeef, k = seed * 7, l = seed + 5;  \
    double x = (double)seed * 0.5, y = (double)seed + 0.25;                     \
    double z = 1.0 / (double)(seed + 1), u = (double)seed * 3.0, v = 2.0;      \
    double w = (double)seed - 9.0, p = 0.125 * (double)seed;                   \
    double q = (double)seed * (double)seed;                                     \
    for (int r = 0; r < rounds; r++) {                                          \
        HOP;                                                                    \
        a += b; b ^= c + (uint64_t)r; c += d * 3; d ^= e >> 1;                  \
        e += f; f ^= g << 1; g += h; h ^= i * 5;                                \
        i += j; j ^= k + 1; k += l; l ^= a;                                     \
        x += y; y = y * 0.5 + z; z += u; u -= v * 0.25;                         \
        v += w * 0.125; w = w * 0.75 + p; p += q; q = q * 0.5 + x;              \
    }                                                                           \
    double fsum = x + y + z + u + v + w + p + q;                                \
    uint64_t fbits;                                                             \
    memcpy(&fbits, &fsum, sizeof fbits); /* exact, never out of range */       \
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k ^ l ^ fbits;

static __attribute__((noinline)) uint64_t live_values(hop_fn hop, int side,
                                                      uint64_t seed, int rounds)
{
    LIVE_VALUES_BODY(hop(side))
}

static co reg_co;

#if defined(CL_HAVE_INLINE_SWITCH)
static __attribute__((noinline)) uint64_t live_values_inline(int side,
                                                             uint64_t seed,
                                                             int rounds)
{
    cl_ctx *self = side == 0 ? &main_co.ctx : &reg_co.ctx;
    cl_ctx *other = side == 0 ? &reg_co.ctx : &main_co.ctx;
    LIVE_VALUES_BODY(cl_ctx_switch_inline(self, other, NULL))
}
#endif

static void hop_none(int side)
{
    (void)side;
    __asm__ volatile("" ::: "memory");
}

static void hop_switch(int side)
{
    if (side == 0)
        cl_ctx_switch(&main_co.ctx, &reg_co.ctx, NULL);
    else
        cl_ctx_switch(&reg_co.ctx, &main_co.ctx, NULL);
}

#define REG_ROUNDS 500
static uint64_t reg_co_result;
static int reg_co_inline; /* the coroutine side uses the inline switch */

static void reg_entry(void *arg, void *value)
{
    (void)value;
#if defined(CL_HAVE_INLINE_SWITCH)
    if (reg_co_inline)
        reg_co_result = live_values_inline(1, (uint64_t)(uintptr_t)arg,
                                           REG_ROUNDS);
    else
#endif
        reg_co_result = live_values(hop_switch, 1, (uint64_t)(uintptr_t)arg,
                                    REG_ROUNDS);
    for (;;) /* finished: answer every later switch at once */
        cl_ctx_switch(&reg_co.ctx, &main_co.ctx, NULL);
}

/* main_inline/co_inline: which switch each side suspends itself with. */
static void check_live_values(int main_inline, int co_inline)
{
    uint64_t want_main = live_values(hop_none, 0, 12345, REG_ROUNDS);
    uint64_t want_co = live_values(hop_none, 1, 987654321, REG_ROUNDS);
    uint64_t got_main;

    reg_co_inline = co_inline;
    reg_co_result = 0;
    co_start(&reg_co, reg_entry, (void *)(uintptr_t)987654321);
    /* Main hops first, so the two sides alternate: each switch leaves
     * one side's registers in the CPU when the other resumes. */
#if defined(CL_HAVE_INLINE_SWITCH)
    if (main_inline)
        got_main = live_values_inline(0, 12345, REG_ROUNDS);
    else
#endif
        got_main = live_values(hop_switch, 0, 12345, REG_ROUNDS);
    (void)main_inline;
    cl_ctx_switch(&main_co.ctx, &reg_co.ctx, NULL); /* let it return */
    ck_assert_msg(got_main == want_main, "main's values changed (main %s, coroutine %s)",
                  main_inline ? "inline" : "call", co_inline ? "inline" : "call");
    ck_assert_msg(reg_co_result == want_co, "coroutine's values changed (main %s, coroutine %s)",
                  main_inline ? "inline" : "call", co_inline ? "inline" : "call");
    co_drop(&reg_co);
}

START_TEST(callee_saved_registers_survive)
{
    check_live_values(0, 0);
}
END_TEST

#if defined(CL_HAVE_INLINE_SWITCH)
/* The inline switch (what greenlet_switch's fast path uses) keeps live
 * values too, and a context suspended by either switch is resumed by the
 * other. */
START_TEST(inline_switch_keeps_live_values_and_mixes)
{
    check_live_values(1, 1);
    check_live_values(1, 0);
    check_live_values(0, 1);
}
END_TEST

static co inl_co;

static void inline_echo_entry(void *arg, void *value)
{
    (void)arg;
    for (;;)
        value = cl_ctx_switch_inline(&inl_co.ctx, &main_co.ctx,
                                     (void *)((uintptr_t)value * 3));
}

START_TEST(inline_switch_passes_values)
{
    co_start(&inl_co, inline_echo_entry, NULL);
    for (uintptr_t i = 1; i < 1000; i++) {
        void *r = i % 2 ? cl_ctx_switch_inline(&main_co.ctx, &inl_co.ctx, (void *)i)
                        : cl_ctx_switch(&main_co.ctx, &inl_co.ctx, (void *)i);
        ck_assert_ptr_eq(r, (void *)(i * 3));
    }
    co_drop(&inl_co);
}
END_TEST
#endif

/* Deep recursion on both sides, switching at every level on the way down
 * and up: each frame's arguments and locals (kept in callee-saved
 * registers and spilled to its own stack) must be intact afterwards. */
static co rec_co;

static long expect_recurse(long depth, long salt)
{
    long s = salt;
    for (long d = 1; d <= depth; d++)
        s += d * 31 + salt;
    return s;
}

#define REC_DEPTH 300
static long rec_co_result;

static void hop_rec(int side)
{
    if (side == 0)
        cl_ctx_switch(&main_co.ctx, &rec_co.ctx, NULL);
    else
        cl_ctx_switch(&rec_co.ctx, &main_co.ctx, NULL);
}

static __attribute__((noinline)) long recurse_rec(int side, long depth, long salt)
{
    long mine = depth * 31 + salt, sum;
    if (depth == 0)
        return salt;
    hop_rec(side);
    sum = recurse_rec(side, depth - 1, salt) + mine;
    hop_rec(side);
    return mine == depth * 31 + salt ? sum : -1000000;
}

static void rec_entry(void *arg, void *value)
{
    (void)arg, (void)value;
    rec_co_result = recurse_rec(1, REC_DEPTH, 7);
    for (;;)
        cl_ctx_switch(&rec_co.ctx, &main_co.ctx, NULL);
}

START_TEST(deep_recursion_keeps_frames)
{
    co_start(&rec_co, rec_entry, NULL);
    long got = recurse_rec(0, REC_DEPTH, 1000);
    cl_ctx_switch(&main_co.ctx, &rec_co.ctx, NULL);
    ck_assert_int_eq(got, expect_recurse(REC_DEPTH, 1000));
    ck_assert_int_eq(rec_co_result, expect_recurse(REC_DEPTH, 7));
    co_drop(&rec_co);
}
END_TEST

/* ---- stack alignment ---- */

static co align_co;
static uintptr_t align_entry_local, align_callee_local;

static __attribute__((noinline)) void align_callee(void)
{
    __attribute__((aligned(16))) volatile char buf[16];
    buf[0] = 1;
    align_callee_local = (uintptr_t)buf;
}

/* The compiler assumes the ABI's 16-byte alignment at function entry and
 * places this buffer relative to it without realigning: if the switch
 * started us on a misaligned stack, the buffer is misaligned too. */
static void align_entry(void *arg, void *value)
{
    __attribute__((aligned(16))) volatile char buf[16];
    (void)arg, (void)value;
    buf[0] = 1;
    align_entry_local = (uintptr_t)buf;
    align_callee();
    for (;;)
        cl_ctx_switch(&align_co.ctx, &main_co.ctx, NULL);
}

START_TEST(stack_aligned_at_entry)
{
    cl_stack *st = cl_stack_get(0);
    ck_assert_ptr_nonnull(st);
    /* Any stack start and size, aligned or not, must give an ABI stack. */
    for (size_t off = 0; off < 16; off++) {
        for (size_t trim = 0; trim < 16; trim += 5) {
            align_entry_local = align_callee_local = 1;
            unpoison(st);
            cl_ctx_make(&align_co.ctx, st->base + off, st->size - off - trim,
                        align_entry, NULL);
            cl_ctx_switch(&main_co.ctx, &align_co.ctx, NULL);
            ck_assert_msg(align_entry_local % 16 == 0,
                          "entry local at %#lx (offset %zu, trim %zu)",
                          (unsigned long)align_entry_local, off, trim);
            ck_assert_msg(align_callee_local % 16 == 0,
                          "callee local at %#lx (offset %zu, trim %zu)",
                          (unsigned long)align_callee_local, off, trim);
            /* and it stays inside the stack it was given */
            ck_assert(align_entry_local >= (uintptr_t)st->base + off);
            ck_assert(align_entry_local < (uintptr_t)st->base + st->size - trim);
        }
    }
    cl_stack_put(st);
}
END_TEST

/* ---- FPU control state per context ---- */

/* 1/3 is not representable, so its rounding shows the rounding mode of
 * whichever unit computed it. volatile keeps the divisions at run time. */
static volatile double one = 1.0, three = 3.0;

static double third(void)
{
    return one / three;
}

#if defined(__x86_64__)
static volatile long double one_l = 1.0L, seven_l = 7.0L;

/* The x87 unit has its own control word, separate from SSE's MXCSR. With
 * its 64-bit mantissa 1/3 rounds up even to nearest; 1/7 does not. */
static long double third_x87(void)
{
    return one_l / seven_l;
}
#endif

struct fpu_seen {
    int mode;       /* fegetround: the x87 control word on x86-64, FPCR on aarch64 */
    unsigned sse_rc; /* x86-64: MXCSR's rounding control, read directly */
    double third;
#if defined(__x86_64__)
    long double third_x87;
#endif
};

static void fpu_look(struct fpu_seen *s)
{
    s->mode = fegetround();
#if defined(__x86_64__)
    s->sse_rc = (_mm_getcsr() >> 13) & 3;
#else
    s->sse_rc = 0;
#endif
    s->third = third();
#if defined(__x86_64__)
    s->third_x87 = third_x87();
#endif
}

static struct fpu_seen nearest_ref, upward_ref;

/* valgrind tracks the control registers but computes SSE and x87 results
 * in the default rounding mode whatever they say: there the test can only
 * read the mode back, not see it in the arithmetic. */
static bool arithmetic_rounds(void)
{
    return getenv("CL_UNDER_VALGRIND") == NULL;
}

static void assert_fpu(const struct fpu_seen *s, const struct fpu_seen *ref,
                       const char *who)
{
    ck_assert_msg(s->mode == ref->mode, "%s: rounding mode %d, want %d", who,
                  s->mode, ref->mode);
    ck_assert_msg(s->sse_rc == ref->sse_rc, "%s: MXCSR rounding %u, want %u",
                  who, s->sse_rc, ref->sse_rc);
    if (!arithmetic_rounds())
        return;
    ck_assert_msg(s->third == ref->third, "%s: SSE/FP rounding changed", who);
#if defined(__x86_64__)
    ck_assert_msg(s->third_x87 == ref->third_x87, "%s: x87 rounding changed",
                  who);
#endif
}

static co up_co, plain_co;
static struct fpu_seen up_first, up_again, plain_seen;

static void up_entry(void *arg, void *value)
{
    (void)arg, (void)value;
    fesetround(FE_UPWARD);
    fpu_look(&up_first);
    cl_ctx_switch(&up_co.ctx, &main_co.ctx, NULL);
    fpu_look(&up_again);
    for (;;)
        cl_ctx_switch(&up_co.ctx, &main_co.ctx, NULL);
}

static void plain_entry(void *arg, void *value)
{
    (void)arg, (void)value;
    fpu_look(&plain_seen);
    for (;;)
        cl_ctx_switch(&plain_co.ctx, &main_co.ctx, NULL);
}

START_TEST(fpu_rounding_mode_per_context)
{
    struct fpu_seen m;

    ck_assert_int_eq(fegetround(), FE_TONEAREST);
    fpu_look(&nearest_ref);
    ck_assert_int_eq(fesetround(FE_UPWARD), 0);
    fpu_look(&upward_ref);
    fesetround(FE_TONEAREST);
    /* the check itself must be able to tell the modes apart */
    ck_assert_int_ne(upward_ref.mode, nearest_ref.mode);
#if defined(__x86_64__)
    ck_assert_uint_ne(upward_ref.sse_rc, nearest_ref.sse_rc);
#endif
    if (arithmetic_rounds()) {
        ck_assert(upward_ref.third > nearest_ref.third);
#if defined(__x86_64__)
        ck_assert(upward_ref.third_x87 > nearest_ref.third_x87);
#endif
    }

    co_start(&up_co, up_entry, NULL);
    co_start(&plain_co, plain_entry, NULL);
    cl_ctx_switch(&main_co.ctx, &up_co.ctx, NULL); /* it rounds upward now */
    assert_fpu(&up_first, &upward_ref, "coroutine after fesetround");
    fpu_look(&m);
    assert_fpu(&m, &nearest_ref, "main while the other rounds upward");
    /* a context made and started now starts with main's state */
    cl_ctx_switch(&main_co.ctx, &plain_co.ctx, NULL);
    assert_fpu(&plain_seen, &nearest_ref, "second coroutine");
    cl_ctx_switch(&main_co.ctx, &up_co.ctx, NULL);
    assert_fpu(&up_again, &upward_ref, "first coroutine when resumed");
    fpu_look(&m);
    assert_fpu(&m, &nearest_ref, "main at the end");
    co_drop(&up_co);
    co_drop(&plain_co);
}
END_TEST

/* A context made while the maker rounds upward starts rounding upward:
 * the FPU state a fresh context starts with is its maker's. */
static co inherit_co;
static struct fpu_seen inherit_seen;

static void inherit_entry(void *arg, void *value)
{
    (void)arg, (void)value;
    fpu_look(&inherit_seen);
    for (;;)
        cl_ctx_switch(&inherit_co.ctx, &main_co.ctx, NULL);
}

START_TEST(fpu_fresh_context_inherits_makers_state)
{
    struct fpu_seen m;
    fpu_look(&nearest_ref);
    fesetround(FE_UPWARD);
    fpu_look(&upward_ref);
    co_start(&inherit_co, inherit_entry, NULL);
    fesetround(FE_TONEAREST);
    cl_ctx_switch(&main_co.ctx, &inherit_co.ctx, NULL);
    assert_fpu(&inherit_seen, &upward_ref, "context made while rounding upward");
    fpu_look(&m);
    assert_fpu(&m, &nearest_ref, "main");
    co_drop(&inherit_co);
}
END_TEST

#if defined(CL_HAVE_INLINE_SWITCH)
/* A context that promises never to change its FPU state (the hub) leaves
 * with cl_ctx_switch_inline_fixed, which compares instead of storing: it
 * must still run with the state it was made with, and hand the resumer's
 * own state back to it. */
static co fix_co;
static struct fpu_seen fix_seen[2];

static void fixed_entry(void *arg, void *value)
{
    (void)arg, (void)value;
    fpu_look(&fix_seen[0]);
    cl_ctx_switch_inline_fixed(&fix_co.ctx, &main_co.ctx, NULL);
    fpu_look(&fix_seen[1]);
    for (;;)
        cl_ctx_switch_inline_fixed(&fix_co.ctx, &main_co.ctx, NULL);
}

START_TEST(fixed_fpu_context_keeps_its_state)
{
    struct fpu_seen m;
    fpu_look(&nearest_ref);
    fesetround(FE_UPWARD);
    fpu_look(&upward_ref);
    fesetround(FE_TONEAREST);
    co_start(&fix_co, fixed_entry, NULL); /* made rounding to nearest */
    fesetround(FE_UPWARD);
    cl_ctx_switch(&main_co.ctx, &fix_co.ctx, NULL);
    fpu_look(&m);
    assert_fpu(&fix_seen[0], &nearest_ref, "fixed context");
    assert_fpu(&m, &upward_ref, "main after the fixed context left");
    cl_ctx_switch_inline(&main_co.ctx, &fix_co.ctx, NULL);
    fpu_look(&m);
    fesetround(FE_TONEAREST);
    assert_fpu(&fix_seen[1], &nearest_ref, "fixed context resumed");
    assert_fpu(&m, &upward_ref, "main at the end");
    co_drop(&fix_co);
}
END_TEST
#endif

#if defined(CL_HAVE_CTX_MAKE_THEN)
/* cl_ctx_make_then: fn gets the arg and the first value, on an aligned
 * stack with only the trampoline's return address above its frame; then
 * gets fn's result. */
static co then_co;
static void *then_fn_arg, *then_fn_value, *then_got;
static uintptr_t then_fn_local;

static __attribute__((noinline)) void *then_fn(void *arg, void *value)
{
    volatile char buf[16];
    buf[0] = 1;
    then_fn_local = (uintptr_t)buf;
    then_fn_arg = arg;
    then_fn_value = value;
    /* suspended once mid-run: the rest still follows */
    value = cl_ctx_switch(&then_co.ctx, &main_co.ctx, (void *)0x11);
    return (void *)((uintptr_t)value + 1);
}

static __attribute__((noreturn)) void then_then(void *result)
{
    then_got = result;
    for (;;)
        cl_ctx_switch(&then_co.ctx, &main_co.ctx, (void *)0x22);
}

START_TEST(make_then_runs_fn_then_then)
{
    then_co.st = cl_stack_get(0);
    ck_assert_ptr_nonnull(then_co.st);
    then_got = NULL;
    cl_ctx_make_then(&then_co.ctx, then_co.st->base, then_co.st->size, then_fn,
                     (void *)0x5, then_then);
    ck_assert_ptr_eq(cl_ctx_switch(&main_co.ctx, &then_co.ctx, (void *)0x7),
                     (void *)0x11);
    ck_assert_ptr_eq(then_fn_arg, (void *)0x5);
    ck_assert_ptr_eq(then_fn_value, (void *)0x7);
    ck_assert_uint_eq(then_fn_local % 16, 0);
    ck_assert_ptr_null(then_got);
    ck_assert_ptr_eq(cl_ctx_switch(&main_co.ctx, &then_co.ctx, (void *)0x40),
                     (void *)0x22);
    ck_assert_ptr_eq(then_got, (void *)0x41);
    unpoison(then_co.st);
    co_drop(&then_co);
}
END_TEST
#endif

static Suite *switch_suite(void)
{
    Suite *s = suite_create("switch (" CL_SWITCH_NAME ")");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, values_pass_both_ways);
    tcase_add_test(tc, callee_saved_registers_survive);
#if defined(CL_HAVE_INLINE_SWITCH)
    tcase_add_test(tc, inline_switch_keeps_live_values_and_mixes);
    tcase_add_test(tc, inline_switch_passes_values);
#endif
    tcase_add_test(tc, deep_recursion_keeps_frames);
    tcase_add_test(tc, stack_aligned_at_entry);
#if defined(CL_HAVE_CTX_MAKE_THEN)
    tcase_add_test(tc, make_then_runs_fn_then_then);
#endif
    tcase_add_test(tc, fpu_rounding_mode_per_context);
    tcase_add_test(tc, fpu_fresh_context_inherits_makers_state);
#if defined(CL_HAVE_INLINE_SWITCH)
    tcase_add_test(tc, fixed_fpu_context_keeps_its_state);
#endif
    suite_add_tcase(s, tc);
    return s;
}

CL_TEST_MAIN(switch_suite)
