/*
 * x86-64 System V context switch. See switch.h, which defines the layout
 * (CL_CTX_*, CL_FRAME_*, CL_FRESH_*) this file and switch.c share.
 *
 * A suspended context's stack pointer points at the address to resume
 * at; its x87 control word and MXCSR are kept in the cl_ctx. Resuming is:
 * load the FPU control words, load the stack pointer, pop the address,
 * jump. What lies above the address belongs to the code found there: for
 * cl_ctx_switch, rbp, the five other callee-saved registers and our
 * caller's return address; for cl_ctx_switch_inline (switch.h), just rbp,
 * since the compiler saves whatever else is live; for a fresh context,
 * entry and arg.
 *
 * The value handed over travels in rdx.
 */
#include "switch.h"

    .text

/* void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value), and the
 * same code as int cl_ctx_switch_int(...) (switch.h): an int is the low
 * half of rax. */
    .globl  cl_ctx_switch
    .type   cl_ctx_switch, @function
    .globl  cl_ctx_switch_int
    .type   cl_ctx_switch_int, @function
    .p2align 4
cl_ctx_switch:
cl_ctx_switch_int:
    .cfi_startproc
    /* Stored and loaded every time, first, as in the inline switch. */
    fnstcw  CL_CTX_FPUCW(%rdi)
    stmxcsr CL_CTX_MXCSR(%rdi)
    fldcw   CL_CTX_FPUCW(%rsi)
    ldmxcsr CL_CTX_MXCSR(%rsi)
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    pushq   %rbp
    leaq    .Lresume(%rip), %rcx
    pushq   %rcx
    movq    %rsp, CL_CTX_SP(%rdi)
    movq    CL_CTX_SP(%rsi), %rsp
    popq    %rcx                    /* CL_FRAME_RESUME */
    jmpq    *%rcx
.Lresume:
    popq    %rbp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    movq    %rdx, %rax
    ret
    .cfi_endproc
    .size   cl_ctx_switch, .-cl_ctx_switch
    .size   cl_ctx_switch_int, .-cl_ctx_switch_int

/* First code a fresh context runs: cl_ctx_make left entry and arg on the
 * stack (CL_FRESH_ENTRY, CL_FRESH_ARG, popped in that order); the value of
 * the first switch arrives in rdx. */
    .globl  cl_ctx_trampoline
    .hidden cl_ctx_trampoline
    .type   cl_ctx_trampoline, @function
    .p2align 4
cl_ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip              /* outermost frame for debuggers */
    popq    %rax
    popq    %rdi
    movq    %rdx, %rsi
    xorl    %ebp, %ebp
    call    *%rax
    ud2                             /* entries never return */
    .cfi_endproc
    .size   cl_ctx_trampoline, .-cl_ctx_trampoline

/* The same for cl_ctx_make_then: pops fn, arg and then; calls fn(arg,
 * value), then then(fn's result). `then` waits in rbx, which fn keeps
 * (callee-saved) and nobody needs back: this is the outermost frame. */
    .globl  cl_ctx_trampoline_then
    .hidden cl_ctx_trampoline_then
    .type   cl_ctx_trampoline_then, @function
    .p2align 4
cl_ctx_trampoline_then:
    .cfi_startproc
    .cfi_undefined rip              /* outermost frame for debuggers */
    popq    %rax                    /* CL_FRESH_ENTRY: fn */
    popq    %rdi                    /* CL_FRESH_ARG */
    popq    %rbx                    /* CL_FRESH_THEN */
    movq    %rdx, %rsi
    xorl    %ebp, %ebp
    call    *%rax
    movq    %rax, %rdi
    call    *%rbx
    ud2                             /* then never returns */
    .cfi_endproc
    .size   cl_ctx_trampoline_then, .-cl_ctx_trampoline_then

    .section .note.GNU-stack,"",@progbits
