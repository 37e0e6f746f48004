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

void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    /* The resume address (the trampoline), then entry and arg for it,
     * placed so that rsp is 16-aligned when the trampoline calls entry.
     * Nothing above: every byte here is copied for each suspended
     * SHARED-stack greenlet, and the trampoline's CFI ends backtraces. */
    uint64_t *sp = (uint64_t *)(top - 24);

    __asm__ volatile("fnstcw %0" : "=m"(ctx->fpucw));
    __asm__ volatile("stmxcsr %0" : "=m"(ctx->mxcsr));
    ctx->pad_ = 0;

    sp[0] = (uint64_t)(uintptr_t)cl_ctx_trampoline;
    sp[1] = (uint64_t)(uintptr_t)entry;
    sp[2] = (uint64_t)(uintptr_t)arg;
    ctx->sp = sp;
}

#elif defined(__aarch64__)

extern void cl_ctx_trampoline(void);

/* Frame layout is defined in switch_aarch64.S. */
void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 16 - 176);
    uint64_t fpcr;

    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    memset(sp, 0, 16 + 176);
    sp[0] = (uint64_t)(uintptr_t)arg;    /* x19 */
    sp[1] = (uint64_t)(uintptr_t)entry;  /* x20 */
    sp[10] = 0;                          /* x29: end of the frame chain */
    sp[11] = (uint64_t)(uintptr_t)cl_ctx_trampoline; /* x30 */
    sp[20] = fpcr;
    ctx->sp = sp;
}

#endif
