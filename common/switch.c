/* switch.c - cl_ctx_make for the assembly switches, and the ucontext
 * fallback. The switches themselves are in switch_<cpu>.S. */
#include "switch.h"

#include <stdint.h>
#include <string.h>

#if defined(CL_SWITCH_UCONTEXT)

#include <stdlib.h>

/* makecontext only passes ints, so the fresh context finds its entry and
 * the first value through this thread-local. */
static __thread void *uc_value;
static __thread cl_ctx *uc_starting;

static void uc_start(void)
{
    cl_ctx *ctx = uc_starting;
    ctx->entry(ctx->arg, uc_value);
    abort();
}

void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg)
{
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = stack;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    ctx->entry = entry;
    ctx->arg = arg;
    makecontext(&ctx->uc, uc_start, 0);
}

void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value)
{
    uc_value = value;
    uc_starting = to;
    swapcontext(&from->uc, &to->uc);
    return uc_value;
}

int cl_ctx_switch_int(cl_ctx *from, cl_ctx *to, void *value)
{
    return (int)(intptr_t)cl_ctx_switch(from, to, value);
}

#elif defined(__x86_64__)

extern void cl_ctx_trampoline(void);

extern void cl_ctx_trampoline_then(void);

/* A fresh context: the caller's FPU control words, and `n` words at the
 * top of the stack (16-aligned) where its sp points: the resume address
 * (a trampoline), then what the trampoline pops. Nothing above them: every
 * byte here is copied for each suspended SHARED-stack greenlet, and the
 * trampolines' CFI ends backtraces. */
static void make_fresh(cl_ctx *ctx, void *stack, size_t size,
                       const uintptr_t *words, size_t n)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    char *sp = (char *)(top - n * sizeof *words);

    __asm__ volatile("fnstcw %0" : "=m"(ctx->fpucw));
    __asm__ volatile("stmxcsr %0" : "=m"(ctx->mxcsr));
    ctx->pad_ = 0;
    memcpy(sp, words, n * sizeof *words);
    ctx->sp = sp;
}

void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg)
{
    /* rsp is 16-aligned when the trampoline calls entry */
    const uintptr_t words[CL_FRESH_SIZE / 8] = {
        (uintptr_t)cl_ctx_trampoline, (uintptr_t)entry, (uintptr_t)arg};
    make_fresh(ctx, stack, size, words, CL_FRESH_SIZE / 8);
}

void cl_ctx_make_then(cl_ctx *ctx, void *stack, size_t size,
                      void *(*fn)(void *arg, void *value), void *arg,
                      void (*then)(void *result))
{
    const uintptr_t words[CL_FRESH_THEN_SIZE / 8] = {
        (uintptr_t)cl_ctx_trampoline_then, (uintptr_t)fn, (uintptr_t)arg,
        (uintptr_t)then};
    make_fresh(ctx, stack, size, words, CL_FRESH_THEN_SIZE / 8);
}
_Static_assert(CL_FRESH_THEN == CL_FRESH_ARG + 8 &&
               CL_FRESH_THEN_SIZE == CL_FRESH_THEN + 8 &&
               CL_FRESH_THEN_SIZE % 16 == 0,
               "fresh x86-64 frame with then: resume, fn, arg, then; "
               "rsp 16-aligned once all are popped");

/* The trampoline pops entry, then arg, then calls with rsp 16-aligned. */
_Static_assert(CL_FRESH_ENTRY == CL_FRAME_RESUME + 8 &&
               CL_FRESH_ARG == CL_FRESH_ENTRY + 8 &&
               CL_FRESH_SIZE == CL_FRESH_ARG + 8 && CL_FRESH_SIZE % 16 == 8,
               "fresh x86-64 frame: resume, entry, arg, then 16-aligned");

#elif defined(__aarch64__)

extern void cl_ctx_trampoline(void);

static void frame_put(char *frame, int off, uint64_t v)
{
    memcpy(frame + off, &v, sizeof v);
}

void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    char *sp = (char *)(top - 16 - CL_FRAME_SIZE);
    uint64_t fpcr;

    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    memset(sp, 0, 16 + CL_FRAME_SIZE); /* x29 = 0 ends the frame chain */
    frame_put(sp, CL_FRAME_X19, (uint64_t)(uintptr_t)arg);
    frame_put(sp, CL_FRAME_X19 + 8, (uint64_t)(uintptr_t)entry); /* x20 */
    frame_put(sp, CL_FRAME_X30, (uint64_t)(uintptr_t)cl_ctx_trampoline);
    frame_put(sp, CL_FRAME_FPCR, fpcr);
    ctx->sp = sp;
}
_Static_assert(CL_FRAME_X30 == CL_FRAME_X29 + 8 &&
               CL_FRAME_D8 == CL_FRAME_X29 + 16 &&
               CL_FRAME_FPCR == CL_FRAME_D8 + 64 &&
               CL_FRAME_SIZE >= CL_FRAME_FPCR + 8 && CL_FRAME_SIZE % 16 == 0,
               "aarch64 frame: x19-x28, x29 x30, d8-d15, FPCR, 16-aligned");

#endif
