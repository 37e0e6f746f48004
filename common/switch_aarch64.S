/*
 * aarch64 (AAPCS64) context switch. See switch.h, which defines the
 * frame (CL_FRAME_*) this file and switch.c share:
 *     0 x19 x20   16 x21 x22   32 x23 x24   48 x25 x26   64 x27 x28
 *    80 x29 x30   96 d8 d9    112 d10 d11  128 d12 d13  144 d14 d15
 *   160 FPCR     168 padding   (176 bytes, sp stays 16-aligned)
 *
 * FPCR is written only when it differs: mrs/cmp are cheap, and msr fpcr
 * is a serialising write on many cores. Not measured on hardware here
 * (qemu only); see README.md, "Layer 0", for how to choose on a real CPU.
 */
#include "switch.h"

    .text

/* void *cl_ctx_switch(cl_ctx *from, cl_ctx *to, void *value), and the
 * same code as int cl_ctx_switch_int(...) (switch.h): an int is w0, the
 * low half of x0. */
    .globl  cl_ctx_switch
    .type   cl_ctx_switch, %function
    .globl  cl_ctx_switch_int
    .type   cl_ctx_switch_int, %function
    .p2align 4
cl_ctx_switch:
cl_ctx_switch_int:
    .cfi_startproc
    sub     sp, sp, #CL_FRAME_SIZE
    stp     x19, x20, [sp, #CL_FRAME_X19]
    stp     x21, x22, [sp, #CL_FRAME_X19 + 16]
    stp     x23, x24, [sp, #CL_FRAME_X19 + 32]
    stp     x25, x26, [sp, #CL_FRAME_X19 + 48]
    stp     x27, x28, [sp, #CL_FRAME_X19 + 64]
    stp     x29, x30, [sp, #CL_FRAME_X29]
    stp     d8,  d9,  [sp, #CL_FRAME_D8]
    stp     d10, d11, [sp, #CL_FRAME_D8 + 16]
    stp     d12, d13, [sp, #CL_FRAME_D8 + 32]
    stp     d14, d15, [sp, #CL_FRAME_D8 + 48]
    mrs     x9, fpcr
    str     x9, [sp, #CL_FRAME_FPCR]
    mov     x10, sp
    str     x10, [x0, #CL_CTX_SP]
    ldr     x10, [x1, #CL_CTX_SP]
    mov     sp, x10
    ldr     x11, [sp, #CL_FRAME_FPCR]
    cmp     x9, x11                 /* only write FPCR when it differs */
    b.eq    1f
    msr     fpcr, x11
1:  ldp     x19, x20, [sp, #CL_FRAME_X19]
    ldp     x21, x22, [sp, #CL_FRAME_X19 + 16]
    ldp     x23, x24, [sp, #CL_FRAME_X19 + 32]
    ldp     x25, x26, [sp, #CL_FRAME_X19 + 48]
    ldp     x27, x28, [sp, #CL_FRAME_X19 + 64]
    ldp     x29, x30, [sp, #CL_FRAME_X29]
    ldp     d8,  d9,  [sp, #CL_FRAME_D8]
    ldp     d10, d11, [sp, #CL_FRAME_D8 + 16]
    ldp     d12, d13, [sp, #CL_FRAME_D8 + 32]
    ldp     d14, d15, [sp, #CL_FRAME_D8 + 48]
    add     sp, sp, #CL_FRAME_SIZE
    mov     x0, x2
    ret
    .cfi_endproc
    .size   cl_ctx_switch, .-cl_ctx_switch
    .size   cl_ctx_switch_int, .-cl_ctx_switch_int

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
