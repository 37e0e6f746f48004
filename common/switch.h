/*
 * switch.h - layer 0: the bare context switch.
 *
 * A context is a saved stack pointer (and, on x86-64, the FPU control
 * words). Everything else a suspended coroutine needs (callee-saved
 * registers, the address to resume at; FPCR on aarch64) is pushed onto its
 * own stack, so switching is "push, swap sp, pop".
 *
 * Each context keeps its own FPU control state (rounding mode, exception
 * masks: x87 control word and MXCSR on x86-64, FPCR on aarch64), so that
 * one coroutine's fesetround never leaks into another. On x86-64 both words
 * are stored and loaded on every switch, as Boost.Context does: measured on
 * this project's CPU (README.md, "Layer 0"), comparing before loading costs
 * more than loading, because the compare waits for the slow stmxcsr. A
 * context that promises never to change them (the hub) can leave with
 * cl_ctx_switch_inline_fixed, which skips the store.
 *
 * Built as hand-written assembly for x86-64 and aarch64, or on top of
 * ucontext with `make SWITCH=ucontext` (portable, far slower because
 * swapcontext makes a sigprocmask system call on every switch).
 *
 * The assembly files include this header: the offsets below are the one
 * definition of the context record and the switch frames, checked against
 * the C structures with _Static_assert.
 */
#ifndef CL_SWITCH_H
#define CL_SWITCH_H

/* ---- the layout, for C and assembly alike ---- */

#if defined(__x86_64__)
/* cl_ctx */
#define CL_CTX_SP 0     /* the saved stack pointer */
#define CL_CTX_FPUCW 8  /* x87 control word when last suspended */
#define CL_CTX_MXCSR 12 /* MXCSR when last suspended */
#define CL_CTX_SIZE 16
/* What a suspended context's sp points at: the address to resume at. Above
 * it, for cl_ctx_switch: rbp, r15, r14, r13, r12, rbx and its caller's
 * return address; for the inline switch: rbp; for a fresh context: */
#define CL_FRAME_RESUME 0
#define CL_FRESH_ENTRY 8 /* entry, for cl_ctx_trampoline */
#define CL_FRESH_ARG 16  /* and its arg */
#define CL_FRESH_SIZE 24
/* for cl_ctx_make_then: resume, fn, arg, then */
#define CL_FRESH_THEN 24
#define CL_FRESH_THEN_SIZE 32
#elif defined(__aarch64__)
/* cl_ctx */
#define CL_CTX_SP 0
#define CL_CTX_SIZE 8
/* The frame a suspended context's sp points at (16-aligned). A fresh one
 * has the trampoline in x30, entry in x20, its arg in x19, 0 in x29. */
#define CL_FRAME_X19 0 /* x19..x28 in pairs: 0, 16, 32, 48, 64 */
#define CL_FRAME_X29 80
#define CL_FRAME_X30 88
#define CL_FRAME_D8 96 /* d8..d15 in pairs: 96, 112, 128, 144 */
#define CL_FRAME_FPCR 160
#define CL_FRAME_SIZE 176
#endif

#ifndef __ASSEMBLER__

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
_Static_assert(offsetof(cl_ctx, sp) == CL_CTX_SP, "CL_CTX_SP");
_Static_assert(offsetof(cl_ctx, fpucw) == CL_CTX_FPUCW, "CL_CTX_FPUCW");
_Static_assert(offsetof(cl_ctx, mxcsr) == CL_CTX_MXCSR, "CL_CTX_MXCSR");
_Static_assert(sizeof(cl_ctx) == CL_CTX_SIZE, "CL_CTX_SIZE");
#define CL_SWITCH_NAME "asm-x86_64"
#elif defined(__aarch64__)
typedef struct cl_ctx {
    void *sp;
} cl_ctx;
_Static_assert(offsetof(cl_ctx, sp) == CL_CTX_SP, "CL_CTX_SP");
_Static_assert(sizeof(cl_ctx) == CL_CTX_SIZE, "CL_CTX_SIZE");
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
#define CL_STR_(x) #x
#define CL_STR(x) CL_STR_(x)
/* cl_ctx_switch without the call: the compiler saves only the registers
 * that are live across it (everything is declared clobbered), and the jump
 * back lands at this very call site, so the CPU's return-address predictor
 * is not fooled by a `ret` that returns somewhere else. This is what makes
 * a greenlet switch cost a few ns (the approach of PhotonLibOS' "Stackful
 * Coroutine Made Fast"). Same frame as switch_x86_64.S, so a context saved
 * by either is resumed by either.
 *
 * The FPU words go first: from's are stored, to's loaded (nothing between
 * here and the jump computes in floating point). Issued before the pushes,
 * the slow stmxcsr overlaps them; measured 0.2-0.5 ns faster than after.
 *
 * The pushes go below the caller's red zone (128 bytes under rsp that a
 * leaf function may use without moving rsp), unless the code was built
 * with -mno-red-zone and says so with CL_NO_RED_ZONE (corolab.mk does,
 * on x86-64): then they sit right under the caller's frame, and a resumed
 * greenlet's first load is not a line of its stack of its own. */
