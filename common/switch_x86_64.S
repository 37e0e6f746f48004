/*
 * x86-64 System V context switch. See switch.h.
 *
 * A suspended context's stack pointer points at this frame:
 *      0(%rsp)  x87 control word (bytes 0-1) | MXCSR (bytes 4-7)
 *      8(%rsp)  where to resume
 * Resuming is: load the stack pointer, load the FPU control words if they
 * differ from the ones in force, pop both words, jump. What lies above the
 * two words belongs to the code at the resume address: here, rbp and the
 * five other callee-saved registers and our caller's return address; for
 * cl_ctx_switch_inline (switch.h), just rbp, since the compiler saves
 * whatever else is live; for a fresh context, entry and arg.
 *
 * The value handed over travels in rdx.
 */
    .text

/* void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value) */
    .globl  cl_ctx_switch
    .type   cl_ctx_switch, @function
    .p2align 4
cl_ctx_switch:
    .cfi_startproc
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    pushq   %rbp
    leaq    .Lresume(%rip), %rcx
    pushq   %rcx
    subq    $8, %rsp
    fnstcw  (%rsp)
    stmxcsr 4(%rsp)
    movq    %rsp, (%rdi)
    movq    %rsp, %rax
    movq    (%rsi), %rsp
    /* Compare with loads the size of the stores: an 8-byte load of the
     * two would stall on store forwarding. */
    movzwl  (%rax), %ecx
    cmpw    (%rsp), %cx
    jne     2f
    movl    4(%rax), %ecx
    cmpl    4(%rsp), %ecx
    jne     2f
1:  addq    $8, %rsp
    popq    %rcx
    jmpq    *%rcx
2:  fldcw   (%rsp)
    ldmxcsr 4(%rsp)
    jmp     1b
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

/* First code a fresh context runs: cl_ctx_make left entry and arg on the
 * stack; the value of the first switch arrives in rdx. */
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

    .section .note.GNU-stack,"",@progbits
