/*
 * switch.h - layer 0: the bare context switch.
 *
 * A context is one saved stack pointer. Everything else a suspended
 * coroutine needs (callee-saved registers, its x87 control word and MXCSR,
 * or FPCR on aarch64, and the address to resume at) is pushed onto its own
 * stack by cl_ctx_switch, so switching is "push, swap sp, pop".
 *
 * The FPU control state is per coroutine but is only *loaded* when the two
 * sides differ: storing it is a couple of cycles, loading it (ldmxcsr,
 * fldcw) is what costs, and almost every switch is between coroutines that
 * never touched the rounding mode.
 *
 * Built as hand-written assembly for x86-64 and aarch64, or on top of
 * ucontext with `make SWITCH=ucontext` (portable, ~20x slower because
 * swapcontext makes a sigprocmask system call on every switch).
 */
#ifndef CL_SWITCH_H
#define CL_SWITCH_H

#include <stddef.h>

#if defined(CL_SWITCH_UCONTEXT)
#include <ucontext.h>
typedef struct cl_ctx {
    ucontext_t uc;
    void (*entry)(void *arg, void *value);
    void *arg;
} cl_ctx;
#define CL_SWITCH_NAME "ucontext"
#else
typedef struct cl_ctx {
    void *sp;
} cl_ctx;
#if defined(__x86_64__)
#define CL_SWITCH_NAME "asm-x86_64"
#elif defined(__aarch64__)
#define CL_SWITCH_NAME "asm-aarch64"
#else
#error "no assembly switch for this CPU: build with make SWITCH=ucontext"
#endif
#endif

/* The saved stack pointer of a suspended context: everything the context
 * needs lies between it (less CL_CTX_SP_MARGIN) and the top of its stack.
 * The shared-stack greenlets copy exactly that much. */
#if defined(CL_SWITCH_UCONTEXT)
#define CL_CTX_SP_MARGIN 128 /* the x86-64 red zone below a saved sp */
static inline char *cl_ctx_sp(const cl_ctx *c)
{
#if defined(__x86_64__)
    return (char *)c->uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (char *)c->uc.uc_mcontext.sp;
#else
#error "teach cl_ctx_sp where this CPU's ucontext keeps the stack pointer"
#endif
}
#else
#define CL_CTX_SP_MARGIN 0
static inline char *cl_ctx_sp(const cl_ctx *c)
{
    return (char *)c->sp;
}
#endif

/* Entry point of a fresh context: gets the arg given to cl_ctx_make and the
 * value passed by the first switch into it. It must never return. */
typedef void (*cl_ctx_entry)(void *arg, void *value);

/* Prepare ctx to start entry(arg, value) on [stack, stack+size) at its
 * first switch. The FPU control state it starts with is the caller's. */
void cl_ctx_make(cl_ctx *ctx, void *stack, size_t size, cl_ctx_entry entry,
                 void *arg);

/* Save the running context into from, resume to, and hand it value: the
 * value becomes the return value of the cl_ctx_switch that suspended `to`
 * (or the entry's value argument if `to` is fresh). Returns whatever is
 * passed by the switch that later resumes `from`. */
void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value);

#endif
