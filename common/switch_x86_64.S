/*
 * x86-64 System V context switch. See switch.h.
 *
 * Saved frame, growing down from the return address that `call` pushed:
 *     56(%rsp) return address      32(%rsp) r12
 *     48(%rsp) rbp                 24(%rsp) r13
 *     40(%rsp) rbx                 16(%rsp) r14
 *                                   8(%rsp) r15
 *      0(%rsp) x87 control word (bytes 0-1, 2-3 zero) | MXCSR (bytes 4-7)
 */
    .text

/* void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value) */
    .globl  cl_ctx_switch
    .type   cl_ctx_switch, @function
    .p2align 4
cl_ctx_switch:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    pushq   $0
    fnstcw  (%rsp)
    stmxcsr 4(%rsp)
    movq    (%rsp), %rcx            /* our FPU control words */
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    cmpq    (%rsp), %rcx            /* only pay for a load when they differ */
    jne     2f
1:  addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    movq    %rdx, %rax
    ret
2:  fldcw   (%rsp)
    ldmxcsr 4(%rsp)
    jmp     1b
    .cfi_endproc
    .size   cl_ctx_switch, .-cl_ctx_switch

/* First code a fresh context runs: cl_ctx_make left entry in r12 and its
 * arg in r13; the value of the first switch arrives in rax. */
    .globl  cl_ctx_trampoline
    .hidden cl_ctx_trampoline
    .type   cl_ctx_trampoline, @function
    .p2align 4
cl_ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip              /* outermost frame for debuggers */
    movq    %r13, %rdi
    movq    %rax, %rsi
    call    *%r12
    ud2                             /* entries never return */
    .cfi_endproc
    .size   cl_ctx_trampoline, .-cl_ctx_trampoline

    .section .note.GNU-stack,"",@progbits
