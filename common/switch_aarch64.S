/*
 * aarch64 (AAPCS64) context switch. See switch.h.
 *
 * Saved frame (176 bytes, sp stays 16-aligned):
 *     0 x19 x20   16 x21 x22   32 x23 x24   48 x25 x26   64 x27 x28
 *    80 x29 x30   96 d8 d9    112 d10 d11  128 d12 d13  144 d14 d15
 *   160 FPCR     168 padding
 */
    .text

/* void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value) */
    .globl  cl_ctx_switch
    .type   cl_ctx_switch, %function
    .p2align 4
cl_ctx_switch:
    .cfi_startproc
    sub     sp, sp, #176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8,  d9,  [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mrs     x9, fpcr
    str     x9, [sp, #160]
    mov     x10, sp
    str     x10, [x0]
    ldr     x10, [x1]
    mov     sp, x10
    ldr     x11, [sp, #160]
    cmp     x9, x11                 /* only write FPCR when it differs */
    b.eq    1f
    msr     fpcr, x11
1:  ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #176
    mov     x0, x2
    ret
    .cfi_endproc
    .size   cl_ctx_switch, .-cl_ctx_switch

/* Fresh contexts start here: entry in x20, its arg in x19, the value of
 * the first switch in x0. */
    .globl  cl_ctx_trampoline
    .hidden cl_ctx_trampoline
    .type   cl_ctx_trampoline, %function
    .p2align 4
cl_ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x1, x0
    mov     x0, x19
    blr     x20
    brk     #0
    .cfi_endproc
    .size   cl_ctx_trampoline, .-cl_ctx_trampoline

    .section .note.GNU-stack,"",%progbits
