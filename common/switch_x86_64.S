/*
 * x86-64 System V context switch. See switch.h.
 *
 * A suspended context's stack pointer points at the address to resume
 * at; its x87 control word and MXCSR are kept in the cl_ctx. Resuming is:
 * load the FPU control words if they differ from the ones in force, load
 * the stack pointer, pop the address, jump. What lies above the address
 * belongs to the code found there: for cl_ctx_switch, rbp, the five other
 * callee-saved registers and our caller's return address; for
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
    fnstcw  8(%rdi)
    stmxcsr 12(%rdi)
    movq    %rsp, (%rdi)
    /* Compare with loads the size of the stores: an 8-byte load of the
     * two would stall on store forwarding. */
    movzwl  8(%rdi), %ecx
    cmpw    8(%rsi), %cx
    jne     2f
    movl    12(%rdi), %ecx
    xorl    12(%rsi), %ecx
    testl   $0xffc0, %ecx           /* MXCSR's control bits, not its flags */
    jne     2f
1:  movq    (%rsi), %rsp
    popq    %rcx
    jmpq    *%rcx
2:  fldcw   8(%rsi)
    ldmxcsr 12(%rsi)
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