#if defined(CL_NO_RED_ZONE)
#define CL_OFF_RED_ZONE_ ""
#define CL_BACK_TO_RED_ZONE_ ""
#else
#define CL_OFF_RED_ZONE_ "leaq    -128(%%rsp), %%rsp\n\t"
#define CL_BACK_TO_RED_ZONE_ "\n\tleaq    128(%%rsp), %%rsp"
#endif
#define CL_SWITCH_ASM_(save_fpu)                                        \
    __asm__ volatile(                                                   \
        save_fpu                                                        \
        "fldcw   " CL_STR(CL_CTX_FPUCW) "(%%rsi)\n\t"                   \
        "ldmxcsr " CL_STR(CL_CTX_MXCSR) "(%%rsi)\n\t"                   \
        CL_OFF_RED_ZONE_                                                \
        "pushq   %%rbp\n\t"                                             \
        "leaq    1f(%%rip), %%rcx\n\t"                                  \
        "pushq   %%rcx\n\t"                                             \
        "movq    %%rsp, " CL_STR(CL_CTX_SP) "(%%rdi)\n\t"               \
        "movq    " CL_STR(CL_CTX_SP) "(%%rsi), %%rsp\n\t"               \
        "popq    %%rcx\n\t"                                             \
        "jmpq    *%%rcx\n"                                               \
        "1:\n\t"                                                        \
        "popq    %%rbp"                                                 \
        CL_BACK_TO_RED_ZONE_                                            \
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
    CL_SWITCH_ASM_("fnstcw  " CL_STR(CL_CTX_FPUCW) "(%%rdi)\n\t"
                   "stmxcsr " CL_STR(CL_CTX_MXCSR) "(%%rdi)\n\t");
    return value;
}

/* The same for a `from` whose FPU control words never change from those
 * it was made with (the hub): they are not stored again. */
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

#if defined(__x86_64__) && !defined(CL_SWITCH_UCONTEXT)
#define CL_HAVE_CTX_MAKE_THEN 1
/* Like cl_ctx_make, for an entry that is a function and what follows it:
 * the first switch into ctx calls fn(arg, value), then then(fn's return
 * value), which must never return. Nothing but one return address lies on
 * the stack under fn's frame (cl_ctx_make's entry has a frame of its own
 * there): a context whose stack is copied out while it waits (SHARED
 * greenlets) copies 16 bytes less. */
void cl_ctx_make_then(cl_ctx *ctx, void *stack, size_t size,
                      void *(*fn)(void *arg, void *value), void *arg,
                      void (*then)(void *result));
#endif

/* Save the running context into from, resume to, and hand it value: the
 * value becomes the return value of the cl_ctx_switch that suspended `to`
 * (or the entry's value argument if `to` is fresh). Returns whatever is
 * passed by the switch that later resumes `from`. */
void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value);

/* cl_ctx_switch for a caller that is resumed with an int (the value sent,
 * (void *)(intptr_t)n, gives n back): the very same code under another
 * type, so that a function returning int can end in a tail call to the
 * switch and leave no frame of its own on a stack that is copied out
 * while it waits (C does not tail-call through a void * -> int
 * conversion). The ucontext build converts, in a frame of its own. */
int cl_ctx_switch_int(cl_ctx *from, cl_ctx *to, void *value);

#endif /* !__ASSEMBLER__ */

#endif
