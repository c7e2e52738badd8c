/* switch.S (aarch64, AAPCS64) - braid__ctx_swap and the start trampoline.
 *
 * Saves x19-x28, fp (x29), lr (x30) and the low halves of v8-v15 (d8-d15),
 * the callee-saved set of AAPCS64, in a 160-byte frame below sp, stores sp
 * in from->sp, loads to->sp, restores and returns through lr. sp stays
 * 16-byte aligned. FPCR is not saved: AAPCS64 lets a callee assume it holds
 * the caller's value, and braid never changes it.
 *
 * A fresh context (ctx_make.c) holds x19 = entry, x20 = arg and lr =
 * braid__ctx_start. This file is written for the aarch64 port and is built
 * only on aarch64; x86-64 CI does not run it.
 */
    .text
    .globl  braid__ctx_swap
    .hidden braid__ctx_swap
    .type   braid__ctx_swap, %function
    .p2align 4
braid__ctx_swap:
    sub     sp, sp, #160
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
    mov     x2, sp
    str     x2, [x0]
    ldr     x2, [x1]
    mov     sp, x2
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    ret
    .size   braid__ctx_swap, .-braid__ctx_swap

    .globl  braid__ctx_start
    .hidden braid__ctx_start
    .type   braid__ctx_start, %function
    .p2align 4
braid__ctx_start:
    mov     x0, x20
    blr     x19
    brk     #0                  /* entry never returns */
    .size   braid__ctx_start, .-braid__ctx_start

    .section .note.GNU-stack,"",%progbits
