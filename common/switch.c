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

#elif defined(__x86_64__)

extern void cl_ctx_trampoline(void);

/* A fresh context starts with the caller's FPU control words. */
static void fresh_fpu(cl_ctx *ctx)
{
    __asm__ volatile("fnstcw %0" : "=m"(ctx->fpucw));
    __asm__ volatile("stmxcsr %0" : "=m"(ctx->mxcsr));
    ctx->pad_ = 0;
}

void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    /* The resume address (the trampoline), then entry and arg for it,
     * placed so that rsp is 16-aligned when the trampoline calls entry.
     * Nothing above: every byte here is copied for each suspended
     * SHARED-stack greenlet, and the trampoline's CFI ends backtraces. */
    char *sp = (char *)(top - CL_FRESH_SIZE);
    void (*resume)(void) = cl_ctx_trampoline;

    fresh_fpu(ctx);
    memcpy(sp + CL_FRAME_RESUME, &resume, sizeof resume);
    memcpy(sp + CL_FRESH_ENTRY, &entry, sizeof entry);
    memcpy(sp + CL_FRESH_ARG, &arg, sizeof arg);
    ctx->sp = sp;
}
extern void cl_ctx_trampoline_then(void);

void cl_ctx_make_then(cl_ctx *ctx, void *stack, size_t size,
                      void *(*fn)(void *arg, void *value), void *arg,
                      void (*then)(void *result))
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    char *sp = (char *)(top - CL_FRESH_THEN_SIZE);
    void (*resume)(void) = cl_ctx_trampoline_then;

    fresh_fpu(ctx);
    memcpy(sp + CL_FRAME_RESUME, &resume, sizeof resume);
    memcpy(sp + CL_FRESH_ENTRY, &fn, sizeof fn);
    memcpy(sp + CL_FRESH_ARG, &arg, sizeof arg);
    memcpy(sp + CL_FRESH_THEN, &then, sizeof then);
    ctx->sp = sp;
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
