/*
 * switch.h - layer 0: the bare context switch.
 *
 * A context is a saved stack pointer (and, on x86-64, the FPU control
 * words). Everything else a suspended coroutine needs (callee-saved
 * registers, the address to resume at; FPCR on aarch64) is pushed onto its
 * own stack, so switching is "push, swap sp, pop".
 *
 * The FPU control state is per coroutine but is only *loaded* when the two
 * sides differ: loading it (ldmxcsr, fldcw) is what costs, and almost every
 * switch is between coroutines that never touched the rounding mode.
 * Only the control bits count: MXCSR's sticky exception flags are not
 * kept per coroutine (comparing them would reload MXCSR on every switch
 * between a coroutine that has done an inexact division and one that has
 * not). Storing it (stmxcsr) still costs a few ns, so a context that promises
 * never to change it (the hub) can be left with cl_ctx_switch_inline_fixed,
 * which compares against its recorded words instead of storing them.
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
#if defined(__x86_64__)
typedef struct cl_ctx {
    void *sp;
    unsigned short fpucw; /* x87 control word when last suspended */
    unsigned short pad_;
    unsigned int mxcsr;   /* MXCSR when last suspended */
} cl_ctx;
#define CL_SWITCH_NAME "asm-x86_64"
#elif defined(__aarch64__)
typedef struct cl_ctx {
    void *sp;
} cl_ctx;
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

#if defined(__x86_64__) && !defined(CL_SWITCH_UCONTEXT)
#define CL_HAVE_INLINE_SWITCH 1
/* cl_ctx_switch without the call: the compiler saves only the registers
 * that are live across it (everything is declared clobbered), and the jump
 * back lands at this very call site, so the CPU's return-address predictor
 * is not fooled by a `ret` that returns somewhere else. This is what makes
 * a greenlet switch cost a few ns (the approach of PhotonLibOS' "Stackful
 * Coroutine Made Fast"). Same frame as switch_x86_64.S, so a context saved
 * by either is resumed by either. */
#define CL_SWITCH_ASM_(save_fpu)                                        \
    __asm__ volatile(                                                   \
        "leaq    -128(%%rsp), %%rsp\n\t" /* off the caller's red zone */ \
        "pushq   %%rbp\n\t"                                             \
        "leaq    1f(%%rip), %%rcx\n\t"                                  \
        "pushq   %%rcx\n\t"                                             \
        save_fpu                                                        \
        "movq    %%rsp, (%%rdi)\n\t"                                    \
        "movzwl  8(%%rdi), %%ecx\n\t"                                   \
        "cmpw    8(%%rsi), %%cx\n\t"                                    \
        "jne     2f\n\t"                                                \
        "movl    12(%%rdi), %%ecx\n\t"                                  \
        "xorl    12(%%rsi), %%ecx\n\t"                                  \
        "testl   $0xffc0, %%ecx\n\t" /* control bits, not sticky flags */ \
        "jne     2f\n"                                                   \
        "3:\n\t"                                                        \
        "movq    (%%rsi), %%rsp\n\t"                                    \
        "popq    %%rcx\n\t"                                             \
        "jmpq    *%%rcx\n"                                               \
        "2:\n\t"                                                        \
        "fldcw   8(%%rsi)\n\t"                                          \
        "ldmxcsr 12(%%rsi)\n\t"                                         \
        "jmp     3b\n"                                                   \
        "1:\n\t"                                                        \
        "popq    %%rbp\n\t"                                             \
        "leaq    128(%%rsp), %%rsp"                                      \
        : "+d"(value), "+D"(from), "+S"(to)                             \
        :                                                               \
        : "rax", "rbx", "rcx", "r8", "r9", "r10", "r11", "r12", "r13",  \
          "r14", "r15", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3",  \
          "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",      \
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st", "st(1)",   \
          "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)")

static inline __attribute__((always_inline)) void *
cl_ctx_switch_inline(cl_ctx *from, cl_ctx *to, void *value)
{
    CL_SWITCH_ASM_("fnstcw  8(%%rdi)\n\t"
                   "stmxcsr 12(%%rdi)\n\t");
    return value;
}

/* The same for a `from` whose FPU control words never change from those
 * it was made with: they are compared, not stored again. */
static inline __attribute__((always_inline)) void *
cl_ctx_switch_inline_fixed(cl_ctx *from, cl_ctx *to, void *value)
{
    CL_SWITCH_ASM_("");
    return value;
}
#else
#define cl_ctx_switch_inline cl_ctx_switch
#define cl_ctx_switch_inline_fixed cl_ctx_switch
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
