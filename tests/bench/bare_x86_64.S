/*
 * bare_x86_64.S - the baseline every switch is compared with: the plain
 * function switch of textbooks. Push the six callee-saved registers, swap
 * the stack pointer, pop them, return. No FPU control state, no value.
 *
 * void bare_switch(void **save_sp, void *load_sp)
 *
 * A fresh stack (see bare_make in switch.c) holds six zeroed registers,
 * with entry in the rbx slot and arg in the r12 slot, then bare_start as
 * the return address.
 */
    .text
    .globl  bare_switch
    .type   bare_switch, @function
    .p2align 4
bare_switch:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   bare_switch, .-bare_switch

/* First code a fresh bare context runs: entry(arg), which never returns. */
    .globl  bare_start
    .type   bare_start, @function
    .p2align 4
bare_start:
    .cfi_startproc
    .cfi_undefined rip
    movq    %r12, %rdi
    call    *%rbx
    ud2
    .cfi_endproc
    .size   bare_start, .-bare_start

    .section .note.GNU-stack,"",@progbits
